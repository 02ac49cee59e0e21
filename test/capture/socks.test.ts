import { expect } from 'chai';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { SocksClient } from 'socks';
import { bodyStore } from '../../src/capture/bodies.ts';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { CaptureSession } from '../../src/capture/session.ts';
import { coverageLine } from '../../src/coverage.ts';
import { readJournalAll } from '../../src/journal/reader.ts';
import { analyseJournal } from '../../src/verdict/analyse.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import { tempDir } from '../support/temp.ts';

const IMEI = '865432101234564';
const BODY = JSON.stringify({ imei: IMEI });

/** One HTTP/1.1 request written on `socket`, its status line read back. */
function ask(socket: Socket, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) {
        resolve(answer.split('\r\n')[0]!);
        socket.destroy();
      }
    });
    socket.on('error', reject);
    socket.write(request);
  });
}

// What a VPN capture app on the phone (PCAPdroid) does: every TCP connection arrives over SOCKS5
// with its original destination — an address, as a VPN sees it, or a name. A real SOCKS5 client
// (the `socks` package) talks to the capture's real SOCKS listener; nothing leaves this machine.
describe('the capture as a SOCKS5 proxy', function () {
  this.timeout(30_000);
  const dirs = tempDir();
  after(() => dirs.remove());
  /** A run's journal looking for the IMEI, with one consent, "push", given when the test says. */
  const pushJournal = (name: string) => {
    const journal = JournalWriter.open(join(dirs.path, `${name}-journal.ndjson`));
    journal.append({
      type: 'run-start',
      version: 1,
      at: Date.now(),
      runId: name,
      scenario: 'capture',
      scenarioTitle: name,
      device: { id: 'test', kind: 'android' },
      identifiers: { imei: [IMEI] },
      consents: [{ name: 'push', covers: 'all' }],
      forbiddenHosts: [],
      versions: {},
    });
    return journal;
  };

  it('records HTTP and HTTPS that arrive over SOCKS5, by name and by address', async () => {
    const ca = await loadOrCreateCa(join(dirs.path, 'ca'));
    const journal = JournalWriter.open(join(dirs.path, 'journal.ndjson'));
    const capture = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dirname(journal.path)),
      answers: {
        hosts: { 'api.vendor.test': { status: 200, body: 'ok' } },
        otherwise: 'not-found',
      },
    });
    const tunnel = async (host: string, port: number) =>
      (
        await SocksClient.createConnection({
          proxy: { host: '127.0.0.1', port: capture.port, type: 5 },
          command: 'connect',
          destination: { host, port },
        })
      ).socket;
    try {
      // By name (SOCKS5 domain address): plain HTTP.
      expect(
        await ask(
          await tunnel('api.vendor.test', 80),
          `GET /register?imei=${IMEI} HTTP/1.1\r\nHost: api.vendor.test\r\n\r\n`,
        ),
      ).to.equal('HTTP/1.1 200 OK');
      // By address, as a VPN sees a flow (a TEST-NET-3 address: the capture answers it itself),
      // HTTPS inside, its name from the SNI and the Host header.
      const raw = await tunnel('203.0.113.7', 443);
      const secure = tlsConnect({ socket: raw, servername: 'api.vendor.test', ca: ca.certPem });
      await new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', () => resolve());
        secure.once('error', reject);
      });
      expect(
        await ask(
          secure as unknown as Socket,
          `POST /hello HTTP/1.1\r\nHost: api.vendor.test\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`,
        ),
      ).to.equal('HTTP/1.1 200 OK');
      await capture.waitQuiet(100, 5000);
    } finally {
      await capture.stop();
      journal.close();
    }
    const exchanges = (await readJournalAll(journal.path)).flatMap((record) =>
      record.type === 'exchange' ? [record.exchange] : [],
    );
    expect(exchanges.map((exchange) => exchange.request.url)).to.deep.equal([
      `http://api.vendor.test/register?imei=${IMEI}`,
      'https://api.vendor.test/hello',
    ]);
    // The address the phone connected to is kept when the tunnel named one: what ties the
    // exchange to the app that opened the connection (the vpn route's packet dump).
    expect(exchanges.map((exchange) => exchange.destination)).to.deep.equal([
      undefined,
      { address: '203.0.113.7', port: 443 },
    ]);
  });

  it('records a tunnelled connection that is not HTTP as unreadable, making the verdict before consent inconclusive', async () => {
    const ca = await loadOrCreateCa(join(dirs.path, 'ca'));
    const journal = pushJournal('xmpp');
    const capture = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dirname(journal.path)),
      answers: { hosts: {}, otherwise: 'not-found' },
    });
    try {
      const { socket } = await SocksClient.createConnection({
        proxy: { host: '127.0.0.1', port: capture.port, type: 5 },
        command: 'connect',
        destination: { host: '203.0.113.7', port: 5222 },
      });
      // A push channel's XMPP stream: the proxy cannot read it, and says so.
      await ask(socket, "<?xml version='1.0'?><stream:stream to='chat.vendor.test'>");
      await capture.waitQuiet(100, 5000);
    } finally {
      await capture.stop();
      journal.append({ type: 'mark', mark: { type: 'consent', name: 'push', at: Date.now() } });
      journal.append({ type: 'run-end', at: Date.now() });
      journal.close();
    }
    const failures = (await readJournalAll(journal.path)).flatMap((record) =>
      record.type === 'tls-failure' ? [record.failure] : [],
    );
    expect(
      failures.map(({ host, port, cause, destination }) => ({ host, port, cause, destination })),
    ).to.deep.equal([
      {
        host: '203.0.113.7',
        port: 5222,
        cause: 'not-http',
        destination: { address: '203.0.113.7', port: 5222 },
      },
    ]);
    const { result } = await analyseJournal(journal.path);
    const consent = result.verdicts.find((v) => v.rule === 'consent')!;
    expect(consent.status).to.equal('inconclusive');
    expect(coverageLine(result)).to.match(/1 connection neither HTTP nor TLS, unreadable/);
  });

  it('online, passes a tunnel that is not HTTP on to its server and records and scans its bytes both ways', async () => {
    const ca = await loadOrCreateCa(join(dirs.path, 'ca'));
    const journal = pushJournal('raw');
    // The push service, on loopback: it greets back once it has the registration.
    const server = createServer((socket) => socket.once('data', () => socket.end('<registered/>')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const capture = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dirname(journal.path)),
      answers: { hosts: {}, otherwise: 'pass-through' },
      // The push service is on this host's loopback, which a phone may not reach unless allowed.
      destinations: { allow: ['127.0.0.0/8'] },
    });
    let answer = '';
    try {
      const { socket } = await SocksClient.createConnection({
        proxy: { host: '127.0.0.1', port: capture.port, type: 5 },
        command: 'connect',
        destination: { host: '127.0.0.1', port },
      });
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.write(`<register imei='${IMEI}'/>`);
      await closed;
      await capture.waitQuiet(100, 5000);
    } finally {
      await capture.stop();
      server.close();
      journal.append({ type: 'mark', mark: { type: 'consent', name: 'push', at: Date.now() } });
      journal.append({ type: 'run-end', at: Date.now() });
      journal.close();
    }
    expect(answer).to.equal('<registered/>');
    const chunks = (await readJournalAll(journal.path)).flatMap((record) =>
      record.type === 'exchange' && record.exchange.tcp ? [record.exchange] : [],
    );
    expect(
      chunks.map((c) => [
        c.tcp!.direction,
        c.request.url,
        c.request.body.encoding === 'utf8' ? c.request.body.data : '',
      ]),
    ).to.deep.equal([
      ['sent', `tcp://127.0.0.1:${port}`, `<register imei='${IMEI}'/>`],
      ['received', `tcp://127.0.0.1:${port}`, '<registered/>'],
    ]);
    const { result } = await analyseJournal(journal.path);
    expect(result.findings.map((f) => [f.kind, f.where, f.beforeConsent])).to.deep.equal([
      ['imei', 'tcp-sent', true],
    ]);
    expect(result.unreadable).to.deep.equal([]);
  });
});
