import { expect } from 'chai';
import { join } from 'node:path';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import { parseSsaids } from '../../src/device/android/read-identifiers.ts';
import {
  fakeAdbSuite,
  androidEntry,
  FakeAdb,
  rootedPhone,
  stockPhone,
  type FakePhone,
  routeContext,
} from './fake-adb.ts';

const SERIAL = 'R58M12345';
/** What the shell reads since Android 8: the shell's own Android ID, which no app sends. */
const SHELL_ID = '9774d56d682e549c';
const SSAID_XML = `<?xml version='1.0' encoding='utf-8' standalone='yes' ?>
<settings version="-1">
  <setting id="0" name="userkey" value="8B5F1F4C0A4E4F1C9A1B2C3D4E5F60718293A4B5C6D7E8F90112233445566778" package="android" defaultValue="8B5F1F4C0A4E4F1C9A1B2C3D4E5F60718293A4B5C6D7E8F90112233445566778" defaultSysSet="true" tag="null" />
  <setting id="1" name="2000" value="${SHELL_ID}" package="com.android.shell" defaultValue="${SHELL_ID}" defaultSysSet="false" tag="null" />
  <setting id="2" name="10123" value="3F2A9C01D4E5B6A7" package="com.vendor.cloud" defaultValue="3F2A9C01D4E5B6A7" defaultSysSet="false" tag="null" />
  <setting id="3" name="10140" value="0b1c2d3e4f506172" package="com.vendor.stats" defaultValue="0b1c2d3e4f506172" defaultSysSet="false" tag="null" />
</settings>
`;

// The Android ID apps send. Since Android 8 (API 26) each app has its own (SSAID); the shell's
// `settings get secure android_id` is the shell's alone. As root they are read from
// settings_ssaid.xml (binary XML since Android 12, read with abx2xml); without root the kind is
// unreadable, never searched for with a value no app sends. Fake adb; no phone ran it here.
describe('the Android ID: the values apps send', function () {
  this.timeout(30_000);
  const suite = fakeAdbSuite();
  const dirs = suite.dirs;
  let fake: FakeAdb;
  let lines: string[];

  const read = async (phone: FakePhone, name: string) => {
    fake = suite.use({ [SERIAL]: { ...phone, ssaid: SSAID_XML } });
    lines = [];
    const device = new AndroidDevice(androidEntry({ android: { systemCa: 'never' } }), {
      stateDir: join(dirs.path, name),
      tunnelCheckMs: 0,
    });
    const context = routeContext(suite.ca(), dirs.path, (line) => lines.push(line));
    await device.route(context);
    try {
      return await device.readIdentifiers({ execute: async () => undefined });
    } finally {
      await device.restore();
    }
  };
  const api = (sdk: string, release: string) => ({
    'ro.build.version.sdk': sdk,
    'ro.build.version.release': release,
  });

  it("on a rooted Android 14 phone: every app's own, from settings_ssaid.xml through abx2xml", async () => {
    const values = await read(rootedPhone(), 'rooted-14');
    expect(values.android_id).to.deep.equal(['3f2a9c01d4e5b6a7', '0b1c2d3e4f506172']);
    expect(fake.commands()).to.include(
      `-s ${SERIAL} shell su -c 'abx2xml /data/system/users/0/settings_ssaid.xml -'`,
    );
  });

  it('on a rooted Android 10 phone: the same file, still text, read with cat', async () => {
    const phone = rootedPhone();
    const values = await read(
      { ...phone, props: { ...phone.props, ...api('29', '10') } },
      'rooted-10',
    );
    expect(values.android_id).to.deep.equal(['3f2a9c01d4e5b6a7', '0b1c2d3e4f506172']);
  });

  it("on a stock Android 14 phone: unreadable, and the shell's value is not searched for", async () => {
    const values = await read(stockPhone(), 'stock-14');
    expect(values.android_id).to.equal(undefined);
    expect(lines.join('\n')).to.match(
      /android_id: not known — since Android 8 each app has its own Android ID, and the shell reads only its own; the apps' are in \/data\/system\/users\/0\/settings_ssaid\.xml, readable as root only/,
    );
  });

  it('before Android 8 the one device-wide value, which the shell reads too', async () => {
    const phone = stockPhone();
    const values = await read(
      { ...phone, props: { ...phone.props, ...api('25', '7.1.2') } },
      'stock-7',
    );
    expect(values.android_id).to.deep.equal([SHELL_ID]);
  });

  it('leaves the user key out of the parsed IDs', () => {
    expect(parseSsaids(SSAID_XML).map((entry) => entry.package)).to.deep.equal([
      'com.android.shell',
      'com.vendor.cloud',
      'com.vendor.stats',
    ]);
  });
});
