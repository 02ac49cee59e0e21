import { expect } from 'chai';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { SocksClient } from 'socks';
import { bodyStore } from '../../src/capture/bodies.ts';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { DestinationPolicy } from '../../src/capture/destinations.ts';
import { CaptureSession } from '../../src/capture/session.ts';
import { readJournalAll } from '../../src/journal/reader.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import type { Exchange } from '../../src/types.ts';
import { tempDir } from '../support/temp.ts';

/** Where the phone-side client connects from: not the proxy's own address (mockttp's loop check). */
const PHONE = '127.0.0.2';

/** Sends `request` from the phone's side to the proxy; resolves with all it answered before closing. */
function exchange(proxyPort: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: proxyPort, localAddress: PHONE });
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.setTimeout(5000, () => socket.destroy());
    socket.write(request);
  });
}

/** A SOCKS tunnel through the proxy, and what came back through it before it closed. */
async function socksTunnel(
  proxyPort: number,
  type: 4 | 5,
  host: string,
  port: number,
): Promise<string> {
  const { socket } = await SocksClient.createConnection({
    proxy: { host: '127.0.0.1', port: proxyPort, type },
    command: 'connect',
    destination: { host, port },
    set_tcp_nodelay: true,
    timeout: 5000,
  });
  return readUntilClosed(socket, '<hello/>\n');
}

/** A CONNECT tunnel through the proxy: once granted, bytes that are not HTTP; all that came back. */
function connectTunnel(proxyPort: number, host: string, port: number): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port: proxyPort, localAddress: PHONE });
  socket.once('data', () => socket.write('<hello/>\n'));
  return readUntilClosed(
    socket,
    `CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`,
  );
}

function readUntilClosed(socket: Socket, send: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => resolve(answer));
    socket.setTimeout(5000, () => socket.destroy());
    socket.write(send);
  });
}

/** The host's first address that is not loopback, where the machine has one. */
function interfaceAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .find((info) => info.family === 'IPv4' && !info.internal)?.address;
}

