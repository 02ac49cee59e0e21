import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { bodyStore } from '../../src/capture/bodies.ts';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { CaptureSession } from '../../src/capture/session.ts';
import { readJournalAll } from '../../src/journal/reader.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import { tempDir } from '../support/temp.ts';

/** One parsed HTTP/1.1 answer off the wire: status, headers by lower-case name, body. */
interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Reads answers from a raw socket as a client would: each framed by its Content-Length, since
 * an answer without one would end only with the connection.
 */
class Reader {
  private buffered = '';
  closed = false;
  private wake?: () => void;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString('latin1');
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  async next(timeoutMs = 3000): Promise<Answer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffered.indexOf('\r\n\r\n');
      if (end >= 0) {
        const [statusLine = '', ...lines] = this.buffered.slice(0, end).split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = headers['content-length'];
        if (length === undefined)
          throw new Error(`an answer without Content-Length: ${statusLine}`);
        if (this.buffered.length >= end + 4 + Number(length)) {
          const body = this.buffered.slice(end + 4, end + 4 + Number(length));
          this.buffered = this.buffered.slice(end + 4 + Number(length));
          return { status: Number(statusLine.split(' ')[1]), headers, body };
        }
      }
      if (this.closed) throw new Error(`the connection closed; unread: ${this.buffered}`);
      if (Date.now() > deadline) throw new Error(`no whole answer; read: ${this.buffered}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }
}

// A phone's HTTP client keeps its connection and may pipeline: the capture's own answers (canned
// and 404) are framed, in order, on the one connection, which stays open unless the phone closes.
describe('keep-alive and pipelining on the capture’s own answers', function () {
  this.timeout(30_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  async function offline(name: string) {
    const ca = await loadOrCreateCa(join(dirs.path, 'ca'));
    const journal = JournalWriter.open(join(dirs.path, `${name}.ndjson`));
    const capture = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dirname(journal.path)),
      answers: {
        hosts: {
          'api.vendor.test': { status: 200, json: { ok: true } },
          'empty.vendor.test': { status: 204 },
        },
        otherwise: 'not-found',
      },
    });
    return { capture, journal };
  }

  const get = (host: string, path: string, extra = '') =>
    `GET http://${host}${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;

  it('answers 3 pipelined requests in order, each with its Content-Length, and keeps the connection', async () => {
    const { capture, journal } = await offline('pipelined');
    const socket = connect({ host: '127.0.0.1', port: capture.port });
    const reader = new Reader(socket);
    const answers: Answer[] = [];
    try {
      socket.write(
        get('api.vendor.test', '/1') +
          get('other.vendor.test', '/2') +
          get('api.vendor.test', '/3'),
      );
      for (let i = 0; i < 3; i += 1) answers.push(await reader.next());
      // Still open: a fourth request on the same connection is answered.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(reader.closed, 'closed after the pipelined answers').to.equal(false);
      socket.write(get('api.vendor.test', '/4'));
      answers.push(await reader.next());
      await capture.waitQuiet(100, 3000);
    } finally {
      socket.destroy();
      await capture.stop();
      journal.close();
    }
    expect(answers.map((a) => [a.status, a.body])).to.deep.equal([
      [200, '{"ok":true}'],
      [404, 'phonehome: no answer configured for this host\n'],
      [200, '{"ok":true}'],
      [200, '{"ok":true}'],
    ]);
    expect(answers[1]!.headers['content-length']).to.equal('46');
    const urls = (await readJournalAll(journal.path)).flatMap((record) =>
      record.type === 'exchange' ? [record.exchange.request.url] : [],
    );
    expect(urls.sort()).to.deep.equal([
      'http://api.vendor.test/1',
      'http://api.vendor.test/3',
      'http://api.vendor.test/4',
      'http://other.vendor.test/2',
    ]);
  });

  it('closes after answering when the phone asked for Connection: close', async () => {
    const { capture, journal } = await offline('close');
    const socket = connect({ host: '127.0.0.1', port: capture.port });
    const reader = new Reader(socket);
    try {
      socket.write(get('api.vendor.test', '/1', 'Connection: close\r\n'));
      expect((await reader.next()).status).to.equal(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(reader.closed).to.equal(true);
    } finally {
      socket.destroy();
      await capture.stop();
      journal.close();
    }
  });

  it('sends no Content-Length with a 204 and keeps the connection', async () => {
    const { capture, journal } = await offline('no-content');
    const socket = connect({ host: '127.0.0.1', port: capture.port });
    let raw = '';
    socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')));
    try {
      socket.write(get('empty.vendor.test', '/a') + get('empty.vendor.test', '/b'));
      const deadline = Date.now() + 3000;
      while ((raw.match(/HTTP\/1\.1 204/g) ?? []).length < 2 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      socket.destroy();
      await capture.stop();
      journal.close();
    }
    expect(raw.match(/HTTP\/1\.1 204/g)).to.have.length(2);
    expect(raw.toLowerCase()).not.to.include('content-length');
  });
});
