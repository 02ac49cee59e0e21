import { relative } from 'node:path';
import type { ScenarioOutcome } from '../scenario/run.ts';
import type { JudgedFinding } from '../types.ts';
import { overallStatus } from './json-report.ts';

/**
 * Masks the matched value inside a fragment ("deviceId=⟦865432101234564⟧" →
 * "deviceId=⟦86…564⟧") so console output and messages can be pasted without the identifier.
 */
export function maskFragment(fragment: string, reveal = false): string {
  if (reveal) return fragment;
  return (
    fragment
      .replace(/⟦([^⟧]*)⟧/g, (_match, value: string) => `⟦${maskValue(value)}⟧`)
      // Other identifiers in the context (an IMEI beside the matched number) are masked too:
      // long digit runs, hex runs and e-mail addresses.
      .replace(/(?:\+|%2B)?\d{6,}|[0-9a-f]{16,}|[\w.+-]+@[\w-]+(?:\.[\w-]+)+/gi, (value) =>
        maskValue(value),
      )
  );
}

export function maskValue(value: string): string {
  if (value.length <= 6) return '…';
  return `${value.slice(0, 2)}…${value.slice(-3)}`;
}

/**
 * A few readable lines per run: the verdict, what left the phone before consent (identifier,
 * host, where, form, step), what came after consent, and where the report is.
 *
 * @example
 *   console.log(formatOutcome(await runScenario({ scenario, entry }), { reveal: false }));
 */
export function formatOutcome(outcome: ScenarioOutcome, options: { reveal: boolean }): string {
  const { result, checks } = outcome;
  const status = overallStatus([...result.verdicts, ...checks]);
  const firmware = result.device.firmware ? ` (firmware ${result.device.firmware})` : '';
  const lines = [
    `${status.toUpperCase()}  ${result.scenario.name} on ${result.device.id}${firmware}: ${result.exchanges} exchanges, ${result.findings.length} findings`,
  ];
  const before = result.findings.filter((finding) => finding.beforeConsent);
  const after = result.findings.filter((finding) => !finding.beforeConsent);
  const consentNames =
    result.consents.map((consent) => `'${consent.name}'`).join(', ') || 'any consent';
  if (before.length > 0) {
    lines.push(`  leaked before consent ${consentNames}:`);
    lines.push(...grouped(before, options.reveal));
  } else {
    lines.push(`  nothing identifying left the phone before consent ${consentNames}`);
  }
  // After consent is allowed: one line per host is enough to show the consent worked as a gate.
  const hosts = [...new Set(after.map((finding) => finding.host))];
  for (const host of hosts) {
    const labels = [...new Set(after.filter((f) => f.host === host).map((f) => f.label))];
    lines.push(`  after consent (allowed) → ${host}: ${labels.join(', ')}`);
  }
  for (const failure of result.unreadable.slice(0, 5)) {
    lines.push(
      `  unreadable TLS: ${failure.host ?? '(no SNI)'} (${failure.cause}) during step '${failure.step}'`,
    );
  }
  if (result.unreadable.length > 5)
    lines.push(`  … and ${result.unreadable.length - 5} more unreadable connections`);
  for (const check of checks.filter(
    (c) => c.status !== 'pass' && c.name === 'the scenario ran to the end',
  )) {
    lines.push(`  ${check.message}`);
  }
  for (const note of result.notes ?? []) lines.push(`  note: ${note}`);
  lines.push(`  report: ${relative(process.cwd(), result.folder) || result.folder}/`);
  return lines.join('\n');
}

/** One line per identifier and host: where and in which forms, and the first step it was seen in. */
function grouped(findings: JudgedFinding[], reveal: boolean): string[] {
  const groups = new Map<string, JudgedFinding[]>();
  for (const finding of findings) {
    const key = `${finding.label}\u0000${finding.host}`;
    groups.set(key, [...(groups.get(key) ?? []), finding]);
  }
  return [...groups.values()].map((group) => {
    const first = group.reduce((a, b) => (b.startedAt < a.startedAt ? b : a));
    const where = [
      ...new Set(group.map((f) => (f.form === 'plain' ? f.where : `${f.where} (${f.form})`))),
    ];
    const weak = group.every((f) => f.evidence === 'weak') ? ' [weak evidence]' : '';
    return `    ${first.label.padEnd(18)} → ${first.host}  in ${where.slice(0, 3).join(', ')}${where.length > 3 ? ', …' : ''}${weak}  — from step '${first.step}': ${maskFragment(first.fragment, reveal)}`;
  });
}
