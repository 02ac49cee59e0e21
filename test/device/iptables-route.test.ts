import { expect } from 'chai';
import { appendFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { bodyStore } from '../../src/capture/bodies.ts';
import { PacketDumpRecorder } from '../../src/capture/packet-dump.ts';
import { CaptureSession } from '../../src/capture/session.ts';
import { statusWord } from '../../src/coverage.ts';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import { restorePhone } from '../../src/device/android/restore.ts';
import type { RouteContext } from '../../src/device/device.ts';
import { readJournalAll } from '../../src/journal/reader.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import { dnsQuery, pcapHeader, pcapRecord, udp, withTrailer } from '../support/pcap.ts';
import {
  fakeAdbSuite,
  androidEntry,
  FakeAdb,
  rootedPhone,
  stockPhone,
  type FakePhone,
  routeContext,
} from './fake-adb.ts';

const PORT = 8123;
const SERIAL = 'R58M12345';
const SU = (command: string) => `-s ${SERIAL} shell su -c '${command}'`;

// The iptables route on a rooted phone: every TCP connection of every app is redirected on the
// phone into the `adb reverse` tunnel, QUIC and IPv6 refused; every chain is undone at restore,
// also from the record after a kill. Tested at the adb boundary with the fake adb (exact commands
// and what they leave in its iptables model); the capture's side with real connections.
describe('the iptables route (rooted phone, fake adb)', function () {
  this.timeout(60_000);
  const suite = fakeAdbSuite();
  const dirs = suite.dirs;
  let fake: FakeAdb;
  const context = (): RouteContext => routeContext(suite.ca(), dirs.path, () => {}, PORT);
  const entry = androidEntry({ android: { route: 'iptables', systemCa: 'never' } });
  const device = (name: string) =>
    new AndroidDevice(entry, { stateDir: join(dirs.path, name), tunnelCheckMs: 0 });
  const use = (phone: FakePhone, failures: Parameters<typeof FakeAdb.create>[1] = []) => {
    fake = suite.use({ [SERIAL]: phone }, failures);
  };
  const chains = () => fake.phone(SERIAL).iptables ?? {};

  it('redirects every TCP connection into the tunnel, sets no proxy, and removes every chain at restore', async () => {
    use(rootedPhone());
    const phone = device('ok');
    await phone.route(context());
    const commands = fake.commands();
    for (const line of [
      'iptables -w -t nat -N PHONEHOME',
      'iptables -w -t nat -A PHONEHOME -o lo -j RETURN',
      'iptables -w -t nat -A PHONEHOME -d 127.0.0.0/8 -j RETURN',
      'iptables -w -t nat -A PHONEHOME -p tcp -j REDIRECT --to-ports 8123',
      'iptables -w -t nat -I OUTPUT 1 -j PHONEHOME',
      'iptables -w -t filter -A PHONEHOME -p udp --dport 443 -j REJECT',
      'ip6tables -w -t filter -A PHONEHOME -p tcp -j REJECT --reject-with tcp-reset',
    ])
      expect(commands).to.include(SU(line));
    expect(commands).to.include(`-s ${SERIAL} reverse tcp:8123 tcp:8123`);
    expect(commands.some((line) => /settings put global http_proxy/.test(line))).to.equal(false);
    expect(chains()['iptables nat']).to.deep.equal({
      OUTPUT: ['-j PHONEHOME'],
      PHONEHOME: [
        '-o lo -j RETURN',
        '-d 127.0.0.0/8 -j RETURN',
        '-p tcp -j REDIRECT --to-ports 8123',
      ],
    });
    expect(phone.coverage.route).to.equal('iptables');
    expect(phone.arrivesRedirected).to.equal(true);
    expect(statusWord('pass', phone.coverage)).to.equal('PASS (TCP traffic only)');
    expect(phone.coverage.blind.join('; ')).to.match(/DNS lookups and UDP/);

    fake.clearLog();
    await phone.restore();
    const after = fake.commands();
    // The redirect goes before the tunnel it sends into.
    expect(after.indexOf(SU('iptables -w -t nat -D OUTPUT -j PHONEHOME'))).to.be.lessThan(
      after.indexOf(`-s ${SERIAL} reverse --remove tcp:8123`),
    );
    for (const table of ['iptables nat', 'iptables filter', 'ip6tables filter'])
      expect(chains()[table], table).to.deep.equal({ OUTPUT: [] });
    expect(fake.phone(SERIAL).reverse).to.deep.equal([]);
  });

  it('refuses a phone without root, saying which route fits it, and leaves nothing behind', async () => {
    use(stockPhone());
    const phone = device('stock');
    const error = await phone.route(context()).then(
      () => new Error('routed'),
      (thrown: unknown) => thrown as Error,
    );
    expect(error.message).to.match(
      /the iptables route needs root, and R58M12345 has no su and adbd cannot run as root; use "route": "vpn"/,
    );
    await phone.restore();
    expect(fake.phone(SERIAL).reverse).to.deep.equal([]);
    expect(fake.phone(SERIAL).settings.global!.http_proxy).to.equal('null');
  });

  it('stops at the first rule that fails, with its message, and undoes the half-made chains', async () => {
    use(rootedPhone(), [
      {
        match: 'REDIRECT',
        stdout:
          "iptables v1.8.7 (legacy): Couldn't load target `REDIRECT':No such file or directory\n",
        code: 0,
      },
    ]);
    const phone = device('half');
    const error = await phone.route(context()).then(
      () => new Error('routed'),
      (thrown: unknown) => thrown as Error,
    );
    // Exit 0, as an old phone's adb gives it: the output is what says it failed.
    expect(error.message).to.match(
      /`iptables -w -t nat -A PHONEHOME -p tcp -j REDIRECT --to-ports 8123` failed on R58M12345: iptables v1\.8\.7 \(legacy\): Couldn't load target/,
    );
    await phone.restore();
    expect(chains()['iptables nat']).to.deep.equal({ OUTPUT: [] });
  });

  it('after a kill, `phonehome restore` removes the chains from the record', async () => {
    use(rootedPhone());
    const stateDir = join(dirs.path, 'killed');
    await new AndroidDevice(entry, { stateDir, tunnelCheckMs: 0 }).route(context());
    // The run's process is gone without restoring: the record is all that is left.
    await restorePhone(entry, { stateDir, force: true, log: () => {} });
    for (const table of ['iptables nat', 'iptables filter', 'ip6tables filter'])
      expect(chains()[table], table).to.deep.equal({ OUTPUT: [] });
  });

  it('the capture reads what the redirect hands it: HTTPS by its SNI, and other protocols without a destination', async () => {
    const journal = JournalWriter.open(join(dirs.path, 'journal.ndjson'));
    const ca = suite.ca();
    const capture = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dirname(journal.path)),
      answers: {
        hosts: { 'api.vendor.test': { status: 200, body: 'ok' } },
        otherwise: 'not-found',
      },
      recordUnaddressed: true,
    });
    try {
      // What an app's HTTPS looks like after REDIRECT: TLS straight to the capture's port.
      const secure = tlsConnect({
        port: capture.port,
        host: '127.0.0.1',
        servername: 'api.vendor.test',
        ca: ca.certPem,
      });
      const status = await new Promise<string>((resolve, reject) => {
        secure.once('secureConnect', () =>
          secure.write(
            'GET /hello?imei=865432101234564 HTTP/1.1\r\nHost: api.vendor.test\r\nConnection: close\r\n\r\n',
          ),
        );
        let answer = '';
        secure.on('data', (chunk: Buffer) => {
          answer += chunk.toString();
          if (!answer.includes('\r\n')) return;
          resolve(answer.split('\r\n')[0]!);
          secure.destroy();
        });
        secure.on('error', reject);
      });
      expect(status).to.equal('HTTP/1.1 200 OK');
      // A push channel's XMPP after REDIRECT: no destination left to name.
      const raw = netConnect(capture.port, '127.0.0.1');
      await new Promise<void>((resolve) => {
        raw.resume(); // the capture's 400 is read, so its close arrives
        raw.on('connect', () =>
          raw.write("<?xml version='1.0'?><stream:stream to='chat.vendor.test'>"),
        );
        raw.on('close', () => resolve());
        raw.on('error', () => resolve());
      });
      await capture.waitQuiet(100, 5000);
    } finally {
      await capture.stop();
      journal.close();
    }
    const records = await readJournalAll(journal.path);
    expect(
      records.flatMap((r) => (r.type === 'exchange' ? [r.exchange.request.url] : [])),
    ).to.deep.equal(['https://api.vendor.test/hello?imei=865432101234564']);
    expect(
      records.flatMap((r) =>
        r.type === 'tls-failure' ? [[r.failure.host ?? 'none', r.failure.cause]] : [],
      ),
    ).to.deep.equal([['none', 'not-http']]);
  });

  it('with PCAPdroid installed, dumps DNS and UDP in its root mode beside the redirect, and stops it before the chains go', async () => {
    const PCAPDROID = 'com.emanuelef.remote_capture';
    use(rootedPhone({ packages: [PCAPDROID] }));
    const phone = device('dump');
    const records: { type: string }[] = [];
    const ctx: RouteContext = {
      ...context(),
      packetDump: (source) =>
        new PacketDumpRecorder({
          ...source,
          journal: { append: (record) => records.push(record) },
          file: join(dirs.path, 'iptables-dump.pcap'),
          note: () => undefined,
        }),
    };
    await phone.route(ctx);
    const dump = fake.phone(SERIAL).pcapdroid!.dump!;
    const name = dump.split('/').at(-1);
    expect(fake.commands()).to.include(
      `-s ${SERIAL} shell am start -e action start -e pcap_dump_mode pcap_file -e pcap_name ${name} -e pcapdroid_trailer true -e root_capture true -e capture_interface @inet -n ${PCAPDROID}/.activities.CaptureCtrl`,
    );
    expect(statusWord('pass', phone.coverage)).to.equal('PASS (after the capture started)');
    expect(phone.coverage.sees).to.match(/every DNS query and UDP flow/);
    expect(phone.notes.join('\n')).to.match(/PCAPdroid in root mode dumped the packets/);
    appendFileSync(
      fake.dumpFile(SERIAL),
      Buffer.concat([
        pcapHeader(1),
        pcapRecord(
          Date.now(),
          withTrailer(
            udp('192.168.1.23', 40000, '192.168.1.1', 53, dnsQuery('beacon.vendor.example')),
            1000,
            'x',
          ),
        ),
      ]),
    );
    fake.clearLog();
    await phone.restore();
    expect(records.map((record) => record.type)).to.deep.equal(['exchange']);
    const after = fake.commands();
    const at = (command: string) => after.indexOf(command);
    expect(at(`-s ${SERIAL} shell am force-stop ${PCAPDROID}`)).to.be.greaterThan(-1);
    expect(at(`-s ${SERIAL} shell rm -f ${dump}`)).to.be.greaterThan(
      at(`-s ${SERIAL} shell am force-stop ${PCAPDROID}`),
    );
    expect(at(SU('iptables -w -t nat -D OUTPUT -j PHONEHOME'))).to.be.greaterThan(
      at(`-s ${SERIAL} shell rm -f ${dump}`),
    );
    expect(existsSync(fake.dumpFile(SERIAL))).to.equal(false);
  });

  it("goes on without DNS and UDP when PCAPdroid's root-mode capture is not allowed, saying so", async () => {
    use(
      rootedPhone({
        packages: ['com.emanuelef.remote_capture'],
        pcapdroid: { consent: 'never' },
      }),
    );
    const quick = androidEntry({
      android: { route: 'iptables', systemCa: 'never', vpn: { consentTimeoutMs: 1000 } },
    });
    const phone = new AndroidDevice(quick, {
      stateDir: join(dirs.path, 'refused'),
      tunnelCheckMs: 0,
      vpnPollMs: 20,
    });
    await phone.route({
      ...context(),
      packetDump: () => {
        throw new Error('no dump was started');
      },
    });
    expect(phone.notes.join('\n')).to.match(
      /PCAPdroid's root-mode packet dump could not be started \(.*did not start on R58M12345 within 1 s.*\): DNS and UDP are not seen\./,
    );
    expect(statusWord('pass', phone.coverage)).to.equal('PASS (TCP traffic only)');
    expect(chains()['iptables nat']?.PHONEHOME).to.have.length(3);
    await phone.restore();
    expect(chains()['iptables nat']?.PHONEHOME).to.equal(undefined);
  });

  it('with "packetDump": "never", leaves PCAPdroid alone and says DNS and UDP are not seen', async () => {
    use(rootedPhone({ packages: ['com.emanuelef.remote_capture'] }));
    const never = androidEntry({
      android: { route: 'iptables', systemCa: 'never', packetDump: 'never' },
    });
    const phone = new AndroidDevice(never, {
      stateDir: join(dirs.path, 'never'),
      tunnelCheckMs: 0,
    });
    await phone.route({
      ...context(),
      packetDump: () => {
        throw new Error('no dump was asked for');
      },
    });
    expect(fake.commands().some((line) => /remote_capture/.test(line))).to.equal(false);
    expect(statusWord('pass', phone.coverage)).to.equal('PASS (TCP traffic only)');
    expect(phone.notes.join('\n')).to.match(/DNS and UDP are not seen \(QUIC is rejected\)\.$/);
    await phone.restore();
  });
});
