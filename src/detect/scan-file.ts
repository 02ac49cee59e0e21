import { createReadStream, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PhonehomeError } from '../errors.ts';
import { readHarEntries } from '../har/read.ts';
import type { Finding, Identifier } from '../types.ts';
import { createDetector } from './detector.ts';
import { runScanJob, type ScanJob, type ScanJobResult } from './scan-job.ts';

/** What `scan` reads: a HAR file, or a phonehome journal (given directly or by its run folder). */
export interface ScanInput {
  format: 'har' | 'journal';
  file: string;
}

/**
 * Tells what a path given to `scan` is.
 *
 * @example
 *   resolveScanInput('reports/2026-01-01T10-00-00')  // → { format: 'journal', file: 'reports/…/journal.ndjson' }
 *   resolveScanInput('capture.har')                  // → { format: 'har', file: 'capture.har' }
 */
export function resolveScanInput(path: string): ScanInput {
  if (!existsSync(path)) {
    throw new PhonehomeError(
      'SCAN_INPUT_MISSING',
      `${path} does not exist; pass a .har file, a run folder or a journal.ndjson`,
    );
  }
  if (statSync(path).isDirectory()) {
    const journal = join(path, 'journal.ndjson');
    if (!existsSync(journal)) {
      throw new PhonehomeError(
        'SCAN_INPUT_MISSING',
        `${path} is a folder without journal.ndjson; pass a run folder under reports/, or a .har file`,
      );
    }
    return { format: 'journal', file: journal };
  }
  return {
    format: path.endsWith('.ndjson') || path.endsWith('.jsonl') ? 'journal' : 'har',
    file: path,
  };
}

export interface ScanFileOptions {
  /**
   * Worker threads; 0 scans in this thread. Default: 0 on machines with fewer than 4 cores, where
   * two threads measured no faster than one (docs/detection.md); else one per core but one, for
   * files over 16 MB.
   */
  workers?: number;
  /** Called when the journal's last line is torn (the run was killed mid-write); it is skipped. */
  onTornLine?: (line: number) => void;
}

export interface ScanFileResult {
  findings: Finding[];
  /**
   * Parts that were not scanned (a body past the decoding budget, one the capture could not
   * keep): a scan with any is not clean, whatever it found.
   */
  unscanned: { exchange: number; host: string; where: string; reason: string }[];
  exchanges: number;
  /** Bytes the automaton went over, decoded parts included. */
  bytesScanned: number;
  /** Time spent in the detector, summed over threads; reading and parsing the file excluded. */
  detectorMs: number;
  /** Threads that scanned (1 when no worker was used). */
  threads: number;
}

/** Jobs go to a worker in batches of about this many bytes: fewer messages, steady cores. */
const BATCH_BYTES = 4 << 20;
const BATCHES_IN_FLIGHT = 2;

/**
 * Scans every exchange of a HAR file or journal, streaming: memory holds a few batches, not the
 * file. Parsing and scanning run on worker threads (one per core) when the file is big.
 *
 * @example
 *   const { findings } = await scanFile(resolveScanInput('capture.har'), identifiers);
 */
export async function scanFile(
  input: ScanInput,
  identifiers: Identifier[],
  options: ScanFileOptions = {},
): Promise<ScanFileResult> {
  const size = statSync(input.file).size;
  const workers = options.workers ?? defaultWorkers(size);
  const pool = workers > 0 ? new WorkerPool(workers, identifiers, input.file) : undefined;
  const inline = pool ? undefined : createDetector(identifiers);
  const results: ScanJobResult[] = [];
  let bytesScanned = 0;
  let exchanges = 0;
  let last: ScanJob | undefined;
  try {
    let batch: ScanJob[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const jobs = batch;
      batch = [];
      batchBytes = 0;
      if (pool)
        await pool.submit(jobs, (answer) => {
          results.push(...answer.results);
          bytesScanned += answer.bytesScanned;
        });
      else {
        const detector = inline as NonNullable<typeof inline>;
        const before = detector.bytesScanned();
        for (const job of jobs) results.push(await runScanJob(job, detector, input.file));
        bytesScanned += detector.bytesScanned() - before;
      }
    };
    for await (const job of input.format === 'har'
      ? harJobs(input.file)
      : journalJobs(input.file, (line) => options.onTornLine?.(line))) {
      exchanges++;
      last = job;
      batch.push(job);
      batchBytes += job.bytes.length;
      if (batchBytes >= BATCH_BYTES) await flush();
    }
    await flush();
    await pool?.drain();
  } finally {
    await pool?.close();
  }
  const findings: Finding[] = [];
  const unscanned: ScanFileResult['unscanned'] = [];
  const detectorMs = results.reduce((sum, result) => sum + result.detectorMs, 0);
  results.sort((a, b) => a.index - b.index);
  for (const result of results) {
    if (result.error !== undefined) {
      if (last && result.index === last.index && input.format === 'journal') {
        // Only the last line may be torn: the journal writer writes whole lines.
        exchanges--;
        options.onTornLine?.(last.line ?? 0);
        continue;
      }
      throw new PhonehomeError(
        'JOURNAL_CORRUPT',
        `${input.file}: exchange ${result.index} is not a JSON record (${result.error}); the journal was changed by hand or corrupted`,
      );
    }
    findings.push(...result.findings);
    for (const part of result.unscanned) unscanned.push({ exchange: result.index, ...part });
  }
  return {
    findings,
    unscanned,
    exchanges,
    bytesScanned,
    detectorMs,
    threads: Math.max(1, workers),
  };
}

function defaultWorkers(size: number): number {
  const cores = availableParallelism();
  return size > 16 << 20 && cores >= 4 ? Math.min(cores - 1, 4) : 0;
}

