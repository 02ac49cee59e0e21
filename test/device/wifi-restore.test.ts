import { expect } from 'chai';
import { join } from 'node:path';
import { wifiIsOn } from '../../src/device/android/wifi.ts';
import { tempDir } from '../support/temp.ts';
import { stockPhone, type FakePhone } from './fake-adb.ts';
import { routeThenRestore } from './restore-harness.ts';

// Wi-Fi is put back as it was, the way the phone's API level allows, and checked: a command that
// printed nothing is no proof, and "off because of airplane mode" (wifi_on=3) is not "on".
describe('Wi-Fi restore (fake adb)', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  it('reads wifi_on as the platform means it', () => {
    expect(['0', '1', '2', '3'].map(wifiIsOn)).to.deep.equal([false, true, true, false]);
  });

  /** Routes the phone, switches Wi-Fi on as `mobile: setConnectivity` would, and restores it. */
  async function cycle(phone: FakePhone, name: string) {
    const left = await routeThenRestore(
      phone,
      join(dirs.path, name),
      (device, session) => device.actions(session).setWifi(true),
      (model) => {
        model.devices.R58M12345!.settings.global!.wifi_on = '1';
      },
    );
    return { ...left, wifi: left.phone.settings.global!.wifi_on };
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
