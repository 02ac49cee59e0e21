import { importScenario } from '../scenario/load.ts';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readEnvironment } from '../config/env.ts';
import { readIdentifiersFile } from '../detect/identifiers.ts';
import { mergeIdentifiers, type LearntIdentifiers } from '../detect/run-identifiers.ts';
import {
  EXIT,
  PhonehomeError,
  describeError,
  exitCodeFor,
  exitCodeForStatus,
  isParseArgsError,
} from '../errors.ts';
import { readJournal } from '../journal/reader.ts';
import type { RunStartRecord } from '../journal/records.ts';
import { formatOutcome } from '../report/console-summary.ts';
import { createRangeFinder } from '../report/identifier-ranges.ts';
import { findLeftovers } from '../report/redaction-check.ts';
import { isRedactedStart, writeRedactedCopy } from '../report/redacted-copy.ts';
import { writeRunReports } from '../report/write-run-reports.ts';
import type { Identifier, RunResult, Verdict, VerdictStatus } from '../types.ts';
import { analyseJournal, journalPathOf } from '../verdict/analyse.ts';
import { evaluateChecks, withChecks } from '../verdict/judge.ts';

const USAGE = `usage: phonehome report <run-folder | journal.ndjson> [--reveal] [--redact [--out folder] [--identifiers ids.json]] [--scenario file.scenario.ts] [--quiet]

Rebuilds run.json, findings.json, capture.har, junit.xml and report.html from the run's journal
(a run that was killed gets its report too). --reveal shows identifier values in report.html.
--redact writes a copy of the folder safe to attach to a bug report (default <run-folder>-redacted),
checks it with the detector, and leaves the original alone; it refuses a run that looked for no
identifiers unless --identifiers names them.
Exit codes: 0 the run passes, 1 a verdict failed or is inconclusive, or the run stopped early (a killed
run: its reports are written all the same), 2 bad input, 3 a report could not be written.`;

/**
 * `phonehome report <run-folder>`: rebuilds every derived file of a run folder from its journal,
 * or with `--redact` writes a redacted copy and proves it clean. Returns the exit code.
 *
 * @example
 *   process.exitCode = await reportCommand(['reports/latest', '--redact']);
 */
export async function reportCommand(argv: string[]): Promise<number> {
  try {
    return await report(argv);
  } catch (error) {
    if (!(error instanceof PhonehomeError) && !isParseArgsError(error)) throw error;
    console.error(`phonehome report: ${describeError(error)}`);
    return exitCodeFor(error);
  }
}

async function report(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      reveal: { type: 'boolean', default: false },
      redact: { type: 'boolean', default: false },
      identifiers: { type: 'string' },
      out: { type: 'string' },
      scenario: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (positionals.length !== 1) {
    console.error(
      `phonehome report: ${positionals.length === 0 ? 'which run? give a run folder under reports/' : `one run at a time; got ${positionals.join(', ')}`}\n${USAGE}`,
    );
    return EXIT.usage;
  }
  if (values.identifiers && !values.redact) {
    console.error(`phonehome report: --identifiers goes with --redact\n${USAGE}`);
    return EXIT.usage;
  }
  if (values.out && !values.redact) {
    console.error(`phonehome report: --out goes with --redact\n${USAGE}`);
    return EXIT.usage;
  }
  if (values.reveal && values.redact) {
    console.error('phonehome report: --reveal and --redact contradict each other; choose one');
    return EXIT.usage;
  }
  const journal = journalPathOf(resolve(positionals[0] as string));
  const folder = dirname(journal);
  const start = await runStart(journal);
  const { result: base, identifiers } = await analyseJournal(journal, {
    onTornLine: (line) =>
      console.error(
        `phonehome report: ${journal}:${line} is torn (the run was killed while writing it); skipped`,
      ),
  });
  const { checks, source } = await scenarioChecks(start, base, folder, values.scenario);
  const result = withChecks(base, checks);
  const reveal = values.reveal || (!values.redact && readEnvironment().reveal);
  const input = { result, identifiers, versions: start.versions, reveal };
  const log = (line: string) => {
    if (!values.quiet) console.log(line);
  };

  if (!values.redact) {
    const files = await writeRunReports(input);
    log(formatOutcome(result, { reveal }));
    if (source) log(`  checks: ${source}`);
    for (const file of files.written) log(`  wrote ${shown(file)}`);
    if (files.failed.length > 0) return EXIT.internal;
    return verdictExit(result.status);
  }
  // Redaction replaces what is known: with nothing known, a "clean" copy would be a lie.
  const known = values.identifiers
    ? mergeIdentifiers([
        ...identifierSources(identifiers),
        { source: 'file', values: readIdentifiersFile(values.identifiers) },
      ])
    : identifiers;
  if (known.length === 0) {
    throw new PhonehomeError(
      'USAGE_REDACT_NO_IDENTIFIERS',
      `${folder} looked for no identifiers, so nothing could be redacted and no copy can be proven clean; give the phone's with --identifiers ids.json ({ "imei": ["…"] })`,
    );
  }
  const out = resolve(values.out ?? `${folder}-redacted`);
  const files = await writeRedactedCopy({ ...input, identifiers: known }, out);
  const leftovers = await findLeftovers(out, createRangeFinder(known));
  if (leftovers.length > 0) {
    // A copy that is not clean must not stay around looking like one.
    rmSync(out, { recursive: true, force: true });
    const lines = leftovers
      .slice(0, 10)
      .map((l) => `  ${relative(out, l.file)}: ${l.label} (${l.where})`);
    throw new PhonehomeError(
      'REPORT_REDACTION_INCOMPLETE',
      `the redacted copy still held identifiers and was deleted; please report this as a bug:\n${lines.join('\n')}`,
    );
  }
  log(formatOutcome(result, { reveal: false }));
  if (source) log(`  checks: ${source}`);
  log(
    `redacted copy: ${shown(out)}/ (${files.written.length} files) — checked with the detector: no identifier value or encoded form is left`,
  );
  if (files.failed.length > 0) return EXIT.internal;
  return verdictExit(result.status);
}

