import { isTlsFailure } from '../coverage.ts';
import { kindName } from '../detect/identifiers.ts';
import { maskFragment } from '../detect/mask.ts';
import { isOpaqueReason } from '../detect/opaque.ts';
import { covers, Timeline } from '../timeline/timeline.ts';
import {
  IDENTIFIER_KINDS,
  type Check,
  type ConsentDeclaration,
  type Finding,
  type HostContact,
  type IdentifierKind,
  type JudgedFinding,
  type Mark,
  type ProbeMoment,
  type RouteProbe,
  type RunResult,
  type TlsFailure,
  type UnreadableConnection,
  type UnscannedPart,
  type Verdict,
  type VerdictRule,
  type VerdictStatus,
} from '../types.ts';
import {
  readableContact,
  readableFinding,
  readableUnreadable,
  readableUnscanned,
  readableVerdict,
} from './readable.ts';

/*
 * Every verdict of phonehome is decided here, once: the run's own (it ran to the end, each
 * consent, the forbidden hosts), the scenario's checks, and the run's one status. Console,
 * mocha, run.json, JUnit, report.html, merge and diff read these verdicts; none re-derives one.
 */

/** The name of the verdict that says the run itself did not break. */
export const RAN_TO_END = 'runs to the end';

/** The consent a scenario without consents is judged against: all kinds, never given. */
const DEFAULT_CONSENT: ConsentDeclaration = { name: 'consent', covers: 'all' };

/** "no identifier (location) leaves the phone before consent 'location'" */
export function consentVerdictName(consent: ConsentDeclaration): string {
  const kinds = consent.covers === 'all' ? '' : `(${consent.covers.join(', ')}) `;
  return `no identifier ${kinds}leaves the phone before consent '${consent.name}'`;
}

/** "no contact with xiaomi.com, mistat.example before consent" */
export function forbiddenHostsVerdictName(hosts: string[]): string {
  return `no contact with ${hosts.join(', ')} before consent`;
}

/** A verdict as known before the run: its name and rule. */
export interface PlannedVerdict {
  name: string;
  rule: VerdictRule;
}

/**
 * The verdicts a run will have, in order, named before it starts: under mocha each becomes a
 * test, with the same name as in JUnit and every report.
 *
 * @example
 *   plannedVerdicts({ consents: [{ name: 'cloud', covers: 'all' }], forbiddenHosts: [], checks: [] })
 *   // → [{ name: 'runs to the end', rule: 'ran-to-end' },
 *   //    { name: "no identifier leaves the phone before consent 'cloud'", rule: 'consent' }]
 */
export function plannedVerdicts(plan: {
  consents: ConsentDeclaration[];
  forbiddenHosts: string[];
  checks: string[];
}): PlannedVerdict[] {
  return [
    { name: RAN_TO_END, rule: 'ran-to-end' },
    ...declaredConsents(plan.consents).map((consent) => ({
      name: consentVerdictName(consent),
      rule: 'consent' as const,
    })),
    ...(plan.forbiddenHosts.length > 0
      ? [{ name: forbiddenHostsVerdictName(plan.forbiddenHosts), rule: 'forbidden-hosts' as const }]
      : []),
    ...plan.checks.map((name) => ({ name, rule: 'check' as const })),
  ];
}

export interface Judgement {
  findings: JudgedFinding[];
  /** TLS connections the proxy could not open, on the timeline. */
  unreadable: UnreadableConnection[];
  /** Body parts not recorded or not decoded within the budgets, on the timeline. */
  unscanned: UnscannedPart[];
  /** Every host contacted, first contact per (host, phase). */
  contacts: HostContact[];
  /** The run's own verdicts: ran to the end, one per consent, the forbidden hosts. */
  verdicts: Verdict[];
}

