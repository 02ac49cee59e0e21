import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PhonehomeError } from '../errors.ts';
import type { Verdict, VerdictStatus } from '../types.ts';

/** One run folder, as the merged summary shows it. */
export interface MergedRun {
  folder: string;
  runId: string;
  device: { id: string; kind: string; firmware?: string };
  scenario: { name: string; title: string };
  status: VerdictStatus;
  verdicts: Verdict[];
  findingsBeforeConsent: number;
  startedAt: string;
  endedAt: string;
  error?: string;
}

export interface MergedSummary {
  status: VerdictStatus;
  runs: MergedRun[];
}

/**
 * Reads run folders (or folders of run folders, such as CI artefacts from several shards) into
 * one summary with a verdict per device × scenario. A folder without run.json is an error naming
 * it and the fix (`phonehome report <folder>` rebuilds it from the journal).
 *
 * @example
 *   const summary = mergeRuns(['artifacts/shard-1', 'artifacts/shard-2']);
 */
export function mergeRuns(paths: string[]): MergedSummary {
  const folders = paths.flatMap((path) => runFoldersIn(path));
  if (folders.length === 0) {
    throw new PhonehomeError(
      'USAGE',
      `no run folders (folders with run.json) in ${paths.join(', ')}`,
    );
  }
  const runs = folders
    .map(readRun)
    .sort(
      (a, b) =>
        a.device.id.localeCompare(b.device.id) || a.scenario.name.localeCompare(b.scenario.name),
    );
  const status: VerdictStatus = runs.some((run) => run.status === 'fail')
    ? 'fail'
    : runs.some((run) => run.status === 'inconclusive')
      ? 'inconclusive'
      : 'pass';
  return { status, runs };
}

function runFoldersIn(path: string): string[] {
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new PhonehomeError(
      'USAGE',
      `${path} is not a folder; give run folders or folders that hold them`,
    );
  }
  if (existsSync(join(path, 'run.json'))) return [path];
  if (existsSync(join(path, 'journal.ndjson'))) {
    throw new PhonehomeError(
      'USAGE',
      `${path} has a journal but no run.json (the run was killed?); rebuild it with \`phonehome report ${path}\` first`,
    );
  }
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .flatMap((entry) => runFoldersIn(join(path, entry.name)));
}

function readRun(folder: string): MergedRun {
  const file = join(folder, 'run.json');
  let run: {
    runId?: string;
    device?: MergedRun['device'];
    scenario?: MergedRun['scenario'];
    status?: VerdictStatus;
    verdicts?: Verdict[];
    checks?: Verdict[];
    findingsBeforeConsent?: number;
    startedAt?: string;
    endedAt?: string;
    error?: string;
  };
  try {
    run = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PhonehomeError('USAGE', `${file} is not readable JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!run.device || !run.scenario || !run.status) {
    throw new PhonehomeError(
      'USAGE',
      `${file} is not a phonehome run.json (no device, scenario or status)`,
    );
  }
  return {
    folder,
    runId: run.runId ?? basename(folder),
    device: run.device,
    scenario: run.scenario,
    status: run.status,
    verdicts: [...(run.verdicts ?? []), ...(run.checks ?? [])],
    findingsBeforeConsent: run.findingsBeforeConsent ?? 0,
    startedAt: run.startedAt ?? '',
    endedAt: run.endedAt ?? '',
    ...(run.error ? { error: run.error } : {}),
  };
}
