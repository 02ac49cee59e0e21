import { expect } from 'chai';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PacketDumpRecorder } from '../../src/capture/packet-dump.ts';
import { statusWord } from '../../src/coverage.ts';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import { stateFilePath } from '../../src/device/android/restore-state.ts';
import { restorePhone } from '../../src/device/android/restore.ts';
import type { PacketDumpSource, RouteContext } from '../../src/device/device.ts';
import type { Exchange, TlsFailure } from '../../src/types.ts';
import { dnsQuery, pcapHeader, pcapRecord, udp, withTrailer } from '../support/pcap.ts';
import {
  fakeAdbSuite,
  androidEntry,
  FakeAdb,
  stockPhone,
  type FakePhone,
  routeContext,
} from './fake-adb.ts';

const PORT = 8123;
const PCAPDROID = 'com.emanuelef.remote_capture';

// The vpn route on a stock phone (no root): PCAPdroid, driven over adb through its documented
// control intent, hands every TCP connection to phonehome's SOCKS5 listener through `adb
// reverse`; stopping it is part of the restore record. Tested at the adb boundary with the fake
// adb (the SOCKS side is test/capture/socks.test.ts); no phone ran it here.
describe('the vpn route (PCAPdroid, fake adb)', function () {
  this.timeout(60_000);
  const suite = fakeAdbSuite();
  const dirs = suite.dirs;
  let fake: FakeAdb;
  let lines: string[];
  const context = (): RouteContext =>
    routeContext(suite.ca(), dirs.path, (line) => lines.push(line), PORT);
  const vpnEntry = (vpn: Record<string, unknown> = {}) =>
    androidEntry({ android: { route: 'vpn', systemCa: 'never', vpn } });
  const device = (entry = vpnEntry(), name = 'state') =>
    new AndroidDevice(entry, {
      stateDir: join(dirs.path, name),
      tunnelCheckMs: 0,
      vpnPollMs: 20,
    });
  const use = (phone: FakePhone) => {
    fake = suite.use({ R58M12345: phone });
  };

  beforeEach(() => {
    lines = [];
  });

  it('starts PCAPdroid into the SOCKS5 tunnel, sets no proxy, and stops it at restore', async () => {
    use(stockPhone({ packages: [PCAPDROID] }));
    const phone = device(vpnEntry({ appFilter: 'com.vendor.app' }), 'ok');
    await phone.route(context());
    const commands = fake.commands();
    expect(commands).to.include('-s R58M12345 reverse tcp:8123 tcp:8123');
    expect(commands).to.include(
      `-s R58M12345 shell am start -e action start -e pcap_dump_mode none -e socks5_enabled true -e socks5_proxy_ip_address 127.0.0.1 -e socks5_proxy_port 8123 -e block_quic always -e app_filter com.vendor.app -n ${PCAPDROID}/.activities.CaptureCtrl`,
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

  /** A route context whose packet dump goes through the run's real recorder into `records`. */
  const dumping = (name: string) => {
    const records: ({ exchange: Exchange } | { failure: TlsFailure })[] = [];
    const sources: PacketDumpSource[] = [];
    const file = join(dirs.path, `${name}.pcap`);
    const ctx: RouteContext = {
      ...context(),
      packetDump: (source) => {
        sources.push(source);
        return new PacketDumpRecorder({
          ...source,
          journal: {
            append: (record) => {
              if (record.type === 'exchange') records.push({ exchange: record.exchange });
              if (record.type === 'tls-failure') records.push({ failure: record.failure });
            },
          },
          file,
          note: (text) => lines.push(text),
        });
      },
    };
    return { ctx, records, sources, file };
  };
  const waitFor = async (ready: () => boolean) => {
    for (let i = 0; i < 800 && !ready(); i++) await new Promise((r) => setTimeout(r, 25));
    expect(ready(), 'waited 20 s').to.equal(true);
  };

  it("streams PCAPdroid's packet dump off the phone: DNS queries and UDP flows by app, on the run's clock, the dump deleted at restore", async () => {
    const SKEW = 3_600_000;
    use(
      stockPhone({
        packages: [PCAPDROID, 'com.vendor.daemon'],
        uids: { 'com.vendor.daemon': 1000 },
        clockSkewMs: SKEW,
      }),
    );
    const phone = device(vpnEntry(), 'dump');
    const { ctx, records, sources, file } = dumping('dump');
    await phone.route(ctx);
    const commands = fake.commands();
    const dump = fake.phone('R58M12345').pcapdroid!.dump!;
    expect(dump).to.match(/^\/sdcard\/Download\/PCAPdroid\/phonehome-\d+\.pcap$/);
    const name = dump.split('/').at(-1);
    expect(commands).to.include(
      `-s R58M12345 shell am start -e action start -e pcap_dump_mode pcap_file -e pcap_name ${name} -e pcapdroid_trailer true -e auto_block_private_dns true -e socks5_enabled true -e socks5_proxy_ip_address 127.0.0.1 -e socks5_proxy_port 8123 -e block_quic always -n ${PCAPDROID}/.activities.CaptureCtrl`,
    );
    // The stream is a process of its own: it is under way once adb was asked for it.
    const tail = `-s R58M12345 exec-out tail -c +1 -f ${dump}`;
    await waitFor(() => fake.commands().includes(tail));
    expect(sources).to.have.length(1);
    // The phone's clock is an hour ahead: the measured offset is off by no more than the
    // uncertainty it states (half the round trip of `adb shell date`), whatever that was.
    const { clockOffsetMs, clockUncertaintyMs } = sources[0]!;
    expect(clockUncertaintyMs).to.be.at.least(1);
    expect(Math.abs(clockOffsetMs - SKEW)).to.be.at.most(clockUncertaintyMs);
    expect(sources[0]!.apps).to.deep.equal({ 1000: 'com.vendor.daemon', 10000: PCAPDROID });
    expect(statusWord('pass', phone.coverage)).to.equal('PASS (after the capture started)');
    expect(phone.coverage.blind.join('; ')).to.not.match(/UDP|DNS/);

    // PCAPdroid writes the daemon's DNS query (its IMEI in the name), then a UDP datagram.
    const sentAt = Date.now();
    const dumpFile = fake.dumpFile('R58M12345');
    const written: Buffer[] = [];
    const write = (bytes: Buffer) => {
      written.push(bytes);
      appendFileSync(dumpFile, bytes);
    };
    write(
      Buffer.concat([
        pcapHeader(1),
        pcapRecord(
          sentAt + SKEW,
          withTrailer(
            udp(
              '10.215.173.1',
              40000,
              '10.215.173.2',
              53,
              dnsQuery('356938035643809.beacon.vendor.example'),
            ),
            1000,
            'com.vendor.daemon',
          ),
        ),
      ]),
    );
    await waitFor(() => records.length === 1);
    const lookup = (records[0] as { exchange: Exchange }).exchange;
    expect(lookup.request.url).to.equal('dns://356938035643809.beacon.vendor.example');
    expect(lookup.app).to.equal('com.vendor.daemon');
    // On the run's clock, at the earliest it can have been: never after it was sent.
    expect(lookup.startedAt).to.be.at.most(sentAt);
    expect(lookup.startedAt).to.be.at.least(sentAt - 2 * clockUncertaintyMs);
    // Written in the last moment before the capture stops: restore still takes it.
    write(
      pcapRecord(
        sentAt + SKEW + 10,
        withTrailer(
          udp('10.215.173.1', 40001, '203.0.113.9', 9999, Buffer.from('ping')),
          1000,
          'x',
        ),
      ),
    );

    fake.clearLog();
    await phone.restore();
    expect(records.slice(1)).to.deep.equal([
      {
        failure: {
          at: lookup.startedAt + 10,
          host: '203.0.113.9',
          port: 9999,
          cause: 'udp',
          packets: 1,
          bytes: 32,
          app: 'com.vendor.daemon',
        },
      },
    ]);
    const after = fake.commands();
    expect(after[0]).to.equal(`-s R58M12345 shell stat -c %s ${dump}`);
    expect(after.slice(-7, -2)).to.deep.equal([
      `-s R58M12345 shell am force-stop ${PCAPDROID}`,
      `-s R58M12345 shell dumpsys activity services ${PCAPDROID}/.CaptureService`,
      `-s R58M12345 shell rm -f ${dump}`,
      `-s R58M12345 shell ls ${dump}`,
      '-s R58M12345 reverse --remove tcp:8123',
    ]);
    expect(existsSync(dumpFile)).to.equal(false);
    // The run keeps the dump as it came, for Wireshark.
    expect(readFileSync(file).equals(Buffer.concat(written))).to.equal(true);
  });

  it('picks the dump stream up again at the byte it stopped when adb drops it, with nothing lost or doubled', async () => {
    const query = (i: number) =>
      pcapRecord(
        Date.now(),
        withTrailer(
          udp('10.215.173.1', 40000 + i, '10.215.173.2', 53, dnsQuery(`q${i}.vendor.example`, i)),
          1000,
          'x',
        ),
      );
    const bytes = Buffer.concat([pcapHeader(1), query(1), query(2), query(3)]);
    // The cable is pulled in the middle of the second record.
    const dropAfter = 24 + query(1).length + 20;
    use(stockPhone({ packages: [PCAPDROID], pcapdroid: { consent: 'allow', dropAfter } }));
    const phone = device(vpnEntry(), 'dropped');
    const { ctx, records, file } = dumping('dropped');
    await phone.route(ctx);
    appendFileSync(fake.dumpFile('R58M12345'), bytes);
    await waitFor(() => records.length === 3);
    expect(lines.join('\n')).to.match(
      /the packet dump stream from R58M12345 stopped \(error: closed\); picking it up again at byte \d+/,
    );
    expect(
      records.map((record) => (record as { exchange: Exchange }).exchange.request.url),
    ).to.deep.equal([
      'dns://q1.vendor.example',
      'dns://q2.vendor.example',
      'dns://q3.vendor.example',
    ]);
    const tails = fake.commands().filter((line) => / exec-out tail /.test(line));
    expect(tails).to.deep.equal([
      `-s R58M12345 exec-out tail -c +1 -f ${fake.phone('R58M12345').pcapdroid!.dump}`,
      `-s R58M12345 exec-out tail -c +${dropAfter + 1} -f ${fake.phone('R58M12345').pcapdroid!.dump}`,
    ]);
    await phone.restore();
    expect(readFileSync(file).equals(bytes)).to.equal(true);
  });

  it('restores the phone even when adb fails while the last of the dump is read', async () => {
    use(stockPhone({ packages: [PCAPDROID] }));
    const phone = device(vpnEntry(), 'offline');
    const { ctx, file } = dumping('offline');
    await phone.route(ctx);
    const dump = fake.phone('R58M12345').pcapdroid!.dump!;
    appendFileSync(fake.dumpFile('R58M12345'), pcapHeader(1));
    fake.update((model) => {
      model.failures = [
        { match: 'shell stat', stderr: 'adb: device offline\n', code: 1, times: 1 },
      ];
    });
    fake.clearLog();
    await phone.restore();
    expect(lines.join('\n')).to.match(/the rest of PCAPdroid's dump could not be read: .*offline/);
    expect(fake.commands()).to.include(`-s R58M12345 shell rm -f ${dump}`);
    expect(fake.phone('R58M12345').pcapdroid?.running).to.equal(false);
    // What had arrived is on disk, and the recorder was closed.
    expect(readFileSync(file).equals(pcapHeader(1))).to.equal(true);
  });

  it("says in the run's notes when PCAPdroid wrote no packet at all", async () => {
    use(stockPhone({ packages: [PCAPDROID] }));
    const phone = device(vpnEntry(), 'empty');
    await phone.route(dumping('empty').ctx);
    await phone.restore();
    expect(lines.join('\n')).to.match(
      /PCAPdroid's packet dump on R58M12345: PCAPdroid wrote no packet, so no DNS query or UDP flow could be recorded/,
    );
  });

  it('deletes the dump of a killed run at `phonehome restore`, and keeps the record until it is gone', async () => {
    use(stockPhone({ packages: [PCAPDROID] }));
    const stateDir = join(dirs.path, 'killed');
    const phone = new AndroidDevice(vpnEntry(), { stateDir, tunnelCheckMs: 0, vpnPollMs: 20 });
    await phone.route(dumping('killed').ctx);
    const dump = fake.phone('R58M12345').pcapdroid!.dump!;
    expect(readFileSync(stateFilePath(stateDir, 'R58M12345'), 'utf8')).to.include(dump);
    // The run is killed; a file manager holds the dump open, so the first rm does not take.
    fake.update((model) => {
      model.failures = [{ match: `shell rm -f ${dump}`, stdout: '', code: 0, times: 1 }];
    });
    const error = await restorePhone(vpnEntry(), { stateDir, force: true, log: () => {} }).then(
      () => new Error('restored'),
      (thrown: unknown) => thrown as Error,
    );
    expect(error.message).to.include(
      `PCAPdroid's packet dump ${dump} is still on R58M12345 (it holds the phone's traffic): \`adb shell rm ${dump}\``,
    );
    expect(existsSync(stateFilePath(stateDir, 'R58M12345'))).to.equal(true);
    await restorePhone(vpnEntry(), { stateDir, force: true, log: () => {} });
    expect(existsSync(fake.dumpFile('R58M12345'))).to.equal(false);
    expect(existsSync(stateFilePath(stateDir, 'R58M12345'))).to.equal(false);
  });

  it('with a PCAPdroid too old to name its dump, captures TCP only and says to update it', async () => {
    use(stockPhone({ packages: [PCAPDROID], pcapdroid: { consent: 'allow', versionCode: 50 } }));
    const phone = device(vpnEntry(), 'old');
    await phone.route(dumping('old').ctx);
    expect(fake.commands()).to.include(
      `-s R58M12345 shell am start -e action start -e pcap_dump_mode none -e socks5_enabled true -e socks5_proxy_ip_address 127.0.0.1 -e socks5_proxy_port 8123 -e block_quic true -n ${PCAPDROID}/.activities.CaptureCtrl`,
    );
    expect(phone.notes.join('\n')).to.match(
      /UDP and DNS are not seen \(PCAPdroid versionCode 50 cannot name its dump file; update it to versionCode 62 or later\)/,
    );
    expect(statusWord('pass', phone.coverage)).to.equal('PASS (TCP traffic only)');
    await phone.restore();
  });
});
