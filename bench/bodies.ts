/**
 * `npm run bench:bodies [-- --mb N]`: bodies of any size through the capture, with bounded memory.
 *
 *   npm run bench:bodies              # a 2 GB upload and a 2 GB download (default --mb 2048)
 *   npm run bench:bodies -- --mb 256  # quicker
 *
 * The capture runs in this process; the phone and the server run in a child process (this file
 * again, with --peer-of), so the RSS figures are the capture's alone. The child first moves the
 * same bytes straight between itself and its server (no proxy): that is the baseline, of the same
 * run, against which the proxy's throughput is given. Then:
 *   - upload: POST of N MB to a host the capture answers itself (streamed to a body file);
 *   - download: GET of N MB passed through from the child's server (streamed to a body file);
 *   - scan: the detector reads both body files back; the IMEI in each body's last bytes must be found.
 * Targets (issue 11): ≥ 100 MB/s each way, peak RSS growth ≤ 100 MB. Not a timed test: it prints
 * figures and never fails on one; it exits 1 only if a body was not recorded whole or the IMEI
 * was not found. The last line is machine-readable.
 *
 * Only 127.0.0.1 is connected to.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bodyStore } from '../src/capture/bodies.ts';
import { loadOrCreateCa } from '../src/capture/ca.ts';
import { CaptureSession } from '../src/capture/session.ts';
import { createDetector } from '../src/detect/detector.ts';
import { readJournalAll } from '../src/journal/reader.ts';
import { JournalWriter } from '../src/journal/writer.ts';
import type { Exchange, Identifier } from '../src/types.ts';

const IMEI = '865432101234564';
const MiB = 1024 * 1024;
const TARGET_MBPS = 100;
const TARGET_RSS_MB = 100;

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '2048' },
    // Internal: set when this file runs as the phone and its server.
    'peer-of': { type: 'string' },
  },
});
const mb = Number(values.mb);
if (!(Number.isInteger(mb) && mb >= 2 && mb <= 16384)) {
  console.error('bench:bodies: --mb takes a whole number of MB from 2 to 16384');
  process.exit(2);
}
const size = mb * MiB;

/** 1 MiB of bytes without digits, repeated; the last chunk ends with the IMEI. */
function chunks(): { chunk: Buffer; last: Buffer } {
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < chunk.length; i++) chunk[i] = 0x41 + ((i * 7919) % 26);
  const last = Buffer.from(chunk);
  last.write(IMEI, last.length - IMEI.length, 'latin1');
  return { chunk, last };
}

/** Writes `size` bytes to `out`, minding backpressure. */
function pump(out: NodeJS.WritableStream & { end(): void }, done?: () => void): void {
  const { chunk, last } = chunks();
  let left = size / MiB;
  const go = () => {
    while (left > 0) {
      left -= 1;
      if (!out.write(left === 0 ? last : chunk)) return void out.once('drain', go);
    }
    out.end();
    done?.();
  };
  go();
}

type Transfer = { seconds: number; bytes: number };

