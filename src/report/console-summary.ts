import { relative } from 'node:path';
import { coverageLine, isTlsFailure, statusWord } from '../coverage.ts';
import { maskFragment } from '../detect/mask.ts';
import { kindName } from '../detect/identifiers.ts';
import { probeLines } from './route-probes.ts';
import type { JudgedFinding, RunResult, Verdict } from '../types.ts';

const MARK: Record<Verdict['status'], string> = {
  pass: '✓',
  fail: '✗',
  inconclusive: '?',
  error: '!',
};

/**
 * A few readable lines per run: its status, then every verdict with what it rests on — for a
 * consent, each identifier sent before it (host, where, form, step, fragment); for the forbidden
 * hosts, each early contact; for unreadable traffic, the connections — then what no consent
 * judges, what came after consent, and where the report is. Every line reads the run's verdicts.
 *
 * @example
 *   console.log(formatOutcome(await runScenario({ scenario, entry }), { reveal: false }));
 */
export function formatOutcome(result: RunResult, options: { reveal: boolean }): string {
  const firmware = result.device.firmware ? ` (firmware ${result.device.firmware})` : '';
  const lines = [
    `${statusWord(result.status, result.coverage)}  ${result.scenario.name} on ${result.device.id}${firmware}: ${result.exchanges} exchanges, ${result.findings.length} findings`,
  ];
  for (const verdict of result.verdicts) {
    lines.push(`  ${MARK[verdict.status]} ${verdict.name}${tag(verdict)}`);
    if (verdict.status === 'pass') continue;
    const findings = verdict.findings.map((id) => result.findings[id] as JudgedFinding);
    if (findings.length > 0)
      lines.push(...grouped(findings, options.reveal).map((line) => `      ${line}`));
    else lines.push(...verdict.message.split('\n').map((line) => `      ${line.trim()}`));
    for (const index of verdict.unreadable.slice(0, 5)) {
      const failure = result.unreadable[index]!;
      lines.push(
        `      unreadable ${isTlsFailure(failure.cause) ? 'TLS' : 'connection'}: ${failure.host ?? '(no SNI)'}${failure.port !== undefined ? `:${failure.port}` : ''} (${failure.cause}) during step '${failure.step}'`,
      );
    }
    if (verdict.unreadable.length > 5)
      lines.push(`      … and ${verdict.unreadable.length - 5} more unreadable connections`);
    // Shown under a failure too: what was not scanned may hide more than was found.
    if (verdict.status === 'fail') {
      for (const index of verdict.unscanned.slice(0, 5)) {
        const part = result.unscanned[index]!;
        lines.push(`      not scanned: ${part.host || '(no host)'} ${part.where} (${part.reason})`);
      }
    }
  }
  // No consent covers these kinds: shown, so nobody thinks they went unseen, but judged by none.
  const unjudged = result.findings.filter((finding) => finding.consent === undefined);
  for (const [host, labels] of labelsByHost(unjudged)) {
    const kinds = [
      ...new Set(unjudged.filter((f) => f.host === host).map((f) => kindName(f.kind))),
    ];
    lines.push(
      `  not judged (no consent covers ${kinds.join(', ')}) → ${host}: ${labels.join(', ')}`,
    );
  }
  // After consent is allowed: one line per host is enough to show the consent worked as a gate.
  const allowed = result.findings.filter((f) => f.consent !== undefined && !f.beforeConsent);
  for (const [host, labels] of labelsByHost(allowed))
    lines.push(`  after consent (allowed) → ${host}: ${labels.join(', ')}`);
  const after = result.unreadable.filter(
    (_, index) => !result.verdicts.some((v) => v.unreadable.includes(index)),
  ).length;
  if (after > 0) lines.push(`  ${after} TLS connection(s) after consent could not be read`);
  lines.push(`  coverage: ${coverageLine(result)}`);
  for (const line of probeLines(result)) lines.push(`  ${line}`);
  for (const note of result.notes ?? []) lines.push(`  note: ${note}`);
  lines.push(`  report: ${relative(process.cwd(), result.folder) || result.folder}/`);
  return lines.join('\n');
}

function tag(verdict: Verdict): string {
  return verdict.status === 'pass' ? '' : `  — ${verdict.status.toUpperCase()}`;
}

function labelsByHost(findings: JudgedFinding[]): Map<string, string[]> {
  const hosts = new Map<string, string[]>();
  for (const finding of findings) {
    const labels = hosts.get(finding.host) ?? [];
    if (!labels.includes(finding.label)) labels.push(finding.label);
    hosts.set(finding.host, labels);
  }
  return hosts;
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
    return `${first.label.padEnd(18)} → ${first.host}  in ${where.slice(0, 3).join(', ')}${where.length > 3 ? ', …' : ''}${weak}  — from step '${first.step}': ${maskFragment(first.fragment, reveal)}`;
  });
}
