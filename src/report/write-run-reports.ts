import { join } from 'node:path';
import { readEnvironment } from '../config/env.ts';
import { describeError } from '../errors.ts';
import { writeHar } from './har.ts';
import type { Identifier, RunResult } from '../types.ts';
import { buildReportModel } from './html-model.ts';
import { reportHtml } from './html-report.ts';
import { createRangeFinder, type RangeFinder } from './identifier-ranges.ts';
import { runRecord, writeJsonReports } from './json-report.ts';
import { junitXml } from './junit-report.ts';
import { writePrivateFile } from '../journal/private-file.ts';
import type { ShowMode } from './show-mode.ts';

export interface RunReportInput {
  result: RunResult;
  /** Every identifier the run looked for (values included: reports mask them unless asked). */
  identifiers: Identifier[];
  versions: Record<string, string>;
  /** Show identifier values in report.html (`--reveal`); by default PHONEHOME_REVEAL decides. */
  reveal?: boolean;
}

/** The derived files of a run folder, beside journal.ndjson. */
export const DERIVED_FILES = [
  'run.json',
  'findings.json',
  'capture.har',
  'junit.xml',
  'report.html',
] as const;

export interface ReportFiles {
  /** Paths written. */
  written: string[];
  /** Files that could not be written, and why; the others were written all the same. */
  failed: { file: string; error: string }[];
}

/**
 * Writes every derived file of a run folder from the analysed journal: run.json, findings.json,
 * capture.har, junit.xml, report.html — all mode 0600. The runner calls this at the end of a run;
 * `phonehome report` calls it to rebuild a folder. One file failing does not stop the others
 * (a report that cannot be drawn must not cost the JUnit file CI is waiting for); failures are
 * returned and logged.
 *
 * @example
 *   const { failed } = await writeRunReports({ result, identifiers, versions });
 */
export async function writeRunReports(input: RunReportInput): Promise<ReportFiles> {
  const mode: ShowMode = (input.reveal ?? readEnvironment().reveal) ? 'reveal' : 'mask';
  const finder = createRangeFinder(input.identifiers);
  const files = await writeDerivedFiles(input, finder, mode, {});
  for (const { file, error } of files.failed) {
    console.error(`phonehome: could not write ${file}: ${error}`);
  }
  return files;
}

/**
 * Writes the derived files of `input.result.folder` from the journal `journalPath` (by default the
 * folder's own), showing identifiers as `mode` says. Shared by a run's reports and its redacted
 * copy.
 */
export async function writeDerivedFiles(
  input: RunReportInput,
  finder: RangeFinder,
  mode: ShowMode,
  options: { journalPath?: string; redacted?: boolean },
): Promise<ReportFiles> {
  const { result, versions } = input;
  const folder = result.folder;
  const journalPath = options.journalPath ?? join(folder, 'journal.ndjson');
  const files: ReportFiles = { written: [], failed: [] };
  const attempt = async (names: string | string[], work: () => unknown) => {
    const paths = (Array.isArray(names) ? names : [names]).map((name) => join(folder, name));
    try {
      await work();
      files.written.push(...paths);
    } catch (error) {
      for (const file of paths) files.failed.push({ file, error: describeError(error) });
    }
  };
  await attempt(['run.json', 'findings.json'], () =>
    writeJsonReports(result, versions, { redacted: options.redacted === true }),
  );
  await attempt('capture.har', () =>
    writeHar(journalPath, join(folder, 'capture.har'), {
      result,
      findings: result.findings,
      version: versions.phonehome ?? 'unknown',
    }),
  );
  await attempt('junit.xml', () =>
    writePrivateFile(
      join(folder, 'junit.xml'),
      junitXml([runRecord(result, versions, { redacted: options.redacted === true })]),
    ),
  );
  await attempt('report.html', async () => {
    const model = await buildReportModel({ result, journalPath, finder, mode });
    writePrivateFile(join(folder, 'report.html'), reportHtml(model));
  });
  return files;
}
