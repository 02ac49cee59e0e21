/**
 * `npm run bench:soak [-- --minutes M --rate R]`: the capture under a steady load for a bounded
 * time (default 2 minutes at 50 requests/s; M may be fractional, at most 60).
 *
 *   npm run bench:soak
 *   npm run bench:soak -- --minutes 0.5 --rate 100
 *
 * The capture runs in this process; the load comes from a child process (this file again, with
 * --client-of), so the RSS printed is the proxy's alone. Every minute (every 30 s under 2 minutes)
 * it prints RSS, heap, requests sent, answered and journaled. The baselines are of the same run:
 * the proxy's idle RSS before any load, and its RSS at the first report, against which the growth
 * to the last report is given. Not a timed test: it never fails on a figure, only when an answered
 * request is missing from the journal (exit 1).
 *
 * Only 127.0.0.1 is ever connected to: plain requests go to the proxy in absolute form, HTTPS
 * through CONNECT, and the proxy answers every host itself (unconfigured ones with a 404).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { bodyStore } from '../src/capture/bodies.ts';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request, type ClientRequestArgs, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect as tlsConnect } from 'node:tls';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { loadOrCreateCa } from '../src/capture/ca.ts';
import { CaptureSession } from '../src/capture/session.ts';
import { JournalWriter } from '../src/journal/writer.ts';

const IMEI = '865432101234564';
/** No request may hang the run: past this it is given up and counted as failed. */
const REQUEST_TIMEOUT_MS = 10_000;
/** After the last request is sent, how long the client waits for the answers still due. */
const DRAIN_MS = 15_000;

/** What the client tells the capture's process, over the IPC channel. */
type FromClient =
  | { type: 'ready' }
  | { type: 'counts'; counts: ClientCounts }
  | { type: 'done'; counts: ClientCounts; answeredBitmap: string };
type ToClient = { type: 'go' } | { type: 'count' };

interface ClientCounts {
  sent: number;
  answered: number;
  failed: number;
  statuses: Record<string, number>;
  rss: number;
}

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    rate: { type: 'string', default: '50' },
    // Internal: set when this file runs as the load generator.
    'client-of': { type: 'string' },
    ca: { type: 'string' },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
if (!(minutes > 0 && minutes <= 60) || !(rate > 0 && rate <= 1000)) {
  console.error('bench:soak: --minutes takes 0 < M ≤ 60 and --rate 0 < R ≤ 1000');
  process.exit(2);
}
// The count bounds the run as much as the clock does: a stalled timer cannot make it send more.
const total = Math.ceil(minutes * 60 * rate);

