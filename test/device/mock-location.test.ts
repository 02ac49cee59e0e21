import { expect } from 'chai';
import { join } from 'node:path';
import { loadOrCreateCa, type CertificateAuthority } from '../../src/capture/ca.ts';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import type { RouteContext } from '../../src/device/device.ts';
import { tempDir } from '../support/temp.ts';
import { androidEntry, emulatorPhone, FakeAdb, stockPhone, routeContext } from './fake-adb.ts';
import { RecordingSession } from './recording-session.ts';

const OP = 'io.appium.settings android:mock_location';
const SERVICE = 'io.appium.settings/.LocationService';

// UiAutomator2 grants Appium's settings helper mock location when its session starts, and on a
// real phone `mobile: setGeolocation` leaves the helper's LocationService mocking the location
// after the session (appium-android-driver 14.2.0's resetGeolocation does nothing). Both are in
// the restore record and undone (fake adb; the grant is made by hand here, as Appium would).
describe('mock location is undone (fake adb)', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  let ca: CertificateAuthority;
  let fake: FakeAdb;
  let undo: () => void;
  const context = (): RouteContext => routeContext(ca, dirs.path);
  before(async () => {
    ca = await loadOrCreateCa(join(dirs.path, 'ca'));
  });
  afterEach(() => {
    undo?.();
    fake?.remove();
  });
  after(() => dirs.remove());

  it("puts the helper's mock-location grant back as it was, and stops its LocationService", async () => {
    fake = FakeAdb.create({ R58M12345: stockPhone({ appops: { [OP]: 'deny' } }) });
    undo = fake.install();
    const device = new AndroidDevice(androidEntry({ android: { systemCa: 'never' } }), {
      stateDir: join(dirs.path, 'real'),
      tunnelCheckMs: 0,
    });
    await device.route(context());
    // What the UiAutomator2 session and `mobile: setGeolocation` do on a real phone.
    fake.update((model) => {
      model.devices.R58M12345!.appops![OP] = 'allow';
      model.devices.R58M12345!.services = [SERVICE];
    });
    expect(fake.phone('R58M12345').appops![OP]).to.equal('allow');
    const session = new RecordingSession();
    await device.actions(session).setLocation(48.85661, 2.35222);
    expect(session.calls).to.deep.equal([
      'mobile: setGeolocation {"latitude":48.85661,"longitude":2.35222}',
    ]);
    fake.clearLog();
    await device.restore();
    expect(fake.commands()).to.include.members([
      `-s R58M12345 shell am stopservice ${SERVICE}`,
      `-s R58M12345 shell appops set ${OP} deny`,
    ]);
    expect(fake.phone('R58M12345').appops![OP]).to.equal('deny');
    expect(fake.phone('R58M12345').services).to.deep.equal([]);
  });

  it('on an emulator Appium mocks through its console: no service to stop', async () => {
    fake = FakeAdb.create({ 'emulator-5554': emulatorPhone() });
    undo = fake.install();
    const device = new AndroidDevice(androidEntry({ android: { systemCa: 'never' } }), {
      stateDir: join(dirs.path, 'emulator'),
      tunnelCheckMs: 0,
    });
    await device.route(context());
    await device.actions(new RecordingSession()).setLocation(48.85661, 2.35222);
    fake.clearLog();
    await device.restore();
    expect(fake.commands().some((line) => line.includes('stopservice'))).to.equal(false);
    expect(fake.commands()).to.include(`-s emulator-5554 shell appops set ${OP} default`);
  });
});
