import { PhonehomeError } from '../errors.ts';
import type { DiffRow, RunDiff } from './compare-runs.ts';

/**
 * What can make `phonehome diff` fail:
 * - `new`: B leaks something before consent that A did not (a (host, kind, phase) only B has);
 * - `remaining`: a pre-consent leak of A is still in B;
 * - `new-after-consent`: B sends, after consent, something A did not send at all;
 * - `new-hosts`: B contacts a host before consent that A did not (even without identifiers);
 * - `inconclusive`: B's verdict is inconclusive (TLS it could not read before consent).
 */
export const FAIL_RULES = [
  'new',
  'remaining',
  'new-after-consent',
  'new-hosts',
  'inconclusive',
] as const;

export type FailRule = (typeof FAIL_RULES)[number];

/** By default the diff fails when B brought a leak or kept one: "did the update fix it?" */
export const DEFAULT_FAIL_RULES: FailRule[] = ['new', 'remaining'];

export interface DiffVerdictOptions {
  failOn: FailRule[];
  /** Ignore rows whose findings are all weak evidence (an operator name in free text). */
  strongOnly: boolean;
}

export interface DiffVerdict {
  ok: boolean;
  /** One line per reason the diff fails; empty when ok. */
  reasons: string[];
}

/**
 * Decides the exit code of a diff from the chosen rules.
 *
 * @example
 *   judgeDiff(compareRuns(before, after), { failOn: DEFAULT_FAIL_RULES, strongOnly: false })
 *   // → { ok: true, reasons: [] } when every pre-consent leak is fixed and none is new
 */
export function judgeDiff(diff: RunDiff, options: DiffVerdictOptions): DiffVerdict {
  const counts = (row: DiffRow) => !options.strongOnly || !((row.b ?? row.a)?.weakOnly ?? false);
  const rows = diff.rows.filter(counts);
  const reasons: string[] = [];
  const on = (rule: FailRule) => options.failOn.includes(rule);
  const describe = (row: DiffRow) => `${row.kind} → ${row.host} (${row.phase})`;
  if (on('new')) {
    for (const row of rows.filter((r) => r.status === 'new' && r.beforeConsent))
      reasons.push(`new leak: ${describe(row)}`);
  }
  if (on('remaining')) {
    for (const row of rows.filter((r) => r.status === 'still' && r.beforeConsent))
      reasons.push(`still leaking: ${describe(row)}`);
  }
  if (on('new-after-consent')) {
    for (const row of rows.filter((r) => r.status === 'new' && !r.beforeConsent))
      reasons.push(`newly sent after consent: ${describe(row)}`);
  }
  if (on('new-hosts')) {
    for (const host of diff.hosts.newlyContacted)
      reasons.push(`newly contacted before consent: ${host.host}`);
  }
  if (on('inconclusive') && diff.b.status === 'inconclusive') {
    reasons.push('B is inconclusive: some traffic before consent could not be read');
  }
  return { ok: reasons.length === 0, reasons };
}

/**
 * Reads `--fail-on new,remaining,…` ("none" for a diff that only reports).
 *
 * @example
 *   parseFailRules('new,new-hosts') // → ['new', 'new-hosts']
 */
export function parseFailRules(value: string): FailRule[] {
  if (value.trim() === 'none') return [];
  return value.split(',').map((item) => {
    const rule = item.trim();
    if (!(FAIL_RULES as readonly string[]).includes(rule)) {
      throw new PhonehomeError(
        'USAGE_FAIL_ON',
        `--fail-on: unknown rule '${rule}'; choose from ${FAIL_RULES.join(', ')}, or none`,
      );
    }
    return rule as FailRule;
  });
}