/** The process under test: the capture, its journal, the reports and the verdict. */
async function proxy(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'phonehome-soak-'));
  let load: ChildProcess | undefined;
  try {
    const ca = await loadOrCreateCa(join(dir, 'ca'));
    const journalPath = join(dir, 'journal.ndjson');
    const journal = JournalWriter.open(journalPath);
    const capture = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dirname(journal.path)),
      answers: {
        hosts: { 'api.vendor.test': { status: 200, json: { ok: true } } },
        otherwise: 'not-found',
      },
    });
    load = fork(
      import.meta.filename,
      [
        '--client-of',
        String(capture.port),
        '--ca',
        ca.certPath,
        '--minutes',
        String(minutes),
        '--rate',
        String(rate),
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    const child = new ClientChannel(load);
    await child.next('ready');

    console.log(
      `soak: ${minutes} min at ${rate} req/s (at most ${total} requests) through the capture on 127.0.0.1:${capture.port}; load from child process ${load.pid}`,
    );
    // Other work on the machine moves the figures: say how busy it was.
    console.log(`${loadAverage()} at the start`);
    // Measured once the capture is up but before the first request: what the proxy costs idle.
    const idle = process.memoryUsage();
    console.log(
      `idle baseline (no load yet): RSS ${mb(idle.rss)} MB, heap ${mb(idle.heapUsed)} MB`,
    );
    console.log('elapsed  proxy RSS MB  heap MB     sent  answered  journaled  client RSS MB');

    const reports: { at: number; rss: number }[] = [];
    const started = Date.now();
    const report = (counts: ClientCounts) => {
      const memory = process.memoryUsage();
      const at = Date.now() - started;
      reports.push({ at, rss: memory.rss });
      console.log(
        `${`${Math.round(at / 1000)} s`.padStart(7)}  ${mb(memory.rss).padStart(12)}  ${mb(memory.heapUsed).padStart(7)}  ${String(counts.sent).padStart(7)}  ${String(counts.answered).padStart(8)}  ${String(capture.counters.exchanges).padStart(9)}  ${mb(counts.rss).padStart(13)}`,
      );
    };
    const interval = minutes < 2 ? 30_000 : 60_000;
    const done = child.next('done');
    child.send({ type: 'go' });
    // Reports fall due on the interval; the one at the very end is made after the load stopped
    // and the capture went quiet, so that its counts are final.
    for (let due = interval; due < minutes * 60_000 - 1_000; due += interval) {
      await Promise.race([sleep(started + due - Date.now()), done]);
      if (child.finished) break;
      report(await child.counts());
    }
    const final = await withDeadline(
      done,
      minutes * 60_000 + DRAIN_MS + 30_000 - (Date.now() - started),
      'the load process did not finish in time',
    );
    await capture.waitQuiet(200, 10_000);
    report(final.counts);
    await capture.stop();
    journal.close();

    const answered = bitmapFrom(final.answeredBitmap);
    const journaled = await journaledRequests(journalPath);
    const missing: number[] = [];
    for (let n = 0; n < total; n++) if (has(answered, n) && !journaled.ids.has(n)) missing.push(n);
    const { sent, failed, statuses } = final.counts;
    const first = reports[0]!;
    const last = reports[reports.length - 1]!;
    const growth = last.rss - first.rss;
    const perMinute = last.at > first.at ? growth / ((last.at - first.at) / 60_000) : 0;

    console.log(`${loadAverage()} at the end`);
    console.log(
      `\nsent ${sent} (${((sent / total) * 100).toFixed(0)}% of the ${total} due), answered ${final.counts.answered} (${Object.entries(
        statuses,
      )
        .map(([status, count]) => `${count} × ${status}`)
        .join(', ')}), failed ${failed}`,
    );
    console.log(
      `journaled ${journaled.exchanges} exchange records (${journaled.ids.size} of this run's requests), missing ${missing.length} (answered but not journaled)`,
    );
    console.log(
      `proxy RSS: idle ${mb(idle.rss)} MB; ${mb(first.rss)} MB at the first report (${Math.round(first.at / 1000)} s, the baseline), ${mb(last.rss)} MB at the last (${Math.round(last.at / 1000)} s): ${signed(growth)} MB, ${signed(perMinute)} MB/min; under load ${signed(last.rss - idle.rss)} MB over idle`,
    );
    if (reports.length < 2)
      console.log('(one report only: run 1 minute or more for growth against the first report)');
    console.log(
      `soak_minutes=${minutes} rate=${rate} sent=${sent} answered=${final.counts.answered} journaled=${journaled.ids.size} missing=${missing.length} idle_rss_mb=${mb(idle.rss)} first_rss_mb=${mb(first.rss)} last_rss_mb=${mb(last.rss)} growth_mb=${mb(growth)}`,
    );
    if (missing.length > 0) {
      console.error(
        `bench:soak: ${missing.length} answered requests were not journaled (the first: ${missing.slice(0, 5).join(', ')})`,
      );
      process.exitCode = 1;
    }
  } finally {
    // Only ever our own child, by its handle; it also stops by itself when the channel closes.
    if (load && load.exitCode === null && load.signalCode === null) load.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The load generator: a fixed rate of a mix of plain and HTTPS requests, bounded in count and time. */
async function client(port: number, caPath: string): Promise<void> {
  const certPem = readFileSync(caPath, 'utf8');
  const plain = new Agent({ keepAlive: true, maxSockets: 8 });
  const tunnels = new TunnelAgent(port, certPem, { keepAlive: true, maxSockets: 8 });
  const gzipped = gzipSync(JSON.stringify({ imei: IMEI, pad: 'x'.repeat(2000) }));
  const answeredBits = new Uint8Array(Math.ceil(total / 8));
  const counts: ClientCounts = { sent: 0, answered: 0, failed: 0, statuses: {}, rss: 0 };
  let inFlight = 0;
  const snapshot = (): ClientCounts => ({ ...counts, rss: process.memoryUsage().rss });
  // With no parent left there is nobody to measure: stop at once instead of loading for nothing.
  process.on('disconnect', () => process.exit(0));

  /** One request of the mix; `n` goes in the path so that the journal can be checked for it. */
  const send = (n: number) => {
    counts.sent += 1;
    inFlight += 1;
    const kind = n % 8;
    const secure = kind >= 4;
    const host = kind === 3 ? 'other.vendor.test' : 'api.vendor.test';
    const path = `/soak/${n}`;
    const query = `?imei=${IMEI}&n=${n}`;
    let body: Buffer | undefined;
    const headers: Record<string, string> = { host };
    if (kind === 1) {
      body = Buffer.from(`imei=${IMEI}&n=${n}`);
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (kind === 2 || kind === 6) {
      body = gzipped;
      headers['content-type'] = 'application/json';
      headers['content-encoding'] = 'gzip';
    } else if (kind === 5) {
      body = Buffer.from(JSON.stringify({ device: { imei: IMEI }, n }));
      headers['content-type'] = 'application/json';
    }
    if (kind === 7) headers.connection = 'close';
    const options: ClientRequestArgs = {
      host: '127.0.0.1',
      port,
      method: body ? 'POST' : 'GET',
      headers,
      timeout: REQUEST_TIMEOUT_MS,
    };
    if (!secure) Object.assign(options, { agent: plain, path: `http://${host}${path}${query}` });
    // One HTTPS request in four opens its own tunnel, as apps that do not reuse connections do.
    else if (kind === 7)
      Object.assign(options, {
        path: `${path}${query}`,
        createConnection: (_: ClientRequestArgs, done: Connected) => tunnel(port, certPem, done),
      });
    else Object.assign(options, { agent: tunnels, path: `${path}${query}` });

    let settled = false;
    const settle = (response?: IncomingMessage) => {
      if (settled) return;
      settled = true;
      inFlight -= 1;
      if (!response) {
        counts.failed += 1;
        return;
      }
      counts.answered += 1;
      const status = String(response.statusCode);
      counts.statuses[status] = (counts.statuses[status] ?? 0) + 1;
      answeredBits[n >> 3]! |= 1 << (n & 7);
    };
    const sending = request(options, (response) => {
      response.on('end', () => settle(response));
      response.on('error', () => settle());
      response.resume();
    });
    sending.on('timeout', () => sending.destroy(new Error('timed out')));
    sending.on('error', () => settle());
    sending.end(body);
  };

  await new Promise<void>((resolve) => {
    process.on('message', (message: ToClient) => {
      if (message.type === 'go') resolve();
      else if (message.type === 'count') process.send?.({ type: 'counts', counts: snapshot() });
    });
    process.send?.({ type: 'ready' } satisfies FromClient);
  });
  const started = Date.now();
  const end = started + minutes * 60_000;
  let n = 0;
  await new Promise<void>((resolve) => {
    const ticker = setInterval(() => {
      // Whole requests per tick, so the rate holds however the timer drifts; the clock is read
      // no later than the end, so that the last tick brings the count to exactly `total`.
      const now = Date.now();
      const elapsed = Math.min(now, end) - started;
      const due = Math.min(total, Math.ceil((elapsed / 1000) * rate));
      while (n < due) send(n++);
      if (n >= total || now >= end) {
        clearInterval(ticker);
        resolve();
      }
    }, 20);
  });
  const drainUntil = Date.now() + DRAIN_MS;
  while (inFlight > 0 && Date.now() < drainUntil) await sleep(20);
  plain.destroy();
  tunnels.destroy();
  process.send?.({
    type: 'done',
    counts: snapshot(),
    answeredBitmap: Buffer.from(answeredBits).toString('base64'),
  } satisfies FromClient);
  process.disconnect();
}

type Connected = (error: Error | null, socket: Duplex) => void;

/** Kept-alive HTTPS connections, each a CONNECT tunnel through the proxy. */
class TunnelAgent extends Agent {
  constructor(
    private readonly port: number,
    private readonly certPem: string,
    options: ConstructorParameters<typeof Agent>[0],
  ) {
    super(options);
  }

  override createConnection(_: ClientRequestArgs, done?: Connected): Duplex | null | undefined {
    if (done) tunnel(this.port, this.certPem, done);
    return undefined;
  }
}

/**
 * Opens a CONNECT tunnel to api.vendor.test through the proxy at 127.0.0.1 and TLS inside it,
 * trusting only the capture's CA, as a phone with the CA installed would.
 */
function tunnel(port: number, certPem: string, done: Connected): undefined {
  let called = false;
  const once: Connected = (error, socket) => {
    if (called) return;
    called = true;
    done(error, socket);
  };
  const connecting = request({
    host: '127.0.0.1',
    port,
    method: 'CONNECT',
    path: 'api.vendor.test:443',
    headers: { host: 'api.vendor.test:443' },
    agent: false,
    timeout: REQUEST_TIMEOUT_MS,
  });
  connecting.on('timeout', () => connecting.destroy(new Error('CONNECT timed out')));
  connecting.on('error', (error) => once(error, connecting.socket as Duplex));
  connecting.on('connect', (response, socket) => {
    if (response.statusCode !== 200) {
      socket.destroy();
      once(new Error(`CONNECT answered ${response.statusCode}`), socket);
      return;
    }
    const secure = tlsConnect({ socket, servername: 'api.vendor.test', ca: certPem });
    secure.once('secureConnect', () => once(null, secure));
    secure.once('error', (error) => once(error, secure));
  });
  connecting.end();
  return undefined;
}

/** The parent's side of the IPC channel: one awaited reply at a time. */
class ClientChannel {
  finished = false;
  private readonly waiting = new Map<FromClient['type'], (message: FromClient) => void>();
  private exited: Promise<never>;

  constructor(private readonly child: ChildProcess) {
    child.on('message', (message: FromClient) => {
      if (message.type === 'done') this.finished = true;
      const resolve = this.waiting.get(message.type);
      this.waiting.delete(message.type);
      resolve?.(message);
    });
    this.exited = new Promise((_, reject) =>
      child.on('exit', (code, signal) => {
        if (!this.finished)
          reject(new Error(`the load process ended early (code ${code}, signal ${signal})`));
      }),
    );
    // The rejection is read through next(); until then it must not count as unhandled.
    this.exited.catch(() => {});
  }

  send(message: ToClient): void {
    this.child.send(message);
  }

  next<T extends FromClient['type']>(type: T): Promise<Extract<FromClient, { type: T }>> {
    const reply = new Promise<Extract<FromClient, { type: T }>>((resolve) =>
      this.waiting.set(type, resolve as (message: FromClient) => void),
    );
    return Promise.race([reply, this.exited]);
  }

  async counts(): Promise<ClientCounts> {
    const reply = this.next('counts');
    this.send({ type: 'count' });
    return (await reply).counts;
  }
}

/**
 * Reads the journal line by line for what is really there: exchange records, and which of this
 * run's requests (by the number in their path) they hold. readJournal is not used on purpose: it
 * turns a request record without its exchange into an exchange, which would hide a missing one.
 */
async function journaledRequests(path: string): Promise<{ exchanges: number; ids: Set<number> }> {
  const ids = new Set<number>();
  let exchanges = 0;
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.includes('"type":"exchange"')) continue;
    const record = JSON.parse(line) as { type: string; exchange?: { request?: { url?: string } } };
    if (record.type !== 'exchange') continue;
    exchanges += 1;
    const match = /\/soak\/(\d+)/.exec(record.exchange?.request?.url ?? '');
    if (match) ids.add(Number(match[1]));
  }
  return { exchanges, ids };
}

function bitmapFrom(base64: string): Uint8Array {
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

function has(bits: Uint8Array, n: number): boolean {
  return ((bits[n >> 3] ?? 0) & (1 << (n & 7))) !== 0;
}

function withDeadline<T>(work: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bench:soak: ${why}`)), Math.max(0, ms));
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

function signed(bytes: number): string {
  const text = mb(bytes);
  return bytes >= 0 ? `+${text}` : text;
}

/** The load average over 1, 5 and 15 minutes, and the cores it compares to. */
function loadAverage(): string {
  const [one, five, fifteen] = loadavg().map((value) => value.toFixed(2));
  return `load average ${one}, ${five}, ${fifteen} on ${availableParallelism()} cores`;
}

// Last, so that the classes above are initialised before either role uses them.
if (values['client-of'] !== undefined) await client(Number(values['client-of']), values.ca ?? '');
else await proxy();
