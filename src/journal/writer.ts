import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { PhonehomeError } from '../errors.ts';
import type { JournalRecord } from './records.ts';

/**
 * Appends records to `journal.ndjson`, one line each, and flushes every line to disk before
 * returning: a run killed with SIGKILL keeps every record whose `append` returned.
 *
 * Writes are synchronous on purpose. mockttp's event handlers finish out of order; a synchronous
 * append inside the handler records the exchange the moment it completed, and the fsync costs
 * far less than the phone's own network round trip.
 *
 * @example
 *   const journal = JournalWriter.open('reports/run/journal.ndjson');
 *   journal.append({ type: 'mark', mark: { type: 'step', name: 'insert SIM', at: Date.now() } });
 *   journal.close();
 */
export class JournalWriter {
  readonly path: string;
  private fd: number | undefined;
  private count = 0;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.fd = fd;
  }

  /** Creates the journal; it must not exist yet (a run never writes into another's journal). */
  static open(path: string): JournalWriter {
    try {
      return new JournalWriter(path, openSync(path, 'wx', 0o600));
    } catch (error) {
      throw new PhonehomeError(
        'JOURNAL_OPEN',
        `cannot create the journal ${path}: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Number of records appended so far. */
  get records(): number {
    return this.count;
  }

  append(record: JournalRecord): void {
    if (this.fd === undefined) {
      throw new PhonehomeError('JOURNAL_CLOSED', `the journal ${this.path} is closed`);
    }
    writeSync(this.fd, JSON.stringify(record) + '\n');
    fsyncSync(this.fd);
    this.count += 1;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
