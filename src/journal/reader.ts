import { createReadStream } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { resolveBodyFiles } from '../body-files.ts';
import { PhonehomeError } from '../errors.ts';
import { unansweredExchange, type JournalRecord, type RequestRecord } from './records.ts';

export interface ReadOptions {
  /** Called once when the last line is torn (the run was killed mid-write); it is skipped. */
  onTornLine?: (lineNumber: number) => void;
}

/**
 * Streams the records of a journal, one line at a time, so a journal of any size is read in
 * constant memory. A torn last line (a run killed mid-write) is skipped and reported through
 * `onTornLine`; a bad line anywhere else is an error that names the file and line.
 *
 * @example
 *   for await (const record of readJournal('reports/latest/journal.ndjson')) console.log(record.type);
 */
export async function* readJournal(
  path: string,
  options: ReadOptions = {},
): AsyncGenerator<JournalRecord> {
  // A request record stands for its exchange only until the exchange record comes; what is
  // left at the end (a killed run) is yielded last, as an exchange without a response.
  const unanswered = new Map<string, RequestRecord>();
  for await (const record of readRecords(path, options)) {
    if (record.type === 'request') unanswered.set(record.id, record);
    else {
      if (record.type === 'exchange') unanswered.delete(record.exchange.id);
      yield record;
    }
  }
  for (const record of unanswered.values()) yield unansweredExchange(record);
}

async function* readRecords(path: string, options: ReadOptions): AsyncGenerator<JournalRecord> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let pending: { text: string; number: number } | undefined;
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber += 1;
      if (pending) yield parseLine(path, pending.text, pending.number);
      pending = line.trim() === '' ? undefined : { text: line, number: lineNumber };
    }
  } catch (error) {
    throw new PhonehomeError('JOURNAL_READ', `cannot read the journal ${path}: ${String(error)}`, {
      cause: error,
    });
  }
  if (pending) {
    // Only the last line may be torn: the writer flushes whole lines, so a partial one can only be
    // the one being written when the process died.
    let record: JournalRecord | undefined;
    try {
      record = JSON.parse(pending.text) as JournalRecord;
    } catch {
      options.onTornLine?.(pending.number);
    }
    if (record) yield withBodyFiles(path, record, pending.number);
  }
}

function parseLine(path: string, text: string, lineNumber: number): JournalRecord {
  let record: JournalRecord;
  try {
    record = JSON.parse(text) as JournalRecord;
  } catch (error) {
    throw new PhonehomeError(
      'JOURNAL_CORRUPT',
      `${path}:${lineNumber} is not a JSON record; the journal was changed by hand or corrupted`,
      { cause: error },
    );
  }
  return withBodyFiles(path, record, lineNumber);
}

/** Body files, named relative to the journal's folder, become absolute paths. */
function withBodyFiles(path: string, record: JournalRecord, lineNumber: number): JournalRecord {
  if (record.type === 'request' || record.type === 'exchange')
    resolveBodyFiles(record.exchange, dirname(path), `${path}:${lineNumber}`);
  return record;
}

/** Reads a whole journal into memory: for a single run's report, not for `scan` on huge files. */
export async function readJournalAll(
  path: string,
  options: ReadOptions = {},
): Promise<JournalRecord[]> {
  const records: JournalRecord[] = [];
  for await (const record of readJournal(path, options)) records.push(record);
  return records;
}
