import type { RunResult } from '../scenario/result.ts';
import type { Identifier, Verdict } from '../types.ts';
import { writeJsonReports } from './json-report.ts';

export interface RunReportInput {
  result: RunResult;
  /** Every identifier the run looked for (values included: reports mask them unless asked). */
  identifiers: Identifier[];
  versions: Record<string, string>;
  /** The scenario's own checks, evaluated on the result. */
  checks: Verdict[];
}

/**
 * Writes every derived file of a run folder from the analysed journal. The runner calls this at
 * the end of a run; `phonehome report` calls it to rebuild a folder.
 */
export async function writeRunReports(input: RunReportInput): Promise<void> {
  writeJsonReports(input.result, input.versions, input.checks);
}