export interface JudgeInput {
  marks: Mark[];
  consents: ConsentDeclaration[];
  findings: Finding[];
  tlsFailures: TlsFailure[];
  /** Host and start time of every exchange. */
  exchanges: { host: string; startedAt: number; app?: string }[];
  /** Every DNS lookup the phone made (the gateway route): a name looked up is a host contacted. */
  lookups?: { name: string; at: number; app?: string }[];
  forbiddenHosts: string[];
  /** Body parts the capture could not record or decode within its budgets. */
  unscanned?: Omit<UnscannedPart, 'phase' | 'step'>[];
  /** The kinds the run had at least one identifier of: a consent covering none sees nothing. */
  knownKinds: IdentifierKind[];
  /** Why the run stopped early, if it did. */
  error?: string;
  /**
   * The route probes the run sent (src/capture/probe.ts). When given, a verdict passes only if
   * each arrived; absent, route liveness is not judged (a bare list of findings, a unit test).
   */
  probes?: RouteProbe[];
}

/**
 * Applies the consent semantics (README.md, "Verdicts"). Each finding is judged once, by the first consent
 * covering its kind: it is a leak when its request started before that consent was given (or
 * the consent never was). Unreadable traffic before a consent, or no identifier of the kinds it
 * covers, makes that consent's verdict inconclusive, never a silent pass. A forbidden host
 * contacted before the first consent fails even when its traffic could not be read.
 *
 * @example
 *   judge({ marks, consents, findings, tlsFailures: [], exchanges, forbiddenHosts: [], knownKinds: ['imei'] })
 *     .verdicts.map((v) => [v.name, v.status])
 */
