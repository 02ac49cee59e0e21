import { expect } from 'chai';
import { join } from 'node:path';
import { loadOrCreateCa, type CertificateAuthority } from '../../src/capture/ca.ts';
import { statusWord } from '../../src/coverage.ts';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import type { RouteContext } from '../../src/device/device.ts';
import { tempDir } from '../support/temp.ts';
import { androidEntry, FakeAdb, stockPhone, type FakePhone, routeContext } from './fake-adb.ts';

const PORT = 8123;
const PCAPDROID = 'com.emanuelef.remote_capture';

// The vpn route on a stock phone (no root): PCAPdroid, driven over adb through its documented
// control intent, hands every TCP connection to phonehome's SOCKS5 listener through `adb
// reverse`; stopping it is part of the restore record. Tested at the adb boundary with the fake
// adb (the SOCKS side is test/capture/socks.test.ts); no phone ran it here.
describe('the vpn route (PCAPdroid, fake adb)', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  let ca: CertificateAuthority;
  let fake: FakeAdb;
  let undo: () => void;
  let lines: string[];
  const context = (): RouteContext => routeContext(ca, dirs.path, (line) => lines.push(line), PORT);
  const vpnEntry = (vpn: Record<string, unknown> = {}) =>
    androidEntry({ android: { route: 'vpn', systemCa: 'never', vpn } });
  const device = (entry = vpnEntry(), name = 'state') =>
    new AndroidDevice(entry, {
      stateDir: join(dirs.path, name),
      tunnelCheckMs: 0,
      vpnPollMs: 20,
    });
  const use = (phone: FakePhone) => {
    fake = FakeAdb.create({ R58M12345: phone });
    undo = fake.install();
  };

  before(async () => {
    ca = await loadOrCreateCa(join(dirs.path, 'ca'));
  });
  beforeEach(() => {
    lines = [];
  });
  afterEach(() => {
    undo?.();
    fake?.remove();
  });
  after(() => dirs.remove());

  it('starts PCAPdroid into the SOCKS5 tunnel, sets no proxy, and stops it at restore', async () => {
    use(stockPhone({ packages: [PCAPDROID] }));
    const phone = device(vpnEntry({ appFilter: 'com.vendor.app' }), 'ok');
    await phone.route(context());
    const commands = fake.commands();
    expect(commands).to.include('-s R58M12345 reverse tcp:8123 tcp:8123');
    expect(commands).to.include(
      `-s R58M12345 shell am start -e action start -e pcap_dump_mode none -e socks5_enabled true -e socks5_proxy_ip_address 127.0.0.1 -e socks5_proxy_port 8123 -e block_quic true -e app_filter com.vendor.app -n ${PCAPDROID}/.activities.CaptureCtrl`,
    );
    expect(commands.some((line) => /settings put global http_proxy/.test(line))).to.equal(false);
    expect(fake.phone('R58M12345').pcapdroid?.running).to.equal(true);
    expect(phone.coverage.route).to.equal('vpn');
    expect(statusWord('pass', phone.coverage)).to.equal('PASS (TCP traffic only)');
    expect(phone.coverage.blind.join('; ')).to.match(
      /UDP, and DNS lookups.*apps other than com\.vendor\.app/,
    );

    fake.clearLog();
    await phone.restore();
    expect(fake.commands()).to.deep.equal([
      `-s R58M12345 shell am force-stop ${PCAPDROID}`,
      `-s R58M12345 shell dumpsys activity services ${PCAPDROID}/.CaptureService`,
      '-s R58M12345 reverse --remove tcp:8123',
      '-s R58M12345 shell appops set io.appium.settings android:mock_location default',
      '-s R58M12345 shell appops get io.appium.settings android:mock_location',
    ]);
    expect(fake.phone('R58M12345').pcapdroid?.running).to.equal(false);
    expect(fake.phone('R58M12345').reverse).to.deep.equal([]);
  });

  it('says how to install PCAPdroid when it is missing, and leaves nothing behind', async () => {
    use(stockPhone());
    const phone = device(vpnEntry(), 'missing');
    const error = await phone.route(context()).then(
      () => new Error('routed'),
      (thrown: unknown) => thrown as Error,
    );
    expect(error.message).to.match(
      /PCAPdroid \(com\.emanuelef\.remote_capture\) is not installed on R58M12345.*F-Droid or Google Play.*"route": "proxy"/,
    );
    await phone.restore();
    expect(fake.phone('R58M12345').reverse).to.deep.equal([]);
  });

  it('waits for the user to allow the capture, then fails naming both dialogs', async () => {
    use(stockPhone({ packages: [PCAPDROID], pcapdroid: { consent: 'never' } }));
    const phone = device(vpnEntry({ consentTimeoutMs: 1000 }), 'denied');
    const error = await phone.route(context()).then(
      () => new Error('routed'),
      (thrown: unknown) => thrown as Error,
    );
    expect(lines.join('\n')).to.match(/allow PCAPdroid's capture request/);
    expect(error.message).to.match(
      /did not start on R58M12345 within 1 s: allow its capture request on the phone \(and Android's VPN request the first time\).*Control permissions/,
    );
    await phone.restore();
    expect(fake.phone('R58M12345').reverse).to.deep.equal([]);
  });
});
