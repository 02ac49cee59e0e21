import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import { stateFilePath } from '../../src/device/android/restore-state.ts';
import { restorePhone } from '../../src/device/android/restore.ts';
import { fakeAdbSuite, androidEntry, FakeAdb, rootedPhone, routeContext } from './fake-adb.ts';

const SERIAL = 'R58M12345';

// A system CA put in by a run whose root went away before the restore (su denied, the root
// manager uninstalled): the plain shell looks. Still mounted: the record stays, and the error
// says what removes it. Gone (the phone rebooted: the store was a tmpfs): the record is done,
// never stuck waiting for an su that will not come back. Fake adb; no phone ran it here.
describe('removing the system CA when root went away (fake adb)', function () {
  this.timeout(60_000);
  const suite = fakeAdbSuite();
  const dirs = suite.dirs;
  let fake: FakeAdb;

  const routed = async (name: string) => {
    fake = suite.use({ [SERIAL]: rootedPhone() });
    const stateDir = join(dirs.path, name);
    const context = routeContext(suite.ca(), dirs.path);
    await new AndroidDevice(androidEntry(), { stateDir, tunnelCheckMs: 0 }).route(context);
    expect(fake.phone(SERIAL).mounts).to.have.length.greaterThan(0);
    // The run is killed; then su goes away.
    fake.update((model) => {
      model.devices[SERIAL]!.su = null;
    });
    return stateDir;
  };

  it('keeps the record while the CA is still mounted, saying that su or a reboot removes it', async () => {
    const stateDir = await routed('mounted');
    const error = await restorePhone(androidEntry(), { stateDir, force: true, log: () => {} }).then(
      () => new Error('restored'),
      (thrown: unknown) => thrown as Error,
    );
    expect(error.message).to.match(
      /the run's CA is still mounted over the system store of R58M12345 .*allow su for the shell in the root manager\), run `phonehome restore`, or reboot the phone: phonehome's store is a tmpfs, gone at boot/,
    );
    expect(existsSync(stateFilePath(stateDir, SERIAL))).to.equal(true);
  });

  it('after a reboot (nothing mounted, no file of that name), the change is done without su', async () => {
    const stateDir = await routed('rebooted');
    fake.update((model) => {
      const phone = model.devices[SERIAL]!;
      phone.mounts = [];
      phone.systemCerts = ['5ed36f99.0'];
    });
    await restorePhone(androidEntry(), { stateDir, force: true, log: () => {} });
    expect(existsSync(stateFilePath(stateDir, SERIAL))).to.equal(false);
  });
});