export function judge(input: JudgeInput): Judgement {
  const timeline = new Timeline(input.marks);
  const declared = declaredConsents(input.consents);
  const givenAt = (name: string) =>
    timeline.marks.find((mark) => mark.type === 'consent' && mark.name === name)?.at;
  const governing = governingConsents(declared, givenAt);

  const findings: JudgedFinding[] = input.findings.map((finding, id) => {
    const consent = governing.get(finding.kind);
    const at = consent ? givenAt(consent.name) : undefined;
    return {
      ...finding,
      id,
      step: timeline.stepAt(finding.startedAt),
      phase: timeline.phaseAt(finding.startedAt),
      ...(consent ? { consent: consent.name } : {}),
      beforeConsent: consent !== undefined && (at === undefined || finding.startedAt < at),
    };
  });
  const unscanned = (input.unscanned ?? []).map((part) => ({
    ...part,
    phase: timeline.phaseAt(part.at),
    step: timeline.stepAt(part.at),
  }));
  const unreadable = input.tlsFailures.map((failure) => ({
    ...failure,
    phase: timeline.phaseAt(failure.at),
    step: timeline.stepAt(failure.at),
  }));
  const contacts = firstContacts(timeline, input);
  const known = new Set(input.knownKinds);
  // A capture that cannot show it received the phone's traffic proves nothing by being clean.
  const dead = input.probes ? routeNotProven(input.probes) : undefined;

  const verdicts: Verdict[] = [ranToEnd(input.error)];
  for (const consent of declared) {
    const name = consentVerdictName(consent);
    const base = { name, rule: 'consent' as const, consent: consent.name, covers: consent.covers };
    const leaks = findings.filter((f) => f.beforeConsent && f.consent === consent.name);
    // What could not be read before this consent: a failing verdict names it too, since an
    // auditor must know what else may have gone out unseen.
    const at = givenAt(consent.name);
    const blind = unreadable
      .map((failure, index) => ({ failure, index }))
      .filter(({ failure }) => at === undefined || failure.at < at);
    const unseen = blind.map(({ index }) => index);
    // An opaque part declared an exception (reviewed, known to carry nothing) is only a note.
    const cut = unscanned
      .map((part, index) => ({ part, index }))
      .filter(({ part }) => (at === undefined || part.at < at) && part.excepted === undefined);
    const notScanned = cut.map(({ index }) => index);
    if (leaks.length > 0) {
      verdicts.push({
        ...base,
        ...evidence({
          findings: leaks.map((f) => f.id),
          unreadable: unseen,
          unscanned: notScanned,
        }),
        status: 'fail',
        summary: `identifiers sent before consent '${consent.name}' — ${kindsByHost(leaks)}`,
        message:
          describeLeaks(leaks, consent.name) +
          (blind.length > 0
            ? `\nand ${unreadableCount(blind)} before it could not be read (${unreadHosts(blind)}): what else they carried is unknown`
            : '') +
          notScannedNote(cut.map(({ part }) => part)),
      });
      continue;
    }
    const kinds = consent.covers === 'all' ? IDENTIFIER_KINDS : consent.covers;
    if (!kinds.some((kind) => known.has(kind))) {
      const what = consent.covers === 'all' ? 'no identifier' : `no ${kinds.join(', ')} value`;
      verdicts.push({
        ...base,
        ...evidence({ unreadable: unseen, unscanned: notScanned }),
        status: 'inconclusive',
        summary: `inconclusive: ${what} was known to look for`,
        message: `inconclusive: ${what} was known to look for, so nothing could be found before consent '${consent.name}'; give the phone's identifiers (devices.json "identifiers", or --identifiers FILE for capture and scan) or plant canaries in the scenario`,
      });
      continue;
    }
    if (dead) {
      verdicts.push({
        ...base,
        ...evidence({ unreadable: unseen, unscanned: notScanned }),
        status: 'inconclusive',
        summary: `inconclusive: ${dead.summary}`,
        // What else was not seen stays said: the route may be fixed and the rest remain.
        message:
          `inconclusive: ${dead.message}; so no leak before consent '${consent.name}' can be ruled out` +
          (blind.length > 0
            ? `\nand ${unreadableCount(blind)} before it could not be read (${unreadHosts(blind)})`
            : '') +
          notScannedNote(cut.map(({ part }) => part)),
      });
      continue;
    }
    if (cut.length > 0) {
      verdicts.push({
        ...base,
        ...evidence({ unreadable: unseen, unscanned: notScanned }),
        status: 'inconclusive',
        ...notScannedVerdict(
          cut.map(({ part }) => part),
          consent.name,
        ),
      });
      continue;
    }
    if (blind.length > 0) {
      const hosts = unreadHosts(blind);
      verdicts.push({
        ...base,
        ...evidence({ unreadable: unseen }),
        status: 'inconclusive',
        summary: `inconclusive: ${unreadableCount(blind)} before consent '${consent.name}' could not be read (${hosts})`,
        message: `inconclusive: ${unreadableCount(blind)} before consent '${consent.name}' could not be read (${hosts}); ${unreadableAdvice(blind)}`,
      });
      continue;
    }
    verdicts.push({ ...base, ...evidence({}), status: 'pass', summary: '', message: '' });
  }

  if (input.forbiddenHosts.length > 0) {
    const early = contactsBeforeConsent(contacts, input.marks, input.forbiddenHosts);
    const hosts = [...new Set(early.map((c) => c.host))];
    const name = forbiddenHostsVerdictName(input.forbiddenHosts);
    if (early.length === 0 && dead) {
      verdicts.push({
        name,
        rule: 'forbidden-hosts',
        ...evidence({}),
        status: 'inconclusive',
        summary: `inconclusive: ${dead.summary}`,
        message: `inconclusive: ${dead.message}; so no contact before consent can be ruled out`,
      });
    } else {
      verdicts.push({
        name,
        rule: 'forbidden-hosts',
        ...evidence({ contacts: early.map((contact) => contacts.indexOf(contact)) }),
        status: early.length > 0 ? 'fail' : 'pass',
        summary: early.length > 0 ? `contacted before consent: ${hosts.join(', ')}` : '',
        message: describeContacts(early),
      });
    }
  }
  return {
    findings: findings.map(readableFinding),
    unreadable: unreadable.map(readableUnreadable),
    unscanned: unscanned.map(readableUnscanned),
    contacts: contacts.map(readableContact),
    verdicts: verdicts.map(readableVerdict),
  };
}

/**
 * Runs a scenario's named checks over a result. A failed chai assertion is a failed verdict (or
 * an inconclusive one, when the assertion could not see); anything else a check throws is an
 * error of the check, not a leak.
 *
 * @example
 *   evaluateChecks({ 'never mistat': (run) => expect(run).to.have.noContactBeforeConsent('mistat.xiaomi.com') }, result)
 */