// A phone that asks the capture (online) for the tester's own machine: a service bound to this
// host's loopback (adb's server, Appium, a database) must never see a connection from it,
// whichever way it asks. The "service" here listens on every address of this host and counts.
describe('destinations the phone may not reach through the capture', function () {
  this.timeout(30_000);
  const dirs = tempDir();
  let service: Server;
  let port: number;
  const seen: string[] = [];
  before(async () => {
    service = createServer((socket) => {
      seen.push(`${socket.localAddress}`);
      socket.end('service here\n');
    });
    await new Promise<void>((resolve) => service.listen(0, '0.0.0.0', resolve));
    port = (service.address() as AddressInfo).port;
  });
  after(() => {
    service.close();
    dirs.remove();
  });

  async function online(name: string, allow?: string[]) {
    const ca = await loadOrCreateCa(join(dirs.path, 'ca'));
    const journal = JournalWriter.open(join(dirs.path, `${name}.ndjson`));
    const capture = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dirname(journal.path)),
      answers: { hosts: {}, otherwise: 'pass-through' },
      ...(allow ? { destinations: { allow } } : {}),
    });
    return { capture, journal };
  }

  const address = interfaceAddress();
  const rows: { how: string; ask: (proxyPort: number) => Promise<string>; target: RegExp }[] = [
    {
      how: 'CONNECT 127.0.0.1',
      ask: (p) =>
        exchange(p, `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`),
      target: /^127\.0\.0\.1$/,
    },
    {
      how: 'CONNECT localhost',
      ask: (p) =>
        exchange(p, `CONNECT localhost:${port} HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`),
      target: /^localhost$/,
    },
    {
      how: 'CONNECT 127.1 (a shorthand that resolves to loopback)',
      ask: (p) => exchange(p, `CONNECT 127.1:${port} HTTP/1.1\r\nHost: 127.1:${port}\r\n\r\n`),
      target: /^127\.1$/,
    },
    {
      how: 'CONNECT to the metadata address 169.254.169.254',
      ask: (p) =>
        exchange(p, `CONNECT 169.254.169.254:80 HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n`),
      target: /^169\.254\.169\.254$/,
    },
    {
      how: 'CONNECT to a private network that is not the phone’s',
      ask: (p) =>
        exchange(p, `CONNECT 10.255.255.1:${port} HTTP/1.1\r\nHost: 10.255.255.1\r\n\r\n`),
      target: /^10\.255\.255\.1$/,
    },
    {
      how: 'an absolute-URL GET http://127.0.0.1',
      ask: (p) =>
        exchange(
          p,
          `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
        ),
      target: /^127\.0\.0\.1$/,
    },
    {
      how: 'a WebSocket upgrade to http://localhost',
      ask: (p) =>
        exchange(
          p,
          `GET http://localhost:${port}/socket HTTP/1.1\r\nHost: localhost:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      target: /^localhost$/,
    },
    {
      how: 'SOCKS5 to 127.0.0.1',
      ask: (p) => socksTunnel(p, 5, '127.0.0.1', port),
      target: /^127\.0\.0\.1$/,
    },
    {
      how: 'SOCKS5 to localhost by name',
      ask: (p) => socksTunnel(p, 5, 'localhost', port),
      target: /^localhost$/,
    },
    {
      how: 'SOCKS4a to localhost',
      ask: (p) => socksTunnel(p, 4, 'localhost', port),
      target: /^localhost$/,
    },
    ...(address
      ? [
          {
            how: `CONNECT to this host's interface address ${address}`,
            ask: (p: number) =>
              exchange(
                p,
                `CONNECT ${address}:${port} HTTP/1.1\r\nHost: ${address}:${port}\r\n\r\n`,
              ),
            target: new RegExp(`^${address.replace(/\./g, '\\.')}$`),
          },
        ]
      : []),
  ];

  for (const row of rows) {
    it(`refuses ${row.how}: the service never sees a connection, the journal says why`, async () => {
      seen.length = 0;
      const { capture, journal } = await online(row.how.replace(/\W+/g, '-'));
      let answer: string;
      try {
        answer = await row.ask(capture.port);
        await capture.waitQuiet(100, 3000);
      } finally {
        await capture.stop();
        journal.close();
      }
      expect(answer).not.to.include('service here');
      if (!row.how.startsWith('SOCKS')) expect(answer).to.match(/^HTTP\/1\.1 403 /);
      expect(seen, 'connections the service accepted').to.deep.equal([]);
      const blocked = (await readJournalAll(journal.path)).flatMap((record) =>
        record.type === 'exchange' && record.exchange.error?.startsWith('blocked destination')
          ? [record.exchange]
          : [],
      );
      expect(blocked).to.have.length(1);
      const [refused] = blocked as [Exchange];
      expect(refused.host).to.match(row.target);
      expect(refused.response?.status).to.equal(403);
      expect(refused.error).to.include('--allow-destination');
    });
  }

  it('lets a tester allow a loopback destination with --allow-destination', async () => {
    seen.length = 0;
    const { capture, journal } = await online('allowed', ['127.0.0.0/8']);
    let viaConnect: string;
    let viaSocks: string;
    try {
      viaConnect = await connectTunnel(capture.port, '127.0.0.1', port);
      viaSocks = await socksTunnel(capture.port, 5, '127.0.0.1', port);
      await capture.waitQuiet(100, 3000);
    } finally {
      await capture.stop();
      journal.close();
    }
    expect(viaConnect).to.match(/^HTTP\/1\.1 200 /);
    expect(viaConnect).to.include('service here');
    expect(viaSocks).to.include('service here');
    expect(seen).to.have.length(2);
  });

  it('allows the phone’s own network and the internet, refuses other private networks', async () => {
    const policy = new DestinationPolicy({ phoneAddresses: ['127.0.0.2'] });
    // 127/8 is the phone's "network" here, but it is this host's loopback: still refused.
    expect(await policy.refusal('127.0.0.2')).to.match(/loopback/);
    expect(await policy.refusal('192.168.77.3')).to.match(/private network/);
    expect(await policy.refusal('[::1]')).to.match(/loopback/);
    expect(await policy.refusal('::ffff:127.0.0.1')).to.match(/loopback/);
    expect(await policy.refusal('0.0.0.0')).to.match(/unspecified/);
    expect(await policy.refusal('93.184.216.34')).to.equal(undefined);
    const allowed = new DestinationPolicy({ allow: ['192.168.77.0/24'] });
    expect(await allowed.refusal('192.168.77.3')).to.equal(undefined);
    expect(() => new DestinationPolicy({ allow: ['not-an-address'] })).to.throw(
      /--allow-destination not-an-address/,
    );
  });
});
