import { expect } from 'chai';
import type { InlineBody } from '../../src/types.ts';
import { bodyStore } from '../../src/capture/bodies.ts';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { CaptureSession } from '../../src/capture/session.ts';
import { PhonehomeError } from '../../src/errors.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import { tempDir } from '../support/temp.ts';

/** Resolves with 'connected' or the error code; a connection destroyed by the server is 'closed'. */
function tryConnect(host: string, port: number, localAddress?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    socket.setTimeout(2000);
    socket.on('connect', () => {
      // Ask for something: a refused client is closed by the server before any answer.
      socket.write('GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\n\r\n');
    });
    socket.on('data', () => {
      socket.destroy();
      resolve('answered');
    });
    socket.on('close', () => resolve('closed'));
    socket.on('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function nonLoopbackIPv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return undefined;
}

describe('the capture proxy listens on loopback only', function () {
  this.timeout(20_000);
  const dirs = tempDir();
  let ca: Awaited<ReturnType<typeof loadOrCreateCa>>;
  let session: CaptureSession | undefined;
  let journal: JournalWriter | undefined;
  const start = async (
    options: {
      host?: string;
      allowedClients?: string[];
      idleTimeoutMs?: number;
      headersTimeoutMs?: number;
    } = {},
  ) => {
    journal = JournalWriter.open(join(dirs.path, `journal-${Date.now()}-${Math.random()}.ndjson`));
    session = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dirname(journal.path)),
      answers: { hosts: {}, otherwise: 'not-found' },
      ...options,
    });
    return session;
  };

  before(async () => {
    ca = await loadOrCreateCa(join(dirs.path, 'ca'));
  });
  afterEach(async () => {
    await session?.stop();
    journal?.close();
    session = undefined;
  });
  after(() => dirs.remove());

  it('answers on 127.0.0.1', async () => {
    const proxy = await start();
    expect(proxy.proxyUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await tryConnect('127.0.0.1', proxy.port)).to.equal('answered');
  });

  it("refuses connections to this host's other addresses", async function () {
    const lan = nonLoopbackIPv4();
    if (!lan) this.skip(); // a machine with loopback only has no other address to test
    const proxy = await start();
    expect(await tryConnect(lan!, proxy.port)).to.equal('ECONNREFUSED');
  });

  it('closes connections from clients that are not allowed', async () => {
    const proxy = await start({ host: '127.0.0.1', allowedClients: ['127.0.0.2'] });
    expect(await tryConnect('127.0.0.1', proxy.port, '127.0.0.1')).to.equal('closed');
    expect(await tryConnect('127.0.0.1', proxy.port, '127.0.0.2')).to.equal('answered');
  });

  it('will not listen on a LAN address without an allowed client', async () => {
    try {
      await start({ host: '0.0.0.0' });
      expect.fail('started an open relay');
    } catch (error) {
      expect((error as PhonehomeError).code).to.equal('PROXY_OPEN_RELAY');
      expect((error as Error).message).to.include('--client');
    }
  });

  it('checks the resolved address, not the name: a name that only starts with 127. is refused', async () => {
    try {
      await start({ host: '127.phonehome.invalid' });
      expect.fail('listened on a name it could not check');
    } catch (error) {
      expect((error as PhonehomeError).code).to.equal('USAGE_HOST');
      expect((error as PhonehomeError).kind, 'exit 2').to.equal('usage');
    }
    const proxy = await start({ host: 'localhost' });
    expect(proxy.proxyUrl).to.match(/^http:\/\/(127\.0\.0\.1|\[::1\]):\d+$/);
  });

  it('refusing an open relay is a usage error (exit 2)', async () => {
    const error = await start({ host: '0.0.0.0' }).catch((e: unknown) => e);
    expect((error as PhonehomeError).kind).to.equal('usage');
  });

  it('closes a connection that sends nothing (slowloris), and keeps answering others', async () => {
    const proxy = await start({ idleTimeoutMs: 300 });
    const silent = connect(proxy.port, '127.0.0.1');
    const closedAfter = await new Promise<number>((resolve) => {
      const opened = Date.now();
      silent.on('close', () => resolve(Date.now() - opened));
      silent.on('error', () => {});
    });
    expect(closedAfter).to.be.at.least(250);
    expect(await tryConnect('127.0.0.1', proxy.port)).to.equal('answered');
  });

  it('answers and closes connections that dribble their headers (slowloris), 20 at once', async () => {
    const proxy = await start({ headersTimeoutMs: 1000 });
    const dribble = () =>
      new Promise<string>((resolve) => {
        const socket = connect(proxy.port, '127.0.0.1');
        let answer = '';
        const tick = setInterval(() => socket.write('a'), 100);
        socket.on('connect', () =>
          socket.write('GET http://slow.example.test/ HTTP/1.1\r\nX-Slow: '),
        );
        socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
        socket.on('error', () => {});
        socket.on('close', () => {
          clearInterval(tick);
          resolve(answer.split('\r\n')[0] ?? '');
        });
        // Far past the time-out, yet never idle: only the header time-out can close it.
        setTimeout(() => socket.destroy(), 15_000);
      });
    const answers = await Promise.all(Array.from({ length: 20 }, dribble));
    // Node raises a request time-out; mockttp answers every client error 400, then closes.
    expect(answers).to.deep.equal(Array(20).fill('HTTP/1.1 400 Bad Request'));
    expect(await tryConnect('127.0.0.1', proxy.port)).to.equal('answered');
  });

  it('lets a body arrive slowly past the header time-out, and journals it whole', async () => {
    const proxy = await start({ headersTimeoutMs: 500 });
    const status = await new Promise<string>((resolve) => {
      const socket = connect(proxy.port, '127.0.0.1');
      let answer = '';
      socket.on('connect', async () => {
        socket.write(
          'POST http://upload.example.test/slow HTTP/1.1\r\nHost: upload.example.test\r\nContent-Length: 10\r\n\r\n',
        );
        for (let i = 0; i < 10; i++) {
          await new Promise((wait) => setTimeout(wait, 200));
          socket.write(String(i));
        }
      });
      socket.on('data', (chunk) => {
        answer += chunk.toString('latin1');
        socket.destroy();
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    });
    expect(status).to.equal('HTTP/1.1 404 Not Found');
    await proxy.stop();
    const { readJournalAll } = await import('../../src/journal/reader.ts');
    const bodies = (await readJournalAll(journal!.path)).flatMap((record) =>
      record.type === 'exchange' ? [(record.exchange.request.body as InlineBody).data] : [],
    );
    expect(bodies).to.deep.equal(['0123456789']);
  });
});
