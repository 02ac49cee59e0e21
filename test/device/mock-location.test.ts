import { expect } from 'chai';
import { join } from 'node:path';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import type { RouteContext } from '../../src/device/device.ts';
import {
  fakeAdbSuite,
  androidEntry,
  emulatorPhone,
  FakeAdb,
  stockPhone,
  routeContext,
} from './fake-adb.ts';
import { RecordingSession } from './recording-session.ts';

const OP = 'io.appium.settings android:mock_location';
const SERVICE = 'io.appium.settings/.LocationService';

// UiAutomator2 grants Appium's settings helper mock location when its session starts, and on a
// real phone `mobile: setGeolocation` leaves the helper's LocationService mocking the location
// after the session (appium-android-driver 14.2.0's resetGeolocation does nothing). Both are in
// the restore record and undone (fake adb; the grant is made by hand here, as Appium would).
describe('mock location is undone (fake adb)', function () {
  this.timeout(60_000);
  const suite = fakeAdbSuite();
  const dirs = suite.dirs;
  let fake: FakeAdb;
  const context = (): RouteContext => routeContext(suite.ca(), dirs.path);

  it("puts the helper's mock-location grant back as it was, and stops its LocationService", async () => {
    fake = suite.use({ R58M12345: stockPhone({ appops: { [OP]: 'deny' } }) });
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
    fake = suite.use({ 'emulator-5554': emulatorPhone() });
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
