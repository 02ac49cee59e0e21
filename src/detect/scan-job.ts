import { dirname } from 'node:path';
import { PhonehomeError } from '../errors.ts';
import { resolveBodyFiles } from '../body-files.ts';
import { harEntryToExchange, parseHarEntry } from '../har/read.ts';
import { unansweredExchange, type ExchangeRecord, type RequestRecord } from '../journal/records.ts';
import type { Exchange, Finding } from '../types.ts';
import type { Detector, UnscannedIn } from './detector.ts';

/** One exchange still in its file's bytes: a HAR entry or a journal line. */
export interface ScanJob {
  format: 'har' | 'journal';
  /** 0-based position among the file's exchanges. */
  index: number;
  /** 1-based line of a journal record, for error messages. */
  line?: number;
  bytes: Uint8Array;
}

export interface ScanJobResult {
  index: number;
  findings: Finding[];
  /** Parts of the exchange that were not scanned (see Detector.scan), with its host. */
  unscanned: (UnscannedIn & { host: string })[];
  /** Time spent in the detector proper, parsing excluded: the benchmark's detector figure. */
  detectorMs: number;
  /** Set when the bytes were not a record: the caller decides (a torn last line is no error). */
  error?: string;
}

/**
 * Parses and scans one exchange. Runs in a worker thread or in the caller's: parsing is half
 * the work on large captures, so it belongs where the scanning is.
 *
 * @example
 *   runScanJob({ format: 'har', index: 0, bytes: entryBytes }, detector, 'capture.har').findings
 */
export async function runScanJob(
  job: ScanJob,
  detector: Detector,
  file: string,
): Promise<ScanJobResult> {
  const bytes = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
  if (job.format === 'har') {
    return timed(
      job.index,
      detector,
      harEntryToExchange(parseHarEntry(bytes, job.index, file), job.index, file),
    );
  }
  let record: ExchangeRecord | RequestRecord;
  try {
    record = JSON.parse(bytes.toString('utf8')) as ExchangeRecord | RequestRecord;
  } catch (error) {
    return {
      index: job.index,
      findings: [],
      unscanned: [],
      detectorMs: 0,
      error: (error as Error).message,
    };
  }
  // A request whose exchange never came (a killed run): scanned as the reader yields it.
  if (record.type === 'request') record = unansweredExchange(record);
  if (record.type !== 'exchange' || typeof record.exchange !== 'object') {
    throw new PhonehomeError(
      'JOURNAL_CORRUPT',
      `${file}:${job.line ?? '?'} is not an exchange record`,
    );
  }
  const where = `${file}:${job.line ?? '?'}`;
  return timed(job.index, detector, resolveBodyFiles(record.exchange, dirname(file), where));
}

async function timed(
  index: number,
  detector: Detector,
  exchange: Exchange,
): Promise<ScanJobResult> {
  const started = performance.now();
  const { findings, unscanned } = await detector.scanAsync(exchange, index);
  return {
    index,
    findings,
    unscanned: unscanned.map((part) => ({ ...part, host: exchange.host })),
    detectorMs: performance.now() - started,
  };
}
