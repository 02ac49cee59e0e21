import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { PhonehomeError } from '../errors.ts';
import { readJournal } from '../journal/reader.ts';
import { isRedactedStart } from '../report/redacted-copy.ts';
import type { RunResult } from '../types.ts';
import { analyseJournal, journalPathOf } from '../verdict/analyse.ts';

/**
 * A run to compare, rebuilt from its journal (the source of truth: a killed run compares too,
 * and an improved detector applies to old runs).
 *
 * @example
 *   const before = await loadRun('reports/20261121-193219-virtual-redmi-1s-2014-fsecure-out-of-box');
 */
export async function loadRun(path: string): Promise<RunResult> {
  const journal = journalPathOf(resolve(path));
  if (!existsSync(journal)) {
    throw new PhonehomeError(
      'USAGE_NO_JOURNAL',
      `${path} has no journal.ndjson; give two run folders under reports/`,
    );
  }
  for await (const record of readJournal(journal)) {
    if (isRedactedStart(record)) {
      throw new PhonehomeError(
        'USAGE_REDACTED_COPY',
        `${path} is a redacted copy, whose identifiers were removed: compare the original run folders`,
      );
    }
    break;
  }
  return (await analyseJournal(journal)).result;
}
