import { expect } from 'chai';
import { bodyStore } from '../../src/capture/bodies.ts';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { CaptureSession } from '../../src/capture/session.ts';
import { MAX_DECODED } from '../../src/codec/compression.ts';
import { readJournalAll } from '../../src/journal/reader.ts';
import type { ExchangeRecord } from '../../src/journal/records.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import { analyseJournal } from '../../src/verdict/analyse.ts';
import { tempDir } from '../support/temp.ts';

const IMEI = '865432101234564';

/** POSTs `body` through the proxy to an unconfigured host (answered 404) and waits for the answer. */
function post(port: number, path: string, body: Buffer, headers: Record<string, string> = {}) {
  return new Promise<number>((resolve, reject) => {
    const sent = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `http://upload.vendor.test${path}`,
        headers,
      },
      (response) => response.resume().on('end', () => resolve(response.statusCode ?? 0)),
    );
    sent.on('error', reject);
    sent.end(body);
  });
}

// A hostile or just large body never crashes the capture and never goes silently unscanned: the
// request (URL, headers) is always journaled, and what was not scanned makes the verdict
// inconclusive instead of a pass.
describe('bodies past the decoding budget', function () {
  this.timeout(120_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  it('journals every request, marks what it could not scan, and says inconclusive', async () => {
    const ca = await loadOrCreateCa(join(dirs.path, 'ca'));
    const journal = JournalWriter.open(join(dirs.path, 'journal.ndjson'));
    journal.append({
      type: 'run-start',
      version: 1,
      at: Date.now(),
      runId: 'budgets',
      scenario: 'capture',
      scenarioTitle: 'budgets',
      device: { id: 'test', kind: 'wifi' },
      identifiers: { imei: ['356938035643809'] },
      consents: [{ name: 'consent', covers: 'all' }],
      forbiddenHosts: [],
      versions: {},
    });
    const capture = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dirname(journal.path)),
      answers: { hosts: {}, otherwise: 'not-found' },
    });
    const zeros = Buffer.alloc(MAX_DECODED + 1024 * 1024);
    try {
      expect(
        await post(capture.port, `/gzip?imei=${IMEI}`, gzipSync(zeros), {
          'content-encoding': 'gzip',
        }),
      ).to.equal(404);
      const br = brotliCompressSync(zeros, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });
      expect(await post(capture.port, '/br', br, { 'content-encoding': 'br' })).to.equal(404);
      expect(await post(capture.port, '/small', Buffer.from(`imei=${IMEI}`))).to.equal(404);
      await capture.waitQuiet(50, 10_000);
    } finally {
      await capture.stop();
      journal.append({ type: 'run-end', at: Date.now() });
      journal.close();
    }
    const exchanges = (await readJournalAll(journal.path))
      .filter((record): record is ExchangeRecord => record.type === 'exchange')
      .map(({ exchange }) => exchange);
    const byPath = new Map(exchanges.map((e) => [new URL(e.request.url).pathname, e]));
    expect([...byPath.keys()].sort()).to.deep.equal(['/br', '/gzip', '/small']);
    expect(byPath.get('/gzip')!.request.url).to.include(IMEI);
    expect(byPath.get('/gzip')!.request.body.unscanned).to.match(
      /^gzip body decoding past 67108864 bytes/,
    );
    expect(byPath.get('/br')!.request.body.unscanned).to.match(/^br body decoding past/);
    expect(byPath.get('/small')!.request.body).to.deep.equal({
      encoding: 'utf8',
      data: `imei=${IMEI}`,
    });

    // Nothing identifying was found (the IMEI sent is not the run's), yet it is not a pass. This
    // capture had no phone to send a route probe, which is said first; the cut bodies are said too.
    const { result } = await analyseJournal(journal.path);
    const consent = result.verdicts.find((v) => v.rule === 'consent')!;
    expect(consent.status).to.equal('inconclusive');
    expect(consent.unscanned).to.have.length(2);
    expect(consent.summary).to.equal('inconclusive: route not proven: the run sent no route probe');
    expect(consent.message.split('\n').at(-1)).to.equal(
      'and 2 body part(s) before it were not scanned (over the recording or decoding budget)',
    );
  });
});
