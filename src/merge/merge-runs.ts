import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { PhonehomeError, describeError } from '../errors.ts';
import { runRecord, type RunRecord } from '../report/json-report.ts';
import { analyseJournal } from '../verdict/analyse.ts';
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
 * one summary with a verdict per device × scenario. A folder with a journal but no run.json (a
 * run killed by a signal or a CI time-out) is judged from its journal as `phonehome report`
 * would, and says so in its notes; one whose journal cannot be read is listed as a broken run
 * (status error) naming the folder: one broken shard never hides the others. Each run counts once:
 * symbolic links (reports/latest) are not followed, and a run found twice (an artefact upload
 * that copied the link's target) is kept once, by its run id.
 *
 * @example
 *   const summary = mergeRuns(['artifacts/shard-1', 'artifacts/shard-2']);
 */
export async function mergeRuns(paths: string[]): Promise<MergedSummary> {
  const folders = paths.flatMap((path) => runFoldersIn(path));
  if (folders.length === 0) {
    throw new PhonehomeError(
      'USAGE',
      `no run folders (folders with run.json or journal.ndjson) in ${paths.join(', ')}`,
    );
  }
  const byId = new Map<string, MergedRun>();
  for (const folder of folders) {
    const run = existsSync(join(folder, 'run.json')) ? readRun(folder) : await rebuildRun(folder);
    if (!byId.has(run.runId)) byId.set(run.runId, run);
  }
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
  if (existsSync(join(path, 'run.json')) || existsSync(join(path, 'journal.ndjson'))) return [path];
  return (
    readdirSync(path, { withFileTypes: true })
      // Dirent says "symbolic link", not "directory", for reports/latest: it is not followed.
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .flatMap((entry) => runFoldersIn(join(path, entry.name)))
  );
}

/**
 * A run folder with a journal and no run.json: judged from its journal (what was captured until
 * it was killed), or, when even that fails, a broken run that names the folder and the error.
 */
async function rebuildRun(folder: string): Promise<MergedRun> {
  const journal = join(folder, 'journal.ndjson');
  const fix = `no run.json (the run was killed?): judged from its journal; \`phonehome report ${folder}\` writes its reports`;
  try {
    const { result } = await analyseJournal(journal);
    const versions = firstRecordVersions(journal);
    const record = runRecord(result, versions);
    return { ...record, notes: [...(record.notes ?? []), fix], folder };
  } catch (error) {
    const why = `${journal} could not be judged: ${describeError(error)}`;
    const now = new Date().toISOString();
    return {
      runId: basename(folder),
      scenario: { name: basename(folder), title: basename(folder) },
      device: { id: 'unknown', kind: 'unknown' },
      startedAt: now,
      endedAt: now,
      versions: {},
      status: 'error',
      verdicts: [
        {
          name: 'runs to the end',
          rule: 'ran-to-end',
          status: 'error',
          summary: why,
          message: why,
          findings: [],
          contacts: [],
          unreadable: [],
          unscanned: [],
        },
      ],
      marks: [],
      exchanges: 0,
      identifiers: 0,
      findings: 0,
      findingsBeforeConsent: 0,
      unreadableConnections: 0,
      coverage: {
        route: 'unknown',
        sees: 'nothing: the journal could not be read',
        blind: ['everything'],
        statement: `nothing could be read: ${why}`,
      },
      statusWord: 'ERROR',
      error: why,
      folder,
    };
  }
}

/** The versions the run-start record (the journal's first line) names, or none. */
function firstRecordVersions(journal: string): Record<string, string> {
  try {
    // The first line only: a journal can be gigabytes long.
    const buffer = Buffer.alloc(256 * 1024);
    const fd = openSync(journal, 'r');
    let length: number;
    try {
      length = readSync(fd, buffer, 0, buffer.length, 0);
    } finally {
      closeSync(fd);
    }
    const first = buffer.subarray(0, length).toString('utf8').split('\n', 1)[0] ?? '';
    const versions = (JSON.parse(first) as { versions?: Record<string, string> }).versions;
    return versions && typeof versions === 'object' ? versions : {};
  } catch {
    return {};
  }
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
