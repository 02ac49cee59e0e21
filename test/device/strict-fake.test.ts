import { expect } from 'chai';
import { join } from 'node:path';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import type { RouteContext } from '../../src/device/device.ts';
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

// What real phones do that a kind fake would not: before Android 7 `adb shell` answers through
// a pty (CRLF, stderr on stdout, exit code always 0); a root manager's su can wait for a prompt
// nobody accepts; `adb root` returns before the old adbd has gone. Fake adb; no phone ran these.
describe('phones as they are (a strict fake adb)', function () {
  this.timeout(60_000);
  const suite = fakeAdbSuite();
  const dirs = suite.dirs;
  let fake: FakeAdb;
  let lines: string[];

  const context = (): RouteContext =>
    routeContext(suite.ca(), dirs.path, (line) => lines.push(line));
  const use = (phone: FakePhone) => {
    fake = suite.use({ [SERIAL]: phone });
    lines = [];
  };
  const version = (phone: FakePhone, sdk: string, release: string): FakePhone => ({
    ...phone,
    props: { ...phone.props, 'ro.build.version.sdk': sdk, 'ro.build.version.release': release },
  });

  it('routes, reads and restores an Android 5.1 phone whose shell answers in CRLF with exit code 0', async () => {
    use(version(stockPhone(), '22', '5.1.1'));
    const device = new AndroidDevice(androidEntry({ android: { systemCa: 'never' } }), {
      stateDir: join(dirs.path, 'lollipop'),
      tunnelCheckMs: 0,
    });
    await device.route(context());
    // The proxy was set and read back through CRLF output.
    expect(fake.phone(SERIAL).settings.global!.http_proxy).to.equal('127.0.0.1:8123');
    const values = await device.readIdentifiers({ execute: async () => undefined });
    expect(values.serial).to.deep.equal(['R58M12345']);
    expect(values.android_id).to.deep.equal(['9774d56d682e549c']);
    for (const kind of ['imei', 'imsi'] as const)
      expect(
        values[kind]?.every((value) => /^\d+$/.test(value)),
        kind,
      ).to.not.equal(false);
    await device.restore();
    expect(fake.phone(SERIAL).settings.global!.http_proxy).to.equal(':0');
    expect(fake.phone(SERIAL).reverse).to.deep.equal([]);
  });

  it('takes a su that never answers for no root, within the wait, and goes on as a stock phone', async () => {
    use({ ...rootedPhone(), suHangs: true });
    const device = new AndroidDevice(androidEntry(), {
      stateDir: join(dirs.path, 'hang'),
      tunnelCheckMs: 0,
      suWaitMs: 1500,
    });
    const started = Date.now();
    await device.route(context());
    expect(Date.now() - started).to.be.lessThan(20_000);
    expect(lines.join('\n')).to.match(
      /not rooted \(su did not answer within 2 s \(a root manager asking on the phone\? allow the shell there, or deny it for good\)\)/,
    );
    expect(fake.phone(SERIAL).mounts).to.deep.equal([]);
    await device.restore();
  });

  it('waits out `adb root` until the new adbd answers as root, then uses it', async () => {
    const emulator = rootedPhone({
      su: null,
      rootLagAfterRoot: 2,
      props: { ...rootedPhone().props, 'ro.debuggable': '1' },
    });
    use(emulator);
    const device = new AndroidDevice(androidEntry(), {
      stateDir: join(dirs.path, 'root-race'),
      tunnelCheckMs: 0,
    });
    await device.route(context());
    expect(fake.phone(SERIAL).adbdRoot).to.equal(true);
    expect(fake.phone(SERIAL).systemCerts.length).to.equal(2);
    await device.restore();
    expect(fake.phone(SERIAL).adbdRoot).to.equal(false);
  });

  it('refuses to switch Wi-Fi off on a phone on wireless adb, which would cut adb and leave it unrestored', async () => {
    const serial = '192.168.1.57:5555';
    fake = suite.use({
      [serial]: rootedPhone({ props: { ...rootedPhone().props, 'ro.serialno': serial } }),
    });
    lines = [];
    const device = new AndroidDevice(androidEntry({ serial, android: { systemCa: 'never' } }), {
      stateDir: join(dirs.path, 'wireless'),
      tunnelCheckMs: 0,
    });
    await device.route(context());
    const actions = device.actions({ execute: async () => undefined });
    const error = await actions.setWifi(false).then(
      () => new Error('switched'),
      (thrown: unknown) => thrown as Error,
    );
    expect(error.message).to.match(
      /'setWifi\(false\)' cannot run on device .*: it is connected over wireless adb \(192\.168\.1\.57:5555\), which switching Wi-Fi off would cut, leaving the phone unrestored; connect the phone by USB/,
    );
    expect(fake.phone(serial).settings.global!.wifi_on).to.equal('1');
    await device.restore();
  });

  it("uses su's --mount-master where su takes it, so the CA lands in the global namespace", async () => {
    use(rootedPhone({ suMountMaster: true }));
    const device = new AndroidDevice(androidEntry(), {
      stateDir: join(dirs.path, 'mount-master'),
      tunnelCheckMs: 0,
    });
    await device.route(context());
    expect(fake.commands()).to.include(
      `-s ${SERIAL} shell su -mm -c 'sh /data/local/tmp/phonehome-ca/install.sh'`,
    );
    expect(fake.phone(SERIAL).systemCerts.length).to.equal(2);
    await device.restore();
    expect(fake.commands()).to.include(
      `-s ${SERIAL} shell su -mm -c 'sh /data/local/tmp/phonehome-ca/remove.sh'`,
    );
    expect(fake.phone(SERIAL).systemCerts.length).to.equal(1);
  });
});
