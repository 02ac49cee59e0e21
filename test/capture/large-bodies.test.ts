import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bodyStore } from '../../src/capture/bodies.ts';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { CaptureSession } from '../../src/capture/session.ts';
import { createDetector } from '../../src/detect/detector.ts';
import { resolveScanInput, scanFile } from '../../src/detect/scan-file.ts';
import { readJournalAll } from '../../src/journal/reader.ts';
import type { ExchangeRecord, JournalRecord } from '../../src/journal/records.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import type { Exchange, FileBody, Identifier } from '../../src/types.ts';
import { tempDir } from '../support/temp.ts';

const IMEI = '865432101234564';
const IDENTIFIERS: Identifier[] = [
  { kind: 'imei', value: IMEI, label: 'IMEI #1', source: 'devices.json' },
];
const MiB = 1024 * 1024;

/** Random bytes that never hold a 15-digit run by chance (so only the planted IMEI is found). */
function noise(size: number): Buffer {
  const bytes = randomBytes(size);
  for (let i = 0; i < bytes.length; i++)
    if (bytes[i]! >= 0x30 && bytes[i]! <= 0x39) bytes[i] = 0x41;
  return bytes;
}

/** `noise` with the IMEI written at `at`. */
function planted(size: number, at: number): Buffer {
  const bytes = noise(size);
  bytes.write(IMEI, at, 'latin1');
  return bytes;
}

function send(
  port: number,
  method: string,
  url: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const sent = request({ host: '127.0.0.1', port, method, path: url, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }),
      );
    });
    sent.on('error', reject);
    sent.end(body);
  });
}

