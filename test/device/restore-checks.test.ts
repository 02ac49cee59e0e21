import { expect } from 'chai';
import { join } from 'node:path';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import type { RouteContext } from '../../src/device/device.ts';
import { tempDir } from '../support/temp.ts';
import { androidEntry, FakeAdb, stockPhone, type FakeModel, type FakePhone } from './fake-adb.ts';
import { RecordingSession } from './recording-session.ts';

// Restore reads back what it undid: a command that printed nothing and exited 0 is no proof.
// What did not take stays in the record and is reported with what to do by hand.
describe('restore checks each undo (fake adb)', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  async function run(
    phone: FakePhone,
    name: string,
    steps: (device: AndroidDevice, session: RecordingSession) => Promise<void>,
    before: (model: FakeModel) => void,
  ) {
    const fake = FakeAdb.create({ R58M12345: phone });
    const undo = fake.install();
    try {
      const ca = await loadOrCreateCa(join(dirs.path, 'ca'));
      const context: RouteContext = {
        proxyPort: 8123,
        proxyUrl: 'http://127.0.0.1:8123',
        ca,
        runFolder: dirs.path,
        log: () => undefined,
      };
      const device = new AndroidDevice(androidEntry({ android: { systemCa: 'never' } }), {
        stateDir: join(dirs.path, name),
        tunnelCheckMs: 0,
      });
      await device.route(context);
      await steps(device, new RecordingSession());
      fake.update(before);
      return await device.restore().then(
        () => undefined,
        (thrown: unknown) => thrown as Error,
      );
    } finally {
      undo();
      fake.remove();
    }
  }

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
