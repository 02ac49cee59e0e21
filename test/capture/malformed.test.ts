import { expect } from 'chai';
import { createDetector } from '../../src/detect/detector.ts';
import { bodyStore } from '../../src/capture/bodies.ts';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { CaptureSession } from '../../src/capture/session.ts';
import { readJournalAll } from '../../src/journal/reader.ts';
import type { ExchangeRecord } from '../../src/journal/records.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import { tempDir } from '../support/temp.ts';
import { FAMILIES, HOST, IMEI, type MalformedCase } from './malformed-cases.ts';

/** How long a case that got no answer holds its connection, unless it says otherwise. */
const DEFAULT_DEADLINE_MS = 400;

/** What one case saw: the first bytes the proxy answered (if any), and whether it closed. */
interface Outcome {
  answer: string;
  closed: boolean;
}

function write(socket: Socket | import('node:tls').TLSSocket, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.write(data, () => resolve());
  });
}

/**
 * Plays one case against the proxy over a raw socket and resolves when the proxy answered,
 * closed the connection, or the case's deadline passed — never rejects: a hostile client cares
 * nothing for errors, and whether the proxy survived is checked afterwards.
 */
function play(port: number, testCase: MalformedCase): Promise<Outcome> {
  return new Promise((resolve) => {
    const deadline = testCase.deadlineMs ?? DEFAULT_DEADLINE_MS;
    let answer = '';
    let closed = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const socket = connect(port, '127.0.0.1');
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ answer, closed });
    };
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(finish, ms);
    };
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
    const inTunnel = testCase.tunnel !== undefined || testCase.tls !== undefined;
    let tunnelOpen = false;
    socket.on('data', (chunk: Buffer) => {
      if (tunnelOpen) return;
      answer += chunk.toString('latin1');
      if (!inTunnel) return finish();
      if (!/^HTTP\/1\.[01] 200/.test(answer)) return finish();
      tunnelOpen = true;
      void openTunnel();
    });
    const openTunnel = async () => {
      arm(deadline);
      if (testCase.tunnel) {
        for (const data of testCase.tunnel) await write(socket, data);
        socket.once('data', finish);
        return;
      }
      const tls = testCase.tls!;
      const secure = tlsConnect({
        socket,
        servername: tls.servername,
        ALPNProtocols: tls.alpn,
        rejectUnauthorized: false,
      });
      secure.on('error', finish);
      secure.on('secureConnect', async () => {
        for (const data of tls.send) await write(secure, data);
        if (tls.send.length === 0) return finish();
      });
      secure.on('data', finish);
      secure.on('close', finish);
    };
    socket.on('connect', async () => {
      if (deadline === 0) return finish();
      for (const data of testCase.send) await write(socket, data);
      arm(deadline);
    });
  });
}

async function playAll(port: number, cases: MalformedCase[], concurrency: number) {
  let next = 0;
  const worker = async () => {
    while (next < cases.length) await play(port, cases[next++]!);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** A well-formed request through the proxy; the capture answers unconfigured hosts 404. */
async function normalRequest(port: number, path: string): Promise<string> {
  const { answer } = await play(port, {
    family: 'check',
    name: path,
    send: [Buffer.from(`GET http://${HOST}${path} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`)],
    deadlineMs: 10_000,
  });
  return answer.split('\r\n')[0] ?? '';
}

// The issue measured this by hand: thousands of hostile inputs of every kind a phone (or anything
// on its network) could send. Each family is played against one real capture, many connections at
// once; afterwards the proxy must still answer and record a normal request, and the journal must
// read. A case that breaks the proxy fails the family it belongs to, by name of the family.
describe('the capture against malformed input', function () {
  this.timeout(600_000);
  const dirs = tempDir();
  let capture: CaptureSession;
  let journal: JournalWriter;
  const logs: string[] = [];
  const played: MalformedCase[] = [];

  // mockttp tells the console of every connection it drops (aborted requests, bad TLS): a few
  // thousand lines here. They are kept aside while the cases play, and shown if a test fails.
  const consoleLines: string[] = [];
  const saved = { log: console.log, warn: console.warn, error: console.error };
  const keep = (...args: unknown[]) => void consoleLines.push(args.map(String).join(' '));

  before(async () => {
    Object.assign(console, { log: keep, warn: keep, error: keep });
    const ca = await loadOrCreateCa(join(dirs.path, 'ca'));
    journal = JournalWriter.open(join(dirs.path, 'journal.ndjson'));
    capture = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dirname(journal.path)),
      answers: { hosts: {}, otherwise: 'not-found' },
      log: (line) => logs.push(line),
    });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      saved.error(`mockttp's console during the cases (last 40 of ${consoleLines.length}):`);
      saved.error(consoleLines.slice(-40).join('\n'));
    }
  });
  after(async () => {
    Object.assign(console, saved);
    await capture?.stop();
    journal?.close();
    dirs.remove();
  });

  it('has at least 2,000 cases, each with a unique name', () => {
    const all = FAMILIES.flatMap((family) => family.cases());
    expect(all.length).to.be.at.least(2000);
    const names = all.map((c) => `${c.family}: ${c.name}`);
    expect(new Set(names).size).to.equal(names.length);
  });

  for (const family of FAMILIES) {
    it(`stays up and records the next request after: ${family.name}`, async () => {
      const cases = family.cases();
      await playAll(capture.port, cases, family.concurrency);
      played.push(...cases);
      const path = `/after/${family.name.replace(/[^a-z0-9]+/gi, '-')}?imei=${IMEI}`;
      expect(await normalRequest(capture.port, path)).to.equal('HTTP/1.1 404 Not Found');
    });
  }

  it('journaled every normal request and every case that must be, and the journal reads', async () => {
    await capture.waitQuiet(200, 10_000);
    // A reset stream or a phone gone mid-body is not left "in flight": the settle between steps
    // must not wait for it.
    expect(capture.counters.inFlight, 'requests still in flight').to.equal(0);
    await capture.stop();
    const records = await readJournalAll(journal.path);
    const exchanges = records
      .filter((record): record is ExchangeRecord => record.type === 'exchange')
      .map(({ exchange }) => exchange);
    const urls = new Set(exchanges.map((e) => e.request.url));
    for (const family of FAMILIES) {
      const path = `/after/${family.name.replace(/[^a-z0-9]+/gi, '-')}?imei=${IMEI}`;
      expect(urls.has(`http://${HOST}${path}`), `the request after ${family.name}`).to.equal(true);
    }
    const expected = played.filter((c) => c.journaled);
    const detector = createDetector([]);
    expect(expected.length).to.be.at.least(30);
    for (const testCase of expected) {
      const { url, unscanned } = testCase.journaled!;
      const found = exchanges.filter((e) => e.request.url === url);
      expect(found, `${testCase.family}: ${testCase.name} journaled as ${url}`).to.have.length(1);
      // What a user relies on is what the scan says: a body over the inline limit is kept in a
      // file, decoded (within the budget) only when it is scanned.
      const scanned = await detector.scanAsync(found[0]!, 0);
      const bodyUnscanned = scanned.unscanned.some(({ where }) => where.startsWith('request-body'));
      expect(bodyUnscanned, `${testCase.name} unscanned`).to.equal(unscanned);
    }
    // Nothing on the recording path threw: its guards log what they catch.
    expect(logs.filter((line) => /handler failed/.test(line))).to.deep.equal([]);
  });
});