async function* harJobs(file: string): AsyncGenerator<ScanJob> {
  let index = 0;
  // A copy of its own per job: a view would drag its whole read buffer into the worker message.
  for await (const entry of readHarEntries(file))
    yield { format: 'har', index: index++, bytes: new Uint8Array(entry) };
}

/**
 * Journal lines that hold exchanges. Records are written with `type` first (and a request's or
 * exchange's id next), so a glance at a line's start tells its type without parsing it here. A
 * request record is kept aside until its exchange record comes; those left at the end (a killed
 * run) are scanned last, as the journal reader yields them.
 */
async function* journalJobs(
  file: string,
  onTornLine: (line: number) => void,
): AsyncGenerator<ScanJob> {
  let carry: Buffer[] = [];
  let line = 0;
  let index = 0;
  const unanswered = new Map<string, { bytes: Buffer; line: number }>();
  const classify = (bytes: Buffer): ScanJob | undefined => {
    line++;
    const head = bytes.toString('latin1', 0, Math.min(bytes.length, 160));
    if (head.trim() === '') return undefined;
    const type = /^\s*\{\s*"type"\s*:\s*"([a-z-]+)"/.exec(head)?.[1];
    if (type === 'request') {
      const id = /"id"\s*:\s*"([^"]*)"/.exec(head)?.[1];
      if (id !== undefined) unanswered.set(id, { bytes: Buffer.from(bytes), line });
      return undefined;
    }
    if (type !== undefined && type !== 'exchange') return undefined;
    const id = /"exchange"\s*:\s*\{\s*"id"\s*:\s*"([^"]*)"/.exec(head)?.[1];
    if (id !== undefined) unanswered.delete(id);
    return { format: 'journal', index: index++, line, bytes: new Uint8Array(bytes) };
  };
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      let newline = chunk.indexOf(0x0a, from);
      while (newline >= 0) {
        const piece = chunk.subarray(from, newline);
        const bytes = carry.length > 0 ? Buffer.concat([...carry, piece]) : piece;
        carry = [];
        const job = classify(bytes);
        if (job) yield job;
        from = newline + 1;
        newline = chunk.indexOf(0x0a, from);
      }
      if (from < chunk.length) carry.push(chunk.subarray(from));
    }
  } catch (error) {
    throw new PhonehomeError(
      'JOURNAL_READ',
      `cannot read the journal ${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (carry.length > 0) {
    // Only the last line may be torn (the writer writes whole lines): skipped, as the reader does.
    const bytes = Buffer.concat(carry);
    let whole = true;
    try {
      JSON.parse(bytes.toString('utf8'));
    } catch {
      whole = false;
    }
    if (whole) {
      const job = classify(bytes);
      if (job) yield job;
    } else onTornLine(line + 1);
  }
  for (const request of unanswered.values())
    yield {
      format: 'journal',
      index: index++,
      line: request.line,
      bytes: new Uint8Array(request.bytes),
    };
}

/**
 * The URL of tsx's ESM API. Not import.meta.resolve: under mocha, tsx runs this module as
 * CommonJS, where it is missing and `require.resolve` picks the CommonJS build.
 */
function tsxEsmApi(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('tsx/package.json');
  const exported = (
    require(manifest) as { exports: Record<string, { import: { default: string } }> }
  ).exports['./esm/api'];
  return pathToFileURL(
    join(dirname(manifest), exported?.import.default ?? 'dist/esm/api/index.mjs'),
  ).href;
}

interface WorkerAnswer {
  results: ScanJobResult[];
  bytesScanned: number;
  failure?: string;
  code?: string;
}

/** Worker threads that each scan batches of jobs, at most BATCHES_IN_FLIGHT at a time. */
class WorkerPool {
  private readonly workers: { worker: Worker; pending: ((answer: WorkerAnswer) => void)[] }[] = [];
  private failure: Error | undefined;
  private readonly waiting = new Set<Promise<void>>();

  constructor(count: number, identifiers: Identifier[], file: string) {
    // Workers run TypeScript too: they register tsx before loading the worker module.
    const tsx = tsxEsmApi();
    const target = new URL('./scan-worker.ts', import.meta.url).href;
    const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); })`;
    for (let i = 0; i < count; i++) {
      const worker = new Worker(code, { eval: true, workerData: { identifiers, file } });
      const slot = { worker, pending: [] as ((answer: WorkerAnswer) => void)[] };
      worker.on('message', (answer: WorkerAnswer) => slot.pending.shift()?.(answer));
      worker.on('error', (error) => {
        this.failure = error;
        for (const resolve of slot.pending.splice(0))
          resolve({ results: [], bytesScanned: 0, failure: error.message });
      });
      this.workers.push(slot);
    }
  }

  /** Sends a batch to the least busy worker; waits while every worker is full. */
  async submit(jobs: ScanJob[], onAnswer: (answer: WorkerAnswer) => void): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      const slot = this.workers.reduce((a, b) => (b.pending.length < a.pending.length ? b : a));
      if (slot.pending.length < BATCHES_IN_FLIGHT) {
        const done = new Promise<void>((resolve) => {
          slot.pending.push((answer) => {
            if (answer.failure !== undefined) {
              this.failure = new PhonehomeError(answer.code ?? 'SCAN_FAILED', answer.failure);
            } else onAnswer(answer);
            resolve();
          });
        });
        const tracked = done.then(() => {
          this.waiting.delete(tracked);
        });
        this.waiting.add(tracked);
        slot.worker.postMessage(
          jobs,
          jobs.map((job) => job.bytes.buffer as ArrayBuffer),
        );
        return;
      }
      await Promise.race(this.waiting);
    }
  }

  async drain(): Promise<void> {
    while (this.waiting.size > 0) await Promise.race(this.waiting);
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }
}
