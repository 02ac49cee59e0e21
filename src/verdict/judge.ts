import { maskFragment } from '../report/console-summary.ts';
import { covers, Timeline } from '../timeline/timeline.ts';
import type {
  Finding,
  IdentifierKind,
  JudgedFinding,
  Mark,
  TlsFailure,
  Verdict,
} from '../types.ts';

/** A declared consent: its name and the identifier kinds it covers. */
export interface ConsentDeclaration {
  name: string;
  covers: IdentifierKind[] | 'all';
}

/** A host contact, readable or not, placed on the timeline. */
export interface HostContact {
  host: string;
  at: number;
  /** False for a TLS connection the proxy could not open. */
  readable: boolean;
  phase: string;
  step: string;
}

export interface Judgement {
  findings: JudgedFinding[];
  /** TLS connections the proxy could not open, on the timeline. */
  unreadable: (TlsFailure & { phase: string; step: string })[];
  /** Every host contacted, first contact per (host, phase). */
  contacts: HostContact[];
  verdicts: Verdict[];
}

export interface JudgeInput {
  marks: Mark[];
  consents: ConsentDeclaration[];
  findings: Finding[];
  tlsFailures: TlsFailure[];
  /** Host and start time of every exchange. */
  exchanges: { host: string; startedAt: number }[];
  forbiddenHosts: string[];
}

/**
 * Applies the consent semantics of DESIGN.md: a finding of kind K in an exchange whose request
 * started before the first consent covering K fails. Unreadable traffic before a consent makes
 * that consent's verdict inconclusive, never a silent pass. A forbidden host contacted before
 * the first consent fails even when its traffic could not be read.
 */
export function judge(input: JudgeInput): Judgement {
  const timeline = new Timeline(input.marks);
  const findings: JudgedFinding[] = input.findings.map((finding) => {
    const consent = timeline.consentFor(finding.kind);
    return {
      ...finding,
      step: timeline.stepAt(finding.startedAt),
      phase: timeline.phaseAt(finding.startedAt),
      consent: consent?.name,
      beforeConsent: timeline.isBeforeConsent(finding.kind, finding.startedAt),
    };
  });
  const unreadable = input.tlsFailures.map((failure) => ({
    ...failure,
    phase: timeline.phaseAt(failure.at),
    step: timeline.stepAt(failure.at),
  }));
  const contacts = firstContacts(timeline, input);
  const verdicts: Verdict[] = [];
  const declared: ConsentDeclaration[] =
    input.consents.length > 0 ? input.consents : [{ name: 'consent', covers: 'all' }];

  for (const consent of declared) {
    const given = input.marks.find((mark) => mark.type === 'consent' && mark.name === consent.name);
    const leaks = findings.filter((f) => f.beforeConsent && covers(consent, f.kind));
    const name = `no identifier ${consent.covers === 'all' ? '' : `(${consent.covers.join(', ')}) `}leaves the phone before consent '${consent.name}'`;
    if (leaks.length > 0) {
      verdicts.push({ name, status: 'fail', message: describeLeaks(leaks, consent.name) });
      continue;
    }
    const blind = unreadable.filter((failure) => !given || failure.at < given.at);
    if (blind.length > 0) {
      const hosts = [...new Set(blind.map((failure) => failure.host ?? '(no SNI)'))];
      verdicts.push({
        name,
        status: 'inconclusive',
        message: `inconclusive: ${blind.length} TLS connection(s) before consent '${consent.name}' could not be read (${hosts.join(', ')}); put the run's CA in the phone's system store, or forbid these hosts before consent in the scenario`,
      });
      continue;
    }
    verdicts.push({ name, status: 'pass', message: '' });
  }

  if (input.forbiddenHosts.length > 0) {
    const early = contactsBeforeConsent(contacts, input.marks, input.forbiddenHosts);
    verdicts.push({
      name: `no contact with ${input.forbiddenHosts.join(', ')} before consent`,
      status: early.length > 0 ? 'fail' : 'pass',
      message: describeContacts(early),
    });
  }
  return { findings, unreadable, contacts, verdicts };
}

/** One line per identifier and host, saying where, in which form, during which step. */
export function describeLeaks(leaks: JudgedFinding[], consent: string): string {
  const groups = new Map<string, JudgedFinding[]>();
  for (const leak of leaks) {
    const key = `${leak.label}\u0000${leak.host}`;
    groups.set(key, [...(groups.get(key) ?? []), leak]);
  }
  const lines = [...groups.values()].map((group) => {
    const first = group[0]!;
    const places = [...new Set(group.map((f) => `${f.where} (${f.form})`))].join(', ');
    const weak = group.every((f) => f.evidence === 'weak') ? ' [weak evidence]' : '';
    return `${first.label} (${first.kind})${weak} sent to ${first.host} during step '${first.step}' in ${places}: ${maskFragment(first.fragment)}`;
  });
  return (
    `${groups.size} identifier(s) left the phone before consent '${consent}':\n` +
    lines.map((l) => `  - ${l}`).join('\n')
  );
}

function firstContacts(timeline: Timeline, input: JudgeInput): HostContact[] {
  const seen = new Map<string, HostContact>();
  const add = (host: string, at: number, readable: boolean) => {
    const phase = timeline.phaseAt(at);
    const key = `${host}\u0000${phase}`;
    const existing = seen.get(key);
    if (!existing || at < existing.at)
      seen.set(key, { host, at, readable, phase, step: timeline.stepAt(at) });
  };
  for (const exchange of input.exchanges) add(exchange.host, exchange.startedAt, true);
  for (const failure of input.tlsFailures) add(failure.host ?? '(no SNI)', failure.at, false);
  return [...seen.values()].sort((a, b) => a.at - b.at);
}

/** Contacts with `hosts` (or their subdomains) made before the first consent of any kind. */
export function contactsBeforeConsent(
  contacts: HostContact[],
  marks: Mark[],
  hosts: string[],
): HostContact[] {
  const first = new Timeline(marks).firstConsent();
  return contacts.filter(
    (contact) =>
      hosts.some((host) => hostMatches(contact.host, host)) && (!first || contact.at < first.at),
  );
}

/** One line per early contact, saying when it happened and whether it could be read. */
export function describeContacts(contacts: HostContact[]): string {
  return contacts
    .map(
      (c) => `${c.host} contacted${c.readable ? '' : ' (unreadable TLS)'} during step '${c.step}'`,
    )
    .join('\n');
}

/** "xiaomi.com" forbids api.account.xiaomi.com too. */
function hostMatches(host: string, pattern: string): boolean {
  return host === pattern || host.endsWith(`.${pattern}`);
}
