/**
 * `npm run bench:soak [-- --minutes M --rate R]`: the capture under a steady load for a bounded
 * time (default 2 minutes at 50 requests/s), printing every 30 s the process's RSS and heap,
 * requests sent, answered and journaled. It ends with the growth of RSS against the first
 * interval (the baseline of the same run) and exits 1 if any answered request is not journaled.
 * The load runs in this process on loopback: the RSS figures include the client's (small) share.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { loadOrCreateCa } from '../src/capture/ca.ts';
import { CaptureSession } from '../src/capture/session.ts';
import { JournalWriter } from '../src/journal/writer.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '2' }, rate: { type: 'string', default: '50' } },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
if (!(minutes > 0 && minutes <= 60) || !(rate > 0 && rate <= 1000)) {
  console.error('bench:soak: --minutes takes 0 < M ≤ 60 and --rate 0 < R ≤ 1000');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'phonehome-soak-'));
const ca = await loadOrCreateCa(join(dir, 'ca'));
const journal = JournalWriter.open(join(dir, 'journal.ndjson'));
const capture = await CaptureSession.start({
  ca,
  journal,
  answers: {
    hosts: { 'api.vendor.test': { status: 200, json: { ok: true } } },
    otherwise: 'not-found',
  },
});
const agent = new Agent({ keepAlive: true, maxSockets: 8 });
const gzipped = gzipSync(JSON.stringify({ imei: '865432101234564', pad: 'x'.repeat(2000) }));
let sent = 0;
let answered = 0;

/** One request of the mix: a query, a form body, a gzip'd JSON body, an unconfigured host. */
function send(n: number): void {
  sent += 1;
  const kind = n % 4;
  const host = kind === 3 ? 'other.vendor.test' : 'api.vendor.test';
  const body =
    kind === 1 ? Buffer.from(`imei=865432101234564&n=${n}`) : kind === 2 ? gzipped : undefined;
  const sending = request(
    {
      host: '127.0.0.1',
      port: capture.port,
      agent,
      method: body ? 'POST' : 'GET',
      path: `http://${host}/soak/${n}?imei=865432101234564`,
      headers: { host, ...(kind === 2 ? { 'content-encoding': 'gzip' } : {}) },
    },
    (response) => {
      response.resume();
      response.on('end', () => (answered += 1));
    },
  );
  sending.on('error', () => {});
  sending.end(body);
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const started = Date.now();
const end = started + minutes * 60_000;
const interval = 30_000;
const rss: number[] = [];
console.log(
  `soak: ${minutes} min at ${rate} req/s through the capture on 127.0.0.1:${capture.port}`,
);
console.log('elapsed  rss MB  heap MB     sent  answered  journaled');
const report = () => {
  const memory = process.memoryUsage();
  rss.push(memory.rss);
  const elapsed = `${Math.round((Date.now() - started) / 1000)} s`.padStart(7);
  console.log(
    `${elapsed}  ${mb(memory.rss).padStart(6)}  ${mb(memory.heapUsed).padStart(7)}  ${String(sent).padStart(7)}  ${String(answered).padStart(8)}  ${String(capture.counters.exchanges).padStart(9)}`,
  );
};
let n = 0;
const ticker = setInterval(() => {
  // Whole requests per tick, so the rate holds however the timer drifts.
  const due = Math.floor(((Date.now() - started) / 1000) * rate);
  while (n < due && Date.now() < end) send(n++);
}, 20);
const reporter = setInterval(report, interval);
await new Promise((resolve) => setTimeout(resolve, end - Date.now()));
clearInterval(ticker);
await capture.waitQuiet(200, 10_000);
clearInterval(reporter);
report();
await capture.stop();
journal.close();
agent.destroy();
rmSync(dir, { recursive: true, force: true });

const journaled = capture.counters.exchanges;
const growth = rss.length > 1 ? rss[rss.length - 1]! - rss[0]! : 0;
console.log(
  `\nsent ${sent}, answered ${answered}, journaled ${journaled}, missing ${Math.max(0, answered - journaled)}`,
);
console.log(
  `RSS: ${mb(rss[0]!)} MB at the first report (the baseline), ${mb(rss[rss.length - 1]!)} MB at the end: ${growth >= 0 ? '+' : ''}${mb(growth)} MB`,
);
if (journaled < answered) {
  console.error('bench:soak: some answered requests were not journaled');
  process.exit(1);
}
