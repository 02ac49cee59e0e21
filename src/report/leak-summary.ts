import type { RunResult } from '../scenario/result.ts';
import { covers } from '../timeline/timeline.ts';
import type { IdentifierKind, JudgedFinding, Verdict } from '../types.ts';
import { IDENTIFIER_KINDS } from '../types.ts';

/**
 * The pre-consent findings a verdict is about: for a consent verdict, those of the kinds its
 * consent covers; for a scenario check, those whose label its message names.
 *
 * @example
 *   leaksOf({ name: "no identifier leaves the phone before consent 'cloud-messaging'", … }, result)
 */
export function leaksOf(verdict: Verdict, result: RunResult): JudgedFinding[] {
  if (verdict.status === 'pass') return [];
  const before = result.findings.filter((finding) => finding.beforeConsent);
  const consentName = /before consent '([^']+)'$/.exec(verdict.name)?.[1];
  const consent = result.consents.find((c) => c.name === consentName);
  if (consent) return before.filter((finding) => covers(consent, finding.kind));
  return before.filter((finding) => verdict.message.includes(`${finding.label} (`));
}

/**
 * Kinds per host, hosts in order of first leak, kinds in the canonical order:
 * "api.account.xiaomi.com: imei, msisdn, operator; data.mistat.xiaomi.com: imei".
 *
 * @example
 *   kindsByHost(result.findings.filter((f) => f.beforeConsent))
 */
export function kindsByHost(findings: JudgedFinding[]): string {
  const hosts = new Map<string, Set<IdentifierKind>>();
  for (const finding of [...findings].sort((a, b) => a.startedAt - b.startedAt)) {
    const kinds = hosts.get(finding.host) ?? new Set<IdentifierKind>();
    kinds.add(finding.kind);
    hosts.set(finding.host, kinds);
  }
  return [...hosts]
    .map(([host, kinds]) => `${host}: ${IDENTIFIER_KINDS.filter((k) => kinds.has(k)).join(', ')}`)
    .join('; ');
}

/**
 * One line that says why a verdict did not pass, naming identifier kinds and hosts when it is
 * about a leak: what CI shows next to the failed test.
 *
 * @example
 *   verdictHeadline(verdict, result)
 *   // → "identifiers sent before consent 'cloud-messaging' — api.account.xiaomi.com: imei, msisdn, operator"
 */
export function verdictHeadline(verdict: Verdict, result: RunResult): string {
  if (verdict.status === 'pass') return '';
  const leaks = leaksOf(verdict, result);
  const firstLine = verdict.message.split('\n')[0] ?? '';
  if (leaks.length === 0) return firstLine;
  const consents = [...new Set(leaks.map((leak) => leak.consent ?? 'consent'))]
    .map((name) => `'${name}'`)
    .join(', ');
  return `identifiers sent before consent ${consents} — ${kindsByHost(leaks)}`;
}
