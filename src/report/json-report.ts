import { join } from 'node:path';
import { coverageLine, statusWord, type Coverage } from '../coverage.ts';
import { writePrivateFile } from '../journal/private-file.ts';
import type { RouteProbe, RunResult, UnscannedPart, Verdict, VerdictStatus } from '../types.ts';
import { probeLines } from './route-probes.ts';

/**
 * What `run.json` holds: the run, its verdicts and its one status. Merge, JUnit and CI read this
 * shape; the verdicts' finding ids point into `findings.json`.
 */
export interface RunRecord {
  runId: string;
  scenario: RunResult['scenario'];
  device: RunResult['device'];
  startedAt: string;
  endedAt: string;
  versions: Record<string, string>;
  status: VerdictStatus;
  verdicts: Verdict[];
  marks: (Omit<RunResult['marks'][number], 'at'> & { at: string })[];
  exchanges: number;
  identifiers: number;
  findings: number;
  findingsBeforeConsent: number;
  unreadableConnections: number;
  /** DNS lookups recorded (gateway and vpn routes), absent when there were none. */
  lookups?: number;
  /** What the capture could see, and a line saying so with the run's counts (src/coverage.ts). */
  coverage: Coverage & { statement: string };
  /** The status as said to people: "PASS (proxy-aware traffic only)" on a partly blind route. */
  statusWord: string;
  /**
   * The route probes the run sent, each with whether it arrived (times as ISO strings), and a
   * line per probe saying so. Absent for a run from before route probes.
   */
  route?: {
    probes: (Omit<RouteProbe, 'sentAt' | 'arrivedAt'> & { sentAt: string; arrivedAt?: string })[];
    statement: string[];
  };
  notes?: string[];
  /**
   * Parts not scanned (over a budget, or opaque: "opaque: …"), absent when there were none; an
   * opaque part declared harmless carries the declaration's reason as `excepted`.
   */
  unscanned?: (Omit<UnscannedPart, 'at'> & { at: string })[];
  error?: string;
  redacted?: boolean;
}

/**
 * The run.json record of a result.
 *
 * @example
 *   runRecord(result, { phonehome: '0.1.0' }).status // → 'fail'
 */
export function runRecord(
  result: RunResult,
  versions: Record<string, string>,
  options: { redacted?: boolean } = {},
): RunRecord {
  return {
    runId: result.runId,
    scenario: result.scenario,
    device: result.device,
    startedAt: new Date(result.startedAt).toISOString(),
    endedAt: new Date(result.endedAt).toISOString(),
    versions,
    status: result.status,
    verdicts: result.verdicts,
    marks: result.marks.map((mark) => ({ ...mark, at: new Date(mark.at).toISOString() })),
    exchanges: result.exchanges,
    identifiers: result.identifiers,
    findings: result.findings.length,
    findingsBeforeConsent: result.findings.filter((finding) => finding.beforeConsent).length,
    unreadableConnections: result.unreadable.length,
    ...(result.lookups ? { lookups: result.lookups } : {}),
    coverage: { ...result.coverage, statement: coverageLine(result) },
    statusWord: statusWord(result.status, result.coverage),
    ...(result.probes
      ? {
          route: {
            probes: result.probes.map(({ sentAt, arrivedAt, ...probe }) => ({
              ...probe,
              sentAt: new Date(sentAt).toISOString(),
              ...(arrivedAt !== undefined ? { arrivedAt: new Date(arrivedAt).toISOString() } : {}),
            })),
            statement: probeLines(result),
          },
        }
      : {}),
    ...(result.notes && result.notes.length > 0 ? { notes: result.notes } : {}),
    ...(result.unscanned.length > 0
      ? {
          unscanned: result.unscanned.map((part) => ({
            ...part,
            at: new Date(part.at).toISOString(),
          })),
        }
      : {}),
    ...(result.error ? { error: result.error } : {}),
    ...(options.redacted ? { redacted: true } : {}),
  };
}

/**
 * Writes `run.json` (what ran, on what, when, with which versions, and the verdicts) and
 * `findings.json` (every finding on the timeline) into the run folder, mode 0600: they hold
 * identifier fragments. A redacted copy says so in `run.json`.
 *
 * @example
 *   writeJsonReports(result, { phonehome: '0.1.0' });
 */
export function writeJsonReports(
  result: RunResult,
  versions: Record<string, string>,
  options: { redacted?: boolean } = {},
): void {
  writePrivate(join(result.folder, 'run.json'), runRecord(result, versions, options));
  writePrivate(join(result.folder, 'findings.json'), { findings: result.findings });
}

function writePrivate(path: string, data: unknown): void {
  writePrivateFile(path, JSON.stringify(data, null, 2) + '\n');
}
