import { join } from 'node:path';
import type { RunResult } from '../scenario/result.ts';
import type { Verdict } from '../types.ts';
import { writePrivateFile } from './private-file.ts';

/**
 * Writes `run.json` (what ran, on what, when, with which versions, and the verdicts) and
 * `findings.json` (every finding on the timeline) into the run folder, mode 0600: they hold
 * identifier fragments. A redacted copy says so in `run.json`.
 *
 * @example
 *   writeJsonReports(result, { phonehome: '0.1.0' }, checks);
 */
export function writeJsonReports(
  result: RunResult,
  versions: Record<string, string>,
  checks: Verdict[],
  options: { redacted?: boolean } = {},
): void {
  const run = {
    runId: result.runId,
    scenario: result.scenario,
    device: result.device,
    startedAt: new Date(result.startedAt).toISOString(),
    endedAt: new Date(result.endedAt).toISOString(),
    versions,
    status: overallStatus([...result.verdicts, ...checks]),
    verdicts: result.verdicts,
    checks,
    marks: result.marks.map((mark) => ({ ...mark, at: new Date(mark.at).toISOString() })),
    exchanges: result.exchanges,
    findings: result.findings.length,
    findingsBeforeConsent: result.findings.filter((finding) => finding.beforeConsent).length,
    unreadableConnections: result.unreadable.length,
    ...(result.notes && result.notes.length > 0 ? { notes: result.notes } : {}),
    ...(result.error ? { error: result.error } : {}),
    ...(options.redacted ? { redacted: true } : {}),
  };
  writePrivate(join(result.folder, 'run.json'), run);
  writePrivate(join(result.folder, 'findings.json'), { findings: result.findings });
}

/** fail beats inconclusive beats pass. */
export function overallStatus(verdicts: Verdict[]): Verdict['status'] {
  if (verdicts.some((verdict) => verdict.status === 'fail')) return 'fail';
  if (verdicts.some((verdict) => verdict.status === 'inconclusive')) return 'inconclusive';
  return 'pass';
}

function writePrivate(path: string, data: unknown): void {
  writePrivateFile(path, JSON.stringify(data, null, 2) + '\n');
}
