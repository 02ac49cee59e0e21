import { expect } from 'chai';
import { join } from 'node:path';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import { versionLimits } from '../../src/device/android/versions.ts';
import { tempDir } from '../support/temp.ts';
import { androidEntry, FakeAdb, stockPhone } from './fake-adb.ts';

// The minimum versions phonehome's Android routes rely on: UiAutomator2 needs Android 8.0
// (API 26), `adb reverse` Android 5.0, and over wireless adb Android 9. Said exactly, by doctor
// and before a run that would otherwise fail deep inside Appium.
describe('Android minimum versions', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  it('says which phones are capture-only, and where adb reverse fails', () => {
    expect(versionLimits({ api: 34, release: '14' }, 'R58M12345')).to.deep.equal({
      scenarios: true,
      reverse: true,
      reasons: [],
    });
    const redmi = versionLimits({ api: 19, release: '4.4.4' }, 'R58M12345');
    expect(redmi.scenarios).to.equal(false);
    expect(redmi.reverse).to.equal(false);
    expect(redmi.reasons.join('\n')).to.match(
      /Android 4\.4\.4 \(API 19\) is older than UiAutomator2's minimum, Android 8\.0 \(API 26\).*capture-only/,
    );
    expect(redmi.reasons.join('\n')).to.match(/adb reverse needs Android 5\.0 \(API 21\)/);
    const lollipop = versionLimits({ api: 23, release: '6.0' }, 'R58M12345');
    expect([lollipop.scenarios, lollipop.reverse]).to.deep.equal([false, true]);
    const wireless = versionLimits({ api: 27, release: '8.1' }, '192.168.1.20:5555');
    expect(wireless.reverse).to.equal(false);
    expect(wireless.reasons.join('\n')).to.match(
      /fails with "more than one device" before Android 9/,
    );
    // An emulator's serial is no wireless adb.
    expect(versionLimits({ api: 27, release: '8.1' }, 'emulator-5554').reverse).to.equal(true);
  });

  it('refuses a scenario session on a phone UiAutomator2 cannot drive, before Appium does', async () => {
    const fake = FakeAdb.create({
      R58M12345: stockPhone({
        props: {
          ...stockPhone().props,
          'ro.build.version.sdk': '24',
          'ro.build.version.release': '7.0',
        },
      }),
    });
    const undo = fake.install();
    try {
      const ca = await loadOrCreateCa(join(dirs.path, 'ca'));
      const device = new AndroidDevice(androidEntry({ android: { systemCa: 'never' } }), {
        stateDir: join(dirs.path, 'state'),
        tunnelCheckMs: 0,
      });
      const context = {
        proxyPort: 8123,
        proxyUrl: 'http://127.0.0.1:8123',
        ca,
        runFolder: dirs.path,
        log: () => undefined,
      };
      await device.route(context); // capture-only still works
      expect(() => device.capabilities(context)).to.throw(
        /device 'pixel': Android 7\.0 \(API 24\) is older than UiAutomator2's minimum/,
      );
      await device.restore();
    } finally {
      undo();
      fake.remove();
    }
  });
});
