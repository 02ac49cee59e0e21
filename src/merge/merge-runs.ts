import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PhonehomeError } from '../errors.ts';
import type { RunRecord } from '../report/json-report.ts';
import { overallStatus } from '../verdict/judge.ts';
import type { VerdictStatus } from '../types.ts';

/** One run folder, as the merged summary shows it: its run.json, and where it is. */
export type MergedRun = RunRecord & { folder: string };

export interface MergedSummary {
  status: VerdictStatus;
  runs: MergedRun[];
}

/**
 * Reads run folders (or folders of run folders, such as CI artefacts from several shards) into
 * one summary with a verdict per device × scenario. A folder without run.json is an error naming
 * it and the fix (`phonehome report <folder>` rebuilds it from the journal). Each run counts once:
 * symbolic links (reports/latest) are not followed, and a run found twice (an artefact upload
 * that copied the link's target) is kept once, by its run id.
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
  const byId = new Map<string, MergedRun>();
  for (const run of folders.map(readRun)) if (!byId.has(run.runId)) byId.set(run.runId, run);
  const runs = [...byId.values()].sort(
    (a, b) =>
      a.device.id.localeCompare(b.device.id) || a.scenario.name.localeCompare(b.scenario.name),
  );
  return { status: overallStatus(runs), runs };
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
  return (
    readdirSync(path, { withFileTypes: true })
      // Dirent says "symbolic link", not "directory", for reports/latest: it is not followed.
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .flatMap((entry) => runFoldersIn(join(path, entry.name)))
  );
}

function readRun(folder: string): MergedRun {
  const file = join(folder, 'run.json');
  let run: Partial<RunRecord>;
  try {
    run = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PhonehomeError('USAGE', `${file} is not readable JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!run.device || !run.scenario || !run.status || !Array.isArray(run.verdicts)) {
    throw new PhonehomeError(
      'USAGE',
      `${file} is not a phonehome run.json (no device, scenario, status or verdicts); rebuild it with \`phonehome report ${folder}\``,
    );
  }
  return { ...(run as RunRecord), runId: run.runId ?? basename(folder), folder };
}
