import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunStartRecord } from '../../src/journal/records.ts';
import { readJournalAll } from '../../src/journal/reader.ts';
import type { RunReportInput } from '../../src/report/write-run-reports.ts';
import { analyseJournal } from '../../src/verdict/analyse.ts';

/**
 * The fixture journal: a real run of redmi-1s-2014 on the virtual phone with its times moved to
 * 2014-08-08T10:00:00Z and its exchange ids numbered (so derived files are the same on every
 * run), plus what the virtual phone does not send: a binary body, an identifier gzip'd inside
 * base64 inside JSON, a request without an answer, a TLS connection that could not be opened.
 */
export const FIXTURE_JOURNAL = join(
  import.meta.dirname,
  '..',
  'fixtures',
  'report',
  'redmi-1s-2014',
  'journal.ndjson',
);

/** Copies the fixture journal into `folder` and analyses it, ready for writeRunReports. */
export async function fixtureRun(folder: string): Promise<RunReportInput> {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const journal = join(folder, 'journal.ndjson');
  copyFileSync(FIXTURE_JOURNAL, journal);
  const { result, identifiers } = await analyseJournal(journal);
  const start = (await readJournalAll(journal))[0] as RunStartRecord;
  return {
    result,
    identifiers,
    versions: start.versions,
  };
}
