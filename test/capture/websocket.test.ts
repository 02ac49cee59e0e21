import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import WebSocket, { WebSocketServer } from 'ws';
import { bodyStore } from '../../src/capture/bodies.ts';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { CaptureSession } from '../../src/capture/session.ts';
import { createDetector } from '../../src/detect/detector.ts';
import { readJournalAll } from '../../src/journal/reader.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import type { CertificateAuthority, Exchange, Identifier } from '../../src/types.ts';
import { tempDir } from '../support/temp.ts';

const IMEI = '865432101234564';
const IMSI = '460001234567890';
const IDENTIFIERS: Identifier[] = [
  { kind: 'imei', value: IMEI, label: 'IMEI #1', source: 'devices.json' },
  { kind: 'imsi', value: IMSI, label: 'IMSI #1', source: 'devices.json' },
];

/** A WebSocket client talking through the proxy as a phone's would: ws in the clear, wss by CONNECT. */
async function open(port: number, url: string, ca: CertificateAuthority): Promise<WebSocket> {
  const target = new URL(url);
  let socket: Socket;
  if (target.protocol === 'ws:') {
    socket = netConnect(port, '127.0.0.1');
  } else {
    const tunnel = await new Promise<Socket>((resolve, reject) => {
      const connect = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'CONNECT',
        path: `${target.hostname}:443`,
        headers: { host: `${target.hostname}:443` },
      });
      connect.on('connect', (response, raw) =>
        response.statusCode === 200
          ? resolve(raw)
          : reject(new Error(`CONNECT ${response.statusCode}`)),
      );
      connect.on('error', reject);
      connect.end();
    });
    socket = tlsConnect({ socket: tunnel, servername: target.hostname, ca: ca.certPem });
  }
  const ws = new WebSocket(url, { createConnection: () => socket } as WebSocket.ClientOptions);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

function close(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.close();
  });
}

// WebSocket messages are traffic like any other: the handshake is journaled as an exchange, and
// every message, either way, as one of its own at the moment it passed — scanned and judged.
describe('WebSockets through the capture', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  async function capture(otherwise: 'not-found' | 'pass-through') {
    const ca = await loadOrCreateCa(join(dirs.path, 'ca'));
    const journal = JournalWriter.open(join(dirs.path, `${otherwise}-journal.ndjson`));
    const session = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dirname(journal.path)),
      answers: { hosts: {}, otherwise },
      // Online, the "real" server is on this host's loopback, which a phone may not reach unless allowed.
      destinations: { allow: ['127.0.0.0/8'] },
    });
    const exchanges = async (): Promise<Exchange[]> => {
      await session.stop();
      journal.close();
      return (await readJournalAll(journal.path)).flatMap((record) =>
        record.type === 'exchange' ? [record.exchange] : [],
      );
    };
    return { ca, session, exchanges };
  }

  it('records what the phone sends over ws:// and wss://, message by message, and finds the identifiers', async () => {
    const { ca, session, exchanges } = await capture('not-found');
    const plain = await open(session.port, `ws://push.vendor.test/socket?imei=${IMEI}`, ca);
    const before = Date.now();
    plain.send(JSON.stringify({ imsi: IMSI }));
    plain.send(Buffer.from(`\u0000\u0001${IMEI}`, 'latin1'));
    await close(plain);
    const secure = await open(session.port, 'wss://push.vendor.test/secure', ca);
    secure.send(`hello ${IMEI}`);
    await close(secure);
    await session.waitQuiet(100, 5000);
    const all = await exchanges();

    const handshakes = all.filter((e) => !e.websocket);
    expect(handshakes.map((e) => [e.request.url, e.response?.status])).to.deep.equal([
      [`ws://push.vendor.test/socket?imei=${IMEI}`, 101],
      ['wss://push.vendor.test/secure', 101],
    ]);
    const messages = all.filter((e) => e.websocket);
    expect(messages.map((e) => [e.request.url, e.websocket])).to.deep.equal([
      [
        `ws://push.vendor.test/socket?imei=${IMEI}`,
        { stream: handshakes[0]!.id, direction: 'sent', binary: false },
      ],
      [
        `ws://push.vendor.test/socket?imei=${IMEI}`,
        { stream: handshakes[0]!.id, direction: 'sent', binary: true },
      ],
      [
        'wss://push.vendor.test/secure',
        { stream: handshakes[1]!.id, direction: 'sent', binary: false },
      ],
    ]);
    expect(messages[0]!.startedAt).to.be.within(before - 50, Date.now());

    const detector = createDetector(IDENTIFIERS);
    const found = all.flatMap((e, i) =>
      detector.scan(e, i).findings.map((f) => `${f.label} ${f.where}`),
    );
    // The URL's IMEI once, in its handshake (a message does not repeat its socket's URL).
    expect(found).to.deep.equal([
      'IMEI #1 url',
      'IMSI #1 ws-sent',
      'IMEI #1 ws-sent',
      'IMEI #1 ws-sent',
    ]);
  });

  it('passes a socket through to the server, recording both ways', async () => {
    const upstream = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => upstream.once('listening', () => resolve()));
    upstream.on('connection', (peer) =>
      peer.on('message', (data) => peer.send(`echo ${String(data)} imsi=${IMSI}`)),
    );
    const port = (upstream.address() as AddressInfo).port;
    try {
      const { ca, session, exchanges } = await capture('pass-through');
      const ws = await open(session.port, `ws://127.0.0.1:${port}/chat`, ca);
      const answer = new Promise<string>((resolve) =>
        ws.once('message', (data) => resolve(String(data))),
      );
      ws.send('hi');
      expect(await answer).to.equal(`echo hi imsi=${IMSI}`);
      await close(ws);
      await session.waitQuiet(100, 5000);
      const messages = (await exchanges()).filter((e) => e.websocket);
      expect(messages.map((e) => e.websocket!.direction)).to.deep.equal(['sent', 'received']);
      const detector = createDetector(IDENTIFIERS);
      expect(detector.scan(messages[1]!, 1).findings.map((f) => f.where)).to.deep.equal([
        'ws-received',
      ]);
    } finally {
      upstream.close();
    }
  });
});
