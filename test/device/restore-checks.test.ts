import { expect } from 'chai';
import { join } from 'node:path';
import { tempDir } from '../support/temp.ts';
import { stockPhone, type FakePhone } from './fake-adb.ts';
import { routeThenRestore } from './restore-harness.ts';

// Restore reads back what it undid: a command that printed nothing and exited 0 is no proof.
// What did not take stays in the record and is reported with what to do by hand.
describe('restore checks each undo (fake adb)', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  const run = (
    phone: FakePhone,
    name: string,
    steps: Parameters<typeof routeThenRestore>[2],
    meanwhile: Parameters<typeof routeThenRestore>[3],
  ) => routeThenRestore(phone, join(dirs.path, name), steps, meanwhile).then((left) => left.error);

  it('says when the canary contact is still there after its delete', async () => {
    const error = await run(
      stockPhone(),
      'contact',
      (device, session) => device.actions(session).addContact('Ann Canary', '+358401234567'),
      (model) => {
        model.devices.R58M12345!.contactsKeep = true;
      },
    );
    expect(error?.message).to.match(/the canary contact \(raw contact 1\) is still on R58M12345/);
  });

  it('says when the location mode did not go back (a build that ignores settings put)', async () => {
    const phone = stockPhone({ props: { ...stockPhone().props, 'ro.build.version.sdk': '29' } });
    phone.settings.secure = { ...phone.settings.secure, location_mode: '0' };
    const error = await run(
      phone,
      'location',
      async (device, session) => {
        // mobile: isGpsEnabled answers false in the recording session, so the mode is recorded.
        await device.actions(session).allowLocation();
      },
      (model) => {
        model.devices.R58M12345!.settings.secure!.location_mode = '3';
        model.devices.R58M12345!.blockSettingsPut = true;
      },
    );
    expect(error?.message).to.match(/location on R58M12345 is mode 3, not 0 as before/);
  });
});