export function evaluateChecks(checks: Record<string, Check>, run: RunResult): Verdict[] {
  return Object.entries(checks).map(([name, check]) => {
    try {
      check(run);
      // A check that found nothing wrong on a route that did not prove it carried anything has
      // seen nothing: like the run's own verdicts, it cannot pass.
      const dead = run.probes ? routeNotProven(run.probes) : undefined;
      if (dead)
        return {
          name,
          rule: 'check',
          ...evidence({}),
          status: 'inconclusive',
          summary: `inconclusive: ${dead.summary}`,
          message: `inconclusive: ${dead.message}; the check held on what was captured, which may be nothing of the phone's`,
        };
      return { name, rule: 'check', ...evidence({}), status: 'pass', summary: '', message: '' };
    } catch (error) {
      const failure = error as Error & Partial<CheckFailure>;
      const status: VerdictStatus = failure.inconclusive
        ? 'inconclusive'
        : failure.name === 'AssertionError'
          ? 'fail'
          : 'error';
      const message = status === 'error' ? `the check threw: ${String(error)}` : failure.message;
      return {
        name,
        rule: 'check',
        ...evidence(failure.evidence ?? {}),
        status,
        summary: message.split('\n')[0] ?? '',
        message,
      };
    }
  });
}

/** What a phonehome chai assertion attaches to its error: the evidence it failed on. */
export interface CheckFailure {
  inconclusive: boolean;
  evidence: Partial<Pick<Verdict, 'findings' | 'contacts' | 'unreadable' | 'unscanned'>>;
}

/** The result with the checks' verdicts added and its status decided again. */
export function withChecks(run: RunResult, checks: Verdict[]): RunResult {
  const verdicts = [...run.verdicts.filter((v) => v.rule !== 'check'), ...checks];
  return { ...run, verdicts, status: overallStatus(verdicts) };
}

/**
 * The run's one status: fail (a leak or forbidden contact) beats error (the run broke) beats
 * inconclusive (could not see) beats pass.
 */
export function overallStatus(verdicts: Pick<Verdict, 'status'>[]): VerdictStatus {
  for (const status of ['fail', 'error', 'inconclusive'] as const)
    if (verdicts.some((verdict) => verdict.status === status)) return status;
  return 'pass';
}

const PROBE_MOMENT: Record<ProbeMoment, string> = {
  routing: 'after routing',
  'last-step': 'after the last step',
  'by-hand': 'by hand',
};

/**
 * Why a run's route is not proven to have carried the phone's traffic into the capture, or
 * undefined when every probe it sent arrived. A run that sent none proves nothing either.
 *
 * @example
 *   routeNotProven([{ moment: 'routing', url, how, fix: 'check adb reverse --list', sentAt }])?.summary
 *   // → 'route not proven: the probe sent after routing never reached the capture'
 */
export function routeNotProven(
  probes: RouteProbe[],
): { summary: string; message: string } | undefined {
  if (probes.length === 0) {
    const summary = 'route not proven: the run sent no route probe';
    return {
      summary,
      message: `${summary} (it stopped before routing, or its journal predates route probes), so nothing shows the capture received the phone's traffic — run it again with this version of phonehome`,
    };
  }
  const failed = probes.find((probe) => probe.error !== undefined || probe.arrivedAt === undefined);
  if (!failed) return undefined;
  const when = PROBE_MOMENT[failed.moment];
  if (failed.error !== undefined) {
    const summary = `route not proven: the probe ${when} could not be sent`;
    return { summary, message: `${summary}: ${failed.error} — ${failed.fix}` };
  }
  const summary =
    failed.moment === 'by-hand'
      ? 'route not proven: the probe URL opened by hand on the phone never reached the capture'
      : `route not proven: the probe sent ${when} never reached the capture`;
  return {
    summary,
    message: `${summary} (${failed.url}, ${failed.how}) — ${failed.fix}`,
  };
}

function ranToEnd(error: string | undefined): Verdict {
  if (error === undefined)
    return {
      name: RAN_TO_END,
      rule: 'ran-to-end',
      ...evidence({}),
      status: 'pass',
      summary: '',
      message: '',
    };
  const message = `the run stopped early: ${error} (what was captured until then is judged)`;
  return {
    name: RAN_TO_END,
    rule: 'ran-to-end',
    ...evidence({}),
    status: 'error',
    summary: `the run stopped early: ${error.split('\n')[0]}`,
    message,
  };
}

