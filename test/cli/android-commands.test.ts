import { expect } from 'chai';
import { request } from 'node:http';
import {
  appendFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { FakeAdb, rootedPhone, stockPhone } from '../device/fake-adb.ts';
import { runCli, spawnCli } from '../support/cli.ts';
import { dnsQuery, pcapHeader, pcapRecord, udp, withTrailer } from '../support/pcap.ts';
import { tempDir } from '../support/temp.ts';

// The Android commands through the real `phonehome` binary, with the test-only fake adb first on
// PATH standing in for the phones (no phone can be attached to a build machine).
describe('phonehome devices --propose, doctor and capture on a phone over adb', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  let fake: FakeAdb;
  const devicesFile = join(dirs.path, 'devices.json');

  beforeEach(() => {
    fake = FakeAdb.create({
      R58M12345: rootedPhone(),
      R58M99999: stockPhone({ props: { ...rootedPhone().props, 'ro.serialno': 'R58M99999' } }),
    });
    writeFileSync(
      devicesFile,
      JSON.stringify({
        devices: [
          {
            id: 'pixel',
            kind: 'android',
            serial: 'R58M12345',
            capabilities: {},
            identifiers: { imei: ['865432101234564'] },
          },
        ],
      }),
    );
  });
  afterEach(() => fake.remove());
  after(() => dirs.remove());

  /** A devices file with the phone R58M12345 as 'pixel', with these android settings. */
  const pixelDevices = (
    name: string,
    android: Record<string, unknown>,
    identifiers: Record<string, string[]> = {},
  ) => {
    const file = join(dirs.path, name);
    writeFileSync(
      file,
      JSON.stringify({
        devices: [
          {
            id: 'pixel',
            kind: 'android',
            serial: 'R58M12345',
            capabilities: {},
            identifiers,
            android,
          },
        ],
      }),
    );
    return file;
  };

  const env = () => ({
    ...fake.env,
    PHONEHOME_CA_DIR: join(dirs.path, 'ca'),
    PHONEHOME_REPORTS_DIR: join(dirs.path, 'reports'),
  });

  it('proposes one valid entry per attached phone, with distinct ids', async () => {
    const result = await runCli(['devices', '--propose'], env());
    expect(result.code, result.stderr).to.equal(0);
    const proposals = JSON.parse(result.stdout) as {
      id: string;
      kind: string;
      serial: string;
      identifiers: { imei?: string[] };
    }[];
    expect(proposals.map((p) => [p.id, p.kind, p.serial])).to.deep.equal([
      ['google-pixel-7', 'android', 'R58M12345'],
      ['google-pixel-7-r58m99999', 'android', 'R58M99999'],
    ]);
    expect(proposals[0]!.identifiers.imei).to.deep.equal(['865432101234564']);
  });

  it('doctor checks adb, the phone, root, the CA and the proxy through adb reverse', async () => {
    const result = await runCli(
      ['doctor', '--device', 'pixel', '--devices-file', devicesFile],
      env(),
    );
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    for (const line of [
      /✓ adb: .*fake-adb\/adb \(via PATH\)/,
      /✓ phone: R58M12345/,
      /✓ Android: 14 \(API 34\)/,
      /✓ root: yes/,
      /✓ proxy reachable from the phone/,
    ]) {
      expect(result.stdout).to.match(line);
    }
  });

  it('doctor checks PCAPdroid for the vpn route, and says how to install it', async () => {
    const vpnFile = pixelDevices('devices-vpn.json', { route: 'vpn' });
    const result = await runCli(['doctor', '--device', 'pixel', '--devices-file', vpnFile], env());
    expect(result.code).to.equal(1);
    expect(result.stdout).to.match(
      /PCAPdroid: com\.emanuelef\.remote_capture is not installed, and this device's route is vpn/,
    );
    expect(result.stdout).to.match(/install PCAPdroid from F-Droid or Google Play/);
  });

  it('doctor warns when PCAPdroid is too old to write the packet dump DNS and UDP need', async () => {
    const vpnFile = pixelDevices('devices-vpn-old.json', { route: 'vpn' });
    fake.update((model) => {
      const phone = model.devices.R58M12345!;
      phone.packages = [...(phone.packages ?? []), 'com.emanuelef.remote_capture'];
      phone.pcapdroid = { consent: 'allow', versionCode: 50 };
    });
    const result = await runCli(['doctor', '--device', 'pixel', '--devices-file', vpnFile], env());
    expect(result.stdout).to.match(
      /PCAPdroid: com\.emanuelef\.remote_capture versionCode 50 installed: it captures TCP, but cannot name a packet dump file \(versionCode 62\+\), so DNS lookups and UDP are not seen/,
    );
    expect(result.stdout).to.match(/update PCAPdroid from F-Droid or Google Play/);
    fake.update((model) => {
      model.devices.R58M12345!.pcapdroid = { consent: 'allow', versionCode: 79 };
    });
    const current = await runCli(['doctor', '--device', 'pixel', '--devices-file', vpnFile], env());
    expect(current.stdout).to.match(
      /PCAPdroid: com\.emanuelef\.remote_capture versionCode 79 installed: the vpn route starts it over adb with a packet dump for DNS and UDP/,
    );
  });

  it('doctor on the iptables route warns that DNS and UDP need PCAPdroid', async () => {
    const file = pixelDevices('devices-iptables.json', { route: 'iptables' });
    const result = await runCli(['doctor', '--device', 'pixel', '--devices-file', file], env());
    expect(result.stdout).to.match(
      /PCAPdroid: com\.emanuelef\.remote_capture is not installed: the iptables route redirects TCP only, so DNS lookups and UDP are not seen/,
    );
    expect(result.stdout).to.match(/install PCAPdroid .* to record them in its root mode/);
  });

  it('doctor says how to install adb when there is none', async () => {
    const result = await runCli(['doctor', '--device', 'pixel', '--devices-file', devicesFile], {
      ...env(),
      PATH: '/usr/bin/nonexistent',
      ANDROID_HOME: '',
    });
    expect(result.code).to.equal(1);
    expect(result.stdout).to.match(
      /✗ adb: adb was not found: set ANDROID_HOME .*apt-get install adb/,
    );
  });

  it('capture on the vpn route records the DNS query PCAPdroid dumped, by app, fails on it, and deletes the dump', async () => {
    const vpnFile = pixelDevices(
      'devices-vpn-capture.json',
      { route: 'vpn', systemCa: 'never' },
      { imei: ['865432101234564'] },
    );
    fake.update((model) => {
      const phone = model.devices.R58M12345!;
      phone.packages = [
        ...(phone.packages ?? []),
        'com.emanuelef.remote_capture',
        'com.vendor.daemon',
      ];
      phone.uids = { 'com.vendor.daemon': 1000 };
    });
    const child = spawnCli(['capture', '--device', 'pixel', '--devices-file', vpnFile], env());
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    let dump: string | undefined;
    for (let i = 0; i < 400 && !dump; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (/capturing pixel/.test(out)) dump = fake.phone('R58M12345').pcapdroid?.dump;
    }
    expect(dump, out).to.be.a('string');
    child.stdin.write('step first boot\n');
    // The vendor's daemon looks up a name carrying the IMEI: PCAPdroid dumps the query.
    appendFileSync(
      fake.dumpFile('R58M12345'),
      Buffer.concat([
        pcapHeader(1),
        pcapRecord(
          Date.now(),
          withTrailer(
            udp(
              '10.215.173.1',
              40000,
              '10.215.173.2',
              53,
              dnsQuery('865432101234564.beacon.vendor.example'),
            ),
            1000,
            'com.vendor.daemon',
          ),
        ),
      ]),
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.stdin.write('consent cloud\nquit\n');
    const [code] = await new Promise<[number | null]>((resolve) =>
      child.on('close', (exitCode) => resolve([exitCode])),
    );
    clearTimeout(killer);
    expect(code, out).to.equal(1);
    expect(out).to.match(/^FAIL {2}capture on pixel: 0 exchanges, 1 findings$/m);
    expect(out).to.match(/IMEI #1 +→ 865432101234564\.beacon\.vendor\.example {2}in dns-name/);
    expect(out).to.match(/1 DNS lookup/);
    const folder = readdirSync(join(dirs.path, 'reports')).find((name) =>
      name.includes('pixel-capture'),
    )!;
    const run = JSON.parse(readFileSync(join(dirs.path, 'reports', folder, 'run.json'), 'utf8'));
    expect(run.lookups).to.equal(1);
    // Its time is the earliest it can have been (by the phone clock's stated uncertainty), so
    // which step it falls in depends on that; before the consent it is, whatever it was.
    expect(run.verdicts.map((v: { message: string }) => v.message).join('\n')).to.match(
      /sent to 865432101234564\.beacon\.vendor\.example by com\.vendor\.daemon during step '[^']*'/,
    );
    expect(statSync(join(dirs.path, 'reports', folder, 'phone.pcap')).mode & 0o777).to.equal(0o600);
    expect(existsSync(fake.dumpFile('R58M12345')), 'dump deleted on the phone').to.equal(false);
    expect(fake.phone('R58M12345').pcapdroid?.running).to.equal(false);
    rmSync(join(dirs.path, 'reports', folder), { recursive: true });
  });

  it('capture journals what the phone sends, judges it by the marks, and restores the phone', async () => {
    const child = spawnCli(['capture', '--device', 'pixel', '--devices-file', devicesFile], env());
    let out = '';
    // The run has no internet: --offline makes the proxy answer itself instead of passing through.
    const killer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    const proxy = await new Promise<URL>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const found = /capturing pixel through (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (found) resolve(new URL(found[1]!));
      });
      child.on('close', () => reject(new Error(`capture ended early:\n${out}`)));
    });
    expect(fake.phone('R58M12345').settings.global?.http_proxy).to.equal(`127.0.0.1:${proxy.port}`);
    child.stdin.write('step open the vendor app\n');
    // What the phone's app would send through its system proxy: its IMEI, before any consent.
    await new Promise<void>((resolve, reject) => {
      const sent = request(
        {
          host: proxy.hostname,
          port: proxy.port,
          method: 'GET',
          path: 'http://api.account.xiaomi.com/pass/v3/user@id?type=MXPH',
          headers: { cookie: 'deviceId=865432101234564' },
        },
        (response) => response.resume().on('end', () => resolve()),
      );
      sent.on('error', reject);
      sent.end();
    });
    child.stdin.write('consent cloud\nquit\n');
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
    );
    clearTimeout(killer);
    expect([code, signal], out).to.deep.equal([1, null]);
    // The same summary as a scenario run: the verdict, and the leak under it.
    expect(out).to.match(/^FAIL {2}capture on pixel: 1 exchanges, 1 findings$/m);
    expect(out).to.match(
      /✗ no identifier leaves the phone before consent 'consent' {2}— FAIL\n +IMEI #1 +→ api\.account\.xiaomi\.com {2}in cookie:deviceId/,
    );
    expect(fake.phone('R58M12345').settings.global?.http_proxy, 'proxy reset').to.equal(':0');
    expect(fake.phone('R58M12345').reverse, 'reverse tunnel removed').to.deep.equal([]);
    const folders = readdirSync(join(dirs.path, 'reports')).filter((name) =>
      name.includes('pixel-capture'),
    );
    expect(folders).to.have.length(1);
    expect(readdirSync(join(dirs.path, 'reports', folders[0]!))).to.include.members([
      'journal.ndjson',
      'report.html',
      'junit.xml',
    ]);
  });
});