/**
 * The exit code of a rebuilt report: by the verdict. A run that broke off (status error: killed,
 * or a phone lost) is a verdict that is not a pass here, 1; 3 is kept for reports not written.
 */
function verdictExit(status: VerdictStatus): number {
  return status === 'error' ? EXIT.leak : exitCodeForStatus(status);
}

async function runStart(journal: string): Promise<RunStartRecord> {
  if (!existsSync(journal)) {
    throw new PhonehomeError(
      'USAGE_NO_JOURNAL',
      `${journal} does not exist; give a run folder under reports/ (it holds journal.ndjson)`,
    );
  }
  for await (const record of readJournal(journal)) {
    if (isRedactedStart(record)) {
      throw new PhonehomeError(
        'USAGE_REDACTED_COPY',
        `${dirname(journal)} is a redacted copy: its identifiers were removed, so its reports cannot be rebuilt (they were written when the copy was made); run \`phonehome report\` on the original run folder`,
      );
    }
    if (record.type === 'run-start') return record;
    break;
  }
  throw new PhonehomeError(
    'USAGE_NOT_A_JOURNAL',
    `${journal} does not start with a run-start record; it is not a phonehome journal`,
  );
}

/**
 * The scenario's own checks, evaluated again on the rebuilt result: from --scenario, else
 * scenarios/<name>.scenario.ts here, else as the runner recorded them in run.json.
 */
async function scenarioChecks(
  start: RunStartRecord,
  result: RunResult,
  folder: string,
  explicit: string | undefined,
): Promise<{ checks: Verdict[]; source: string }> {
  const file = explicit ? resolve(explicit) : resolve('scenarios', `${start.scenario}.scenario.ts`);
  if (explicit || existsSync(file)) {
    const scenario = await importScenario(file);
    if (scenario.name !== start.scenario) {
      console.error(
        `phonehome report: ${file} is scenario '${scenario.name}', the run was '${start.scenario}'; its checks are applied anyway`,
      );
    }
    return {
      checks: evaluateChecks(scenario.checks, result),
      source: `evaluated from ${shown(file)}`,
    };
  }
  const recorded = recordedChecks(folder);
  if (recorded)
    return {
      checks: recorded,
      source: 'as recorded in run.json (the scenario file was not found)',
    };
  return {
    checks: [],
    source: `none: scenarios/${start.scenario}.scenario.ts was not found; pass --scenario`,
  };
}

function recordedChecks(folder: string): Verdict[] | undefined {
  const path = join(folder, 'run.json');
  if (!existsSync(path) || !statSync(path).isFile()) return undefined;
  try {
    const run = JSON.parse(readFileSync(path, 'utf8')) as { verdicts?: Verdict[] };
    return Array.isArray(run.verdicts) ? run.verdicts.filter((v) => v.rule === 'check') : undefined;
  } catch {
    // A run.json cut short by the kill is no source of checks; the journal still is of the rest.
    return undefined;
  }
}

/** A run's identifiers as sources again, by where each came from, to merge with more. */
function identifierSources(identifiers: Identifier[]): LearntIdentifiers[] {
  const sources = new Map<Identifier['source'], LearntIdentifiers>();
  for (const { source, kind, value } of identifiers) {
    const entry = sources.get(source) ?? { source, values: {} };
    (entry.values[kind] ??= []).push(value);
    sources.set(source, entry);
  }
  return [...sources.values()];
}

function shown(path: string): string {
  return relative(process.cwd(), path) || path;
}