/** "2 TLS connection(s)" when all are TLS, else what they are: "1 TLS connection(s), 2 UDP flow(s)". */
function unreadableCount(blind: { failure: TlsFailure }[]): string {
  const udp = blind.filter(({ failure }) => failure.cause.startsWith('udp')).length;
  const tls = blind.filter(({ failure }) => isTlsFailure(failure.cause)).length;
  const other = blind.length - udp - tls;
  return [
    ...(tls > 0 ? [`${tls} TLS connection(s)`] : []),
    ...(other > 0 ? [`${other} connection(s) neither HTTP nor TLS`] : []),
    ...(udp > 0 ? [`${udp} UDP flow(s)`] : []),
  ].join(', ');
}

function unreadableAdvice(blind: { failure: TlsFailure }[]): string {
  return blind.every(({ failure }) => isTlsFailure(failure.cause))
    ? "put the run's CA in the phone's system store, or forbid these hosts before consent in the scenario"
    : 'what they carried cannot be read by any route; forbid these hosts before consent in the scenario, or find which app sends them';
}

function unreadHosts(blind: { failure: TlsFailure }[]): string {
  return [...new Set(blind.map(({ failure }) => failure.host ?? '(no SNI)'))].join(', ');
}

function evidence(
  parts: Partial<Pick<Verdict, 'findings' | 'contacts' | 'unreadable' | 'unscanned'>>,
): Pick<Verdict, 'findings' | 'contacts' | 'unreadable' | 'unscanned'> {
  return {
    findings: parts.findings ?? [],
    contacts: parts.contacts ?? [],
    unreadable: parts.unreadable ?? [],
    unscanned: parts.unscanned ?? [],
  };
}

function declaredConsents(consents: ConsentDeclaration[]): ConsentDeclaration[] {
  return consents.length > 0 ? consents : [DEFAULT_CONSENT];
}

/**
 * For each kind, the consent that judges it: of the declared consents covering it, the one given
 * first; when none was given, the first declared. Kinds no consent covers are absent.
 */
function governingConsents(
  declared: ConsentDeclaration[],
  givenAt: (name: string) => number | undefined,
): Map<IdentifierKind, ConsentDeclaration> {
  const byKind = new Map<IdentifierKind, ConsentDeclaration>();
  for (const kind of IDENTIFIER_KINDS) {
    const covering = declared.filter((consent) => covers(consent, kind));
    const given = covering
      .filter((consent) => givenAt(consent.name) !== undefined)
      .sort((a, b) => (givenAt(a.name) as number) - (givenAt(b.name) as number));
    const consent = given[0] ?? covering[0];
    if (consent) byKind.set(kind, consent);
  }
  return byKind;
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
    return `${first.label} (${first.kind})${weak} sent to ${first.host}${first.app ? ` by ${first.app}` : ''} during step '${first.step}' in ${places}: ${maskFragment(first.fragment)}`;
  });
  return (
    `${groups.size} identifier(s) left the phone before consent '${consent}':\n` +
    lines.map((l) => `  - ${l}`).join('\n')
  );
}

/**
 * Kinds per host, hosts in order of first finding, kinds in the canonical order:
 * "api.account.xiaomi.com: imei, msisdn, operator; data.mistat.xiaomi.com: imei".
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
 * How a finding stands, in words an auditor reads beside it: a leak, allowed, or judged by a
 * consent other than the one it was sent after, or judged by none.
 *
 * @example
 *   standing({ kind: 'imei', phase: 'after location', consent: 'cloud', beforeConsent: true, … })
 *   // → "sent after consent 'location', which does not cover IMEI — a leak judged by consent 'cloud'"
 */
export function standing(finding: JudgedFinding): string {
  const kind = kindName(finding.kind);
  if (finding.consent === undefined) return `not judged: no consent covers ${kind}`;
  if (!finding.beforeConsent) return `allowed: sent after consent '${finding.consent}'`;
  const after = /^after (.+)$/.exec(finding.phase)?.[1];
  if (after !== undefined && after !== finding.consent)
    return `sent after consent '${after}', which does not cover ${kind} — a leak judged by consent '${finding.consent}'`;
  return `a leak: sent before consent '${finding.consent}'`;
}