// Bodies of any size are recorded whole with bounded memory: past 1 MiB each one streams to a
// file of its own in the run folder as it arrives, and the detector streams it back. (The 2 GB
// figures are `npm run bench`'s; these sizes keep the test quick.)
describe('bodies too large for a journal line', function () {
  this.timeout(120_000);
  const dirs = tempDir();
  let journal: JournalWriter;
  let capture: CaptureSession;
  let upstream: Server;
  let upstreamPort: number;
  let uploaded = 0;
  const download = planted(6 * MiB, 6 * MiB - 20);
  let records: JournalRecord[];
  const exchanges = () =>
    records
      .filter((record): record is ExchangeRecord => record.type === 'exchange')
      .map(({ exchange }) => exchange);
  /** The journal's lines as written (readJournal folds request records into their exchanges). */
  const lines = (): JournalRecord[] =>
    readFileSync(journal.path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as JournalRecord);
  const byPath = (path: string): Exchange =>
    exchanges().find((exchange) => exchange.request.url.endsWith(path))!;

  before(async () => {
    upstream = createServer((incoming, outgoing) => {
      let size = 0;
      incoming.on('data', (chunk: Buffer) => (size += chunk.length));
      incoming.on('end', () => {
        uploaded = size;
        if (incoming.method === 'GET') outgoing.end(download);
        else outgoing.end(`got ${size}`);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamPort = (upstream.address() as AddressInfo).port;
    const ca = await loadOrCreateCa(join(dirs.path, 'ca'));
    journal = JournalWriter.open(join(dirs.path, 'journal.ndjson'));
    capture = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dirname(journal.path)),
      answers: {
        hosts: { 'upload.vendor.test': { status: 200, body: 'thanks' } },
        otherwise: 'pass-through',
      },
      // The "real" server is on this host's loopback, which a phone may not reach unless allowed.
      destinations: { allow: ['127.0.0.0/8'] },
    });
  });
  after(async () => {
    await capture?.stop();
    journal?.close();
    upstream?.close();
    dirs.remove();
  });

  it('streams an upload to a file, journaled (request first) before the phone gets its answer', async () => {
    const body = planted(5 * MiB, 5 * MiB - 15);
    const answer = await send(capture.port, 'POST', 'http://upload.vendor.test/big', body, {
      'content-type': 'application/octet-stream',
    });
    expect(answer.status).to.equal(200);
    expect(answer.body.toString()).to.equal('thanks');
    // The request record was written before the answer left: it is in the journal already, whole.
    const request = lines().find(
      (record) => record.type === 'request' && record.exchange.request.url.endsWith('/big'),
    );
    expect(request?.type === 'request' && request.exchange.request.body).to.include({
      encoding: 'file',
      size: body.length,
      complete: true,
    });
    await capture.waitQuiet(50, 10_000);
    records = await readJournalAll(journal.path);
    const recorded = byPath('/big').request.body as FileBody;
    expect(recorded).to.include({ encoding: 'file', size: body.length, complete: true });
    expect(readFileSync(recorded.file).equals(body)).to.equal(true);
    expect(statSync(recorded.file).mode & 0o777).to.equal(0o600);
    expect(statSync(dirname(recorded.file)).mode & 0o777).to.equal(0o700);
  });

  it('finds an identifier in the last bytes of a streamed upload, at its offset', async () => {
    const scanned = await createDetector(IDENTIFIERS).scanAsync(byPath('/big'), 0);
    // The filler is random bytes, which the opaque check rightly reports; no budget cut anything.
    expect(scanned.unscanned.map((u) => [u.where, u.reason.split(':')[0]])).to.deep.equal([
      ['request-body', 'opaque'],
    ]);
    expect(scanned.findings.map((f) => [f.where, f.offset])).to.deep.equal([
      ['request-body', 5 * MiB - 15],
    ]);
  });

  it('passes a large upload and download through whole, recording both', async () => {
    const body = planted(3 * MiB, 100);
    const up = await send(capture.port, 'POST', `http://127.0.0.1:${upstreamPort}/up`, body);
    expect(up.body.toString()).to.equal(`got ${body.length}`);
    expect(uploaded).to.equal(body.length);
    const down = await send(capture.port, 'GET', `http://127.0.0.1:${upstreamPort}/down`);
    expect(down.body.equals(download)).to.equal(true);
    await capture.waitQuiet(50, 10_000);
    records = await readJournalAll(journal.path);
    // Journaled while the upload still streamed on to the server: named, but not complete yet.
    const early = lines().find(
      (record) => record.type === 'request' && record.exchange.request.url.endsWith('/up'),
    );
    expect(early?.type === 'request' && early.exchange.request.body).to.include({
      encoding: 'file',
      complete: false,
    });
    const upBody = byPath('/up').request.body as FileBody;
    expect(readFileSync(upBody.file).equals(body)).to.equal(true);
    const downBody = byPath('/down').response!.body as FileBody;
    expect(downBody).to.include({ encoding: 'file', size: download.length, complete: true });
    expect(readFileSync(downBody.file).equals(download)).to.equal(true);
    const detector = createDetector(IDENTIFIERS);
    expect(
      (await detector.scanAsync(byPath('/down'), 0)).findings.map((f) => f.where),
    ).to.deep.equal(['response-body']);
    expect(
      (await detector.scanAsync(byPath('/up'), 0)).findings.map((f) => f.offset),
    ).to.deep.equal([100]);
  });

  it('undoes a large gzip body as a stream, and stops a bomb at the budget, saying so', async () => {
    const text = planted(4 * MiB, 4 * MiB - 40);
    const gzip = gzipSync(text, { level: 1 });
    expect(gzip.length).to.be.above(MiB);
    await send(capture.port, 'POST', 'http://upload.vendor.test/gzip', gzip, {
      'content-encoding': 'gzip',
    });
    // 32 members of 64 MiB of zeros: 2 GiB from ~2 MB, past 32 times its size.
    const member = gzipSync(Buffer.alloc(64 * MiB));
    const bomb = Buffer.concat(Array.from({ length: 32 }, () => member));
    await send(capture.port, 'POST', `http://upload.vendor.test/bomb?imei=${IMEI}`, bomb, {
      'content-encoding': 'gzip',
    });
    await capture.waitQuiet(50, 10_000);
    records = await readJournalAll(journal.path);
    const detector = createDetector(IDENTIFIERS);
    const gzipped = await detector.scanAsync(byPath('/gzip'), 0);
    expect(gzipped.unscanned.map((u) => [u.where, u.reason.split(':')[0]])).to.deep.equal([
      ['request-body', 'opaque'],
    ]);
    expect(gzipped.findings.map((f) => [f.where, f.offset])).to.deep.equal([
      ['request-body', 4 * MiB - 40],
    ]);
    const bombed = await detector.scanAsync(byPath(`/bomb?imei=${IMEI}`), 0);
    expect(bombed.findings.map((f) => f.where)).to.deep.equal(['url']);
    expect(bombed.unscanned).to.have.length(1);
    expect(bombed.unscanned[0]!.reason).to.match(/decoding past \d+ bytes .*not scanned/);
  });

  it('scans the journal with `scan`, body files included', async () => {
    const result = await scanFile(resolveScanInput(journal.path), IDENTIFIERS);
    const hosts = new Set(result.findings.map((f) => `${f.where}@${f.offset}`));
    expect(hosts.has(`request-body@${5 * MiB - 15}`)).to.equal(true);
    expect(hosts.has(`response-body@${6 * MiB - 20}`)).to.equal(true);
  });
});

// Large bodies are scanned in overlapping windows: a value across a window's edge lies whole in
// the next window's overlap and is found once, at its offset in the body.
describe('scanning a body in windows', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  after(() => dirs.remove());
  const windowing = { whole: 512 * 1024, window: 256 * 1024, overlap: 64 * 1024 };

  async function scanBody(bytes: Buffer) {
    const store = bodyStore(dirs.path);
    const { fd, file } = store.create(`body-${Math.random().toString(16).slice(2)}`);
    const { writeSync, closeSync } = await import('node:fs');
    writeSync(fd, bytes);
    closeSync(fd);
    const exchange: Exchange = {
      id: 'w',
      startedAt: 0,
      completedAt: 0,
      protocol: 'http',
      host: 'h.test',
      request: {
        method: 'POST',
        url: 'http://h.test/',
        httpVersion: '1.1',
        headers: [],
        body: { encoding: 'file', file: join(dirs.path, file), size: bytes.length, complete: true },
      },
    };
    return createDetector(IDENTIFIERS, { windowing }).scanAsync(exchange, 0);
  }

  for (const at of [
    0,
    256 * 1024 - 7, // across the first window's end
    256 * 1024 - 64 * 1024 - 3, // across the second window's start
    3 * 192 * 1024 - 1,
    2 * MiB - 15, // the very last bytes
  ]) {
    it(`finds the IMEI once at ${at}`, async () => {
      const scanned = await scanBody(planted(2 * MiB, at));
      expect(scanned.findings.map((f) => [f.where, f.offset])).to.deep.equal([
        ['request-body', at],
      ]);
    });
  }

  it('finds nothing in a body without it (one digit off at a window edge)', async () => {
    const bytes = planted(2 * MiB, 256 * 1024 - 7);
    bytes.write('865432101234565', 256 * 1024 - 7, 'latin1');
    expect((await scanBody(bytes)).findings).to.deep.equal([]);
  });
});
