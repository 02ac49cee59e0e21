import { expect } from 'chai';
import { join } from 'node:path';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import { wifiIsOn } from '../../src/device/android/wifi.ts';
import type { RouteContext } from '../../src/device/device.ts';
import { tempDir } from '../support/temp.ts';
import { androidEntry, FakeAdb, stockPhone, type FakePhone } from './fake-adb.ts';
import { RecordingSession } from './recording-session.ts';

// Wi-Fi is put back as it was, the way the phone's API level allows, and checked: a command that
// printed nothing is no proof, and "off because of airplane mode" (wifi_on=3) is not "on".
describe('Wi-Fi restore (fake adb)', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  it('reads wifi_on as the platform means it', () => {
    expect(['0', '1', '2', '3'].map(wifiIsOn)).to.deep.equal([false, true, true, false]);
  });

  async function cycle(phone: FakePhone, name: string) {
    const fake = FakeAdb.create({ R58M12345: phone });
    const undo = fake.install();
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
    try {
      await device.route(context);
      await device.actions(new RecordingSession()).setWifi(true);
      // What `mobile: setConnectivity` did on the phone.
      fake.update((model) => {
        model.devices.R58M12345!.settings.global!.wifi_on = '1';
      });
      fake.clearLog();
      const error = await device.restore().then(
        () => undefined,
        (thrown: unknown) => thrown as Error,
      );
      return {
        error,
        commands: fake.commands(),
        wifi: fake.phone('R58M12345').settings.global!.wifi_on,
      };
    } finally {
      undo();
      fake.remove();
    }
  }

  const props = (sdk: string) => ({ ...stockPhone().props, 'ro.build.version.sdk': sdk });

  it('switches Wi-Fi that was off because of airplane mode back off (Android 14: cmd wifi)', async () => {
    const phone = stockPhone();
    phone.settings.global!.wifi_on = '3';
    const { error, commands, wifi } = await cycle(phone, 'airplane');
    expect(error).to.equal(undefined);
    expect(commands).to.include('-s R58M12345 shell cmd -w wifi set-wifi-enabled disabled');
    expect(wifi).to.equal('0');
  });

  it("on Android 7 (no svc for the shell) goes through Appium's settings helper", async () => {
    const phone = stockPhone({ props: props('24'), packages: ['io.appium.settings'] });
    phone.settings.global!.wifi_on = '0';
    const { error, commands, wifi } = await cycle(phone, 'nougat');
    expect(error).to.equal(undefined);
    expect(commands.some((line) => line.includes('svc wifi'))).to.equal(false);
    expect(commands).to.include(
      '-s R58M12345 shell am broadcast -a io.appium.settings.wifi -n io.appium.settings/.receivers.WiFiConnectionSettingReceiver --es setstatus disable',
    );
    expect(wifi).to.equal('0');
  });

  it('says so, and keeps the record, when the phone did not switch', async () => {
    const phone = stockPhone({ props: props('24') }); // no settings helper: nothing switches Wi-Fi
    phone.settings.global!.wifi_on = '0';
    const { error, wifi, commands } = await cycle(phone, 'stuck');
    expect(wifi, commands.join('\n')).to.equal('1');
    expect(error?.message).to.match(
      /Wi-Fi on R58M12345 is still on \(wifi_on=1\); switch it off in Settings/,
    );
    expect(error?.message).to.match(/phonehome restore --device pixel/);
  });
});