function firstContacts(timeline: Timeline, input: JudgeInput): HostContact[] {
  const seen = new Map<string, HostContact>();
  const add = (host: string, at: number, readable: boolean, lookup = false, app?: string) => {
    const phase = timeline.phaseAt(at);
    const key = `${host}\u0000${phase}`;
    const existing = seen.get(key);
    if (!existing || at < existing.at)
      seen.set(key, {
        host,
        at,
        readable,
        ...(lookup ? { lookup: true as const } : {}),
        ...(app ? { app } : {}),
        phase,
        step: timeline.stepAt(at),
      });
  };
  for (const exchange of input.exchanges)
    add(exchange.host, exchange.startedAt, true, false, exchange.app);
  for (const failure of input.tlsFailures)
    add(failure.host ?? '(no SNI)', failure.at, false, false, failure.app);
  for (const lookup of input.lookups ?? []) add(lookup.name, lookup.at, true, true, lookup.app);
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
      (c) =>
        `${c.host} ${c.lookup ? 'looked up (DNS)' : 'contacted'}${c.app ? ` by ${c.app}` : ''}${c.readable ? '' : ' (unreadable TLS)'} during step '${c.step}'`,
    )
    .join('\n');
}

/** "xiaomi.com" matches api.account.xiaomi.com too. */
export function hostMatches(host: string, pattern: string): boolean {
  return host === pattern || host.endsWith(`.${pattern}`);
}

/**
 * Why parts before a consent were not scanned, in two kinds an auditor handles differently:
 * opaque bytes (encrypted or packed by an unknown method: what they carry is unknowable here;
 * review them, or declare them) and parts cut by a recording or decoding budget (raise it).
 */
function notScannedVerdict(
  parts: UnscannedPart[],
  consent: string,
): Pick<Verdict, 'summary' | 'message'> {
  const opaque = parts.filter((part) => isOpaqueReason(part.reason));
  const cut = parts.filter((part) => !isOpaqueReason(part.reason));
  const hosts = (some: UnscannedPart[]) =>
    [...new Set(some.map((part) => part.host || '(no host)'))].join(', ');
  const lines = (some: UnscannedPart[]) =>
    some
      .map(
        (part) =>
          `  - ${part.host || '(no host)'} ${part.where} during step '${part.step}': ${part.reason}`,
      )
      .join('\n');
  const summaries: string[] = [];
  const messages: string[] = [];
  if (opaque.length > 0) {
    summaries.push(
      `${opaque.length} opaque part(s) before consent '${consent}' could not be read (${hosts(opaque)})`,
    );
    messages.push(
      `${opaque.length} opaque part(s) before consent '${consent}' look encrypted or compressed by an unknown method, so what they carry cannot be known:\n${lines(opaque)}\n  a part reviewed and known to carry nothing identifying can be declared an exception (devices.json "opaqueExceptions" or the scenario's), with the reason`,
    );
  }
  if (cut.length > 0) {
    summaries.push(
      `${cut.length} body part(s) before consent '${consent}' were not scanned (${hosts(cut)})`,
    );
    messages.push(
      `${cut.length} body part(s) before consent '${consent}' were not scanned:\n${lines(cut)}`,
    );
  }
  return {
    summary: `inconclusive: ${summaries.join('; ')}`,
    message: `inconclusive: ${messages.join('\nand ')}`,
  };
}

/** What a failing verdict adds about the parts before its consent that were not scanned. */
function notScannedNote(parts: UnscannedPart[]): string {
  const opaque = parts.filter((part) => isOpaqueReason(part.reason)).length;
  const cut = parts.length - opaque;
  return (
    (opaque > 0
      ? `\nand ${opaque} opaque part(s) before it (encrypted or compressed by an unknown method) could not be read`
      : '') +
    (cut > 0
      ? `\nand ${cut} body part(s) before it were not scanned (over the recording or decoding budget)`
      : '')
  );
}