/** The phone and its server: baseline transfers, then the same through the proxy. */
async function peer(proxyPort: number): Promise<void> {
  const server = createServer((incoming, outgoing) => {
    let got = 0;
    incoming.on('data', (data: Buffer) => (got += data.length));
    incoming.on('end', () => {
      if (incoming.method === 'GET') {
        outgoing.writeHead(200, { 'content-length': String(size) });
        pump(outgoing);
      } else outgoing.end(String(got));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const transfer = (
    method: 'GET' | 'POST',
    target: { port: number; path: string; host: string },
  ): Promise<Transfer> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const sent = request(
        {
          host: '127.0.0.1',
          port: target.port,
          method,
          path: target.path,
          headers: {
            host: target.host,
            ...(method === 'POST' ? { 'content-length': String(size) } : {}),
          },
        },
        (response: IncomingMessage) => {
          let bytes = 0;
          response.on('data', (data: Buffer) => (bytes += data.length));
          response.on('end', () => {
            resolve({ seconds: (performance.now() - started) / 1000, bytes });
          });
        },
      );
      sent.on('error', reject);
      if (method === 'POST') pump(sent);
      else sent.end();
    });
  const direct = { port, host: `127.0.0.1:${port}` };
  const results = {
    baselineUpload: await transfer('POST', { ...direct, path: '/up' }),
    baselineDownload: await transfer('GET', { ...direct, path: '/down' }),
    upload: await transfer('POST', {
      port: proxyPort,
      host: 'upload.vendor.test',
      path: 'http://upload.vendor.test/ota-log',
    }),
    download: await transfer('GET', {
      port: proxyPort,
      host: direct.host,
      path: `http://${direct.host}/ota.zip`,
    }),
  };
  process.send?.(results);
  server.close();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'phonehome-bench-bodies-'));
  try {
    const ca = await loadOrCreateCa(join(dir, 'ca'));
    const journal = JournalWriter.open(join(dir, 'journal.ndjson'));
    const capture = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dir),
      answers: {
        hosts: { 'upload.vendor.test': { status: 200, body: 'ok' } },
        otherwise: 'pass-through',
      },
    });
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    console.log(
      `bench:bodies: ${mb} MB each way through the capture (body files in ${dir}); load ${loadavg()[0]!.toFixed(2)}`,
    );
    const child = fork(
      import.meta.filename,
      ['--mb', String(mb), '--peer-of', String(capture.port)],
      {
        execArgv: ['--import', 'tsx'],
      },
    );
    const results = await new Promise<Record<string, Transfer>>((resolve, reject) => {
      child.once('message', (message) => resolve(message as Record<string, Transfer>));
      child.once('exit', (code) => reject(new Error(`the peer process ended (${code})`)));
    });
    await capture.waitQuiet(100, 60_000);
    await capture.stop();
    journal.close();
    clearInterval(sampler);
    const captureGrowth = (peak - before) / 1e6;

    const exchanges = (await readJournalAll(journal.path)).flatMap((record) =>
      record.type === 'exchange' ? [record.exchange] : [],
    );
    const identifiers: Identifier[] = [
      { kind: 'imei', value: IMEI, label: 'IMEI #1', source: 'devices.json' },
    ];
    const detector = createDetector(identifiers);
    const scanBefore = process.memoryUsage().rss;
    let scanPeak = scanBefore;
    const scanSampler = setInterval(() => {
      scanPeak = Math.max(scanPeak, process.memoryUsage().rss);
    }, 20);
    const scanStarted = performance.now();
    const found: string[] = [];
    for (const exchange of exchanges) {
      const scanned = await detector.scanAsync(exchange, 0);
      for (const finding of scanned.findings) found.push(`${finding.where}@${finding.offset}`);
    }
    const scanSeconds = (performance.now() - scanStarted) / 1000;
    clearInterval(scanSampler);

    const mbps = (t: Transfer) => size / 1e6 / t.seconds;
    const whole = (exchange: Exchange | undefined, which: 'request' | 'response') => {
      const body = which === 'request' ? exchange?.request.body : exchange?.response?.body;
      return body?.encoding === 'file' && body.size === size && body.complete;
    };
    const upload = exchanges.find((e) => e.request.url.endsWith('/ota-log'));
    const download = exchanges.find((e) => e.request.url.endsWith('/ota.zip'));
    const recorded = whole(upload, 'request') && whole(download, 'response');
    const last = size - IMEI.length;
    const recall =
      found.includes(`request-body@${last}`) && found.includes(`response-body@${last}`);
    const r = results as Record<
      'baselineUpload' | 'baselineDownload' | 'upload' | 'download',
      Transfer
    >;
    const row = (name: string, t: Transfer, base: Transfer) =>
      console.log(
        `  ${name.padEnd(9)} ${mbps(t).toFixed(0).padStart(5)} MB/s through the proxy, ${mbps(base).toFixed(0).padStart(5)} MB/s direct (${((100 * mbps(t)) / mbps(base)).toFixed(0)}% of it); target ≥ ${TARGET_MBPS}: ${mbps(t) >= TARGET_MBPS ? 'met' : 'NOT met'}`,
      );
    row('upload', r.upload, r.baselineUpload);
    row('download', r.download, r.baselineDownload);
    console.log(
      `  capture   peak RSS growth ${captureGrowth.toFixed(0)} MB over ${(before / 1e6).toFixed(0)} MB idle; target ≤ ${TARGET_RSS_MB}: ${captureGrowth <= TARGET_RSS_MB ? 'met' : 'NOT met'}`,
    );
    console.log(
      `  scan      ${((2 * size) / 1e6 / scanSeconds).toFixed(0)} MB/s over both body files, peak RSS growth ${((scanPeak - scanBefore) / 1e6).toFixed(0)} MB; IMEI in the last bytes found in both: ${recall ? 'yes' : 'NO'}`,
    );
    console.log(`  bodies recorded whole: ${recorded ? 'yes' : 'NO'}`);
    console.log(
      `upload_mbps=${mbps(r.upload).toFixed(0)} download_mbps=${mbps(r.download).toFixed(0)} baseline_upload_mbps=${mbps(r.baselineUpload).toFixed(0)} baseline_download_mbps=${mbps(r.baselineDownload).toFixed(0)} rss_growth_mb=${captureGrowth.toFixed(0)} scan_mbps=${((2 * size) / 1e6 / scanSeconds).toFixed(0)} recorded=${recorded ? 1 : 0} recall=${recall ? 1 : 0}`,
    );
    if (!recorded || !recall) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values['peer-of']) await peer(Number(values['peer-of']));
else await main();
