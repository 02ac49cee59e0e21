import { readJournal } from '../journal/reader.ts';
import { probeLines } from './route-probes.ts';
import { coverageLine, statusQualifier, statusWord } from '../coverage.ts';
import { Timeline, stepLabel } from '../timeline/timeline.ts';
import type { Body, HeaderPair, JudgedFinding, RunResult, Verdict } from '../types.ts';
import { standing } from '../verdict/judge.ts';
import { IDENTIFIER_KINDS } from '../types.ts';
import { maskFragment } from '../detect/mask.ts';
import type { RangeFinder } from './identifier-ranges.ts';
import { redactExchange, redactFragment, redactText, redactionToken } from './redact.ts';
import type { ShowMode } from './show-mode.ts';

/**
 * Highlights travel inside strings, between private-use characters the page turns into <mark>:
 * START label SEP shown-text END. Private-use characters do not occur in captured traffic worth
 * showing, and a string stays one JSON value.
 */
export const MARK_START = '\ue000';
export const MARK_SEP = '\ue001';
export const MARK_END = '\ue002';

/** Characters of a body shown in the page; the rest is in capture.har. */
const BODY_LIMIT = 4096;
/** Characters of a URL or header value shown in the page. */
const LINE_LIMIT = 2048;

/** A request or response as the page shows it: headers and body, with highlights. */
export interface MessageView {
  /** Header name and (marked) value. */
  h: [string, string][];
  /** The body as text (binary bytes shown one character each), marked, maybe cut. */
  b: string;
  /** The body's full length in bytes. */
  n: number;
  /** True when the body is binary (shown byte by byte). */
  bin: boolean;
}

export interface ExchangeView {
  /** Index in journal order (the `exchange` of findings). */
  i: number;
  /** Start, ms after the run started. */
  t: number;
  /** Duration in ms. */
  d: number;
  /** Index into `hosts`. */
  h: number;
  m: string;
  /** The URL, marked. */
  u: string;
  /** Response status; 0 when there was none. */
  s: number;
  /** Index into `phases`. */
  p: number;
  /** Index into `steps`. */
  st: number;
  /** Indexes into `findings`. */
  f: number[];
  /** The kinds found, for filtering. */
  k: string[];
  e?: string;
  q: MessageView;
  r?: MessageView;
}

export interface FindingView {
  x: number;
  kind: string;
  label: string;
  form: string;
  where: string;
  host: number;
  evidence: string;
  /** The fragment, with the match between ⟦ and ⟧, shown as the mode says. */
  fragment: string;
  st: number;
  p: number;
  before: boolean;
  consent?: string;
  /** How it stands, in words: a leak, allowed, judged by another consent, or by none. */
  why: string;
}

export interface PhaseView {
  name: string;
  /** ms after the run started. */
  from: number;
  to: number;
  exchanges: number;
  findings: number;
  /** Kinds found before their consent in this phase. */
  leaked: string[];
  /** Kinds found in this phase that their consent allowed. */
  allowed: string[];
  /** Kinds found in this phase that no consent covers: shown, judged by no verdict. */
  unjudged: string[];
  unreadable: number;
  status: Verdict['status'];
}

export interface HostView {
  host: string;
  exchanges: number;
  unreadable: number;
  /** Phase of the first contact. */
  first: string;
  leaked: string[];
  allowed: string[];
  unjudged: string[];
  /** The one line: "api.account.xiaomi.com: imei, msisdn, operator — before consent". */
  summary: string;
}

/** Everything the page shows, embedded in it as JSON. */
export interface ReportModel {
  run: {
    runId: string;
    scenario: { name: string; title: string };
    device: RunResult['device'];
    startedAt: string;
    endedAt: string;
    status: Verdict['status'];
    /** The status as said: "PASS (proxy-aware traffic only)" on a route blind to something. */
    statusWord: string;
    /** That word's qualifier alone ("proxy-aware traffic only"), shown beside the status pill. */
    qualifier?: string;
    /** What the capture could see and not, with the run's counts (src/coverage.ts). */
    coverage: string;
    exchanges: number;
    /** DNS lookups recorded (the gateway route), listed in the timeline with the exchanges. */
    lookups?: number;
    findings: number;
    mode: ShowMode;
    /** What the reader must know about how the phone was watched. */
    notes: string[];
    /** A line per route probe: whether the capture got it (src/report/route-probes.ts). */
    route: string[];
    error?: string;
  };
  verdicts: Verdict[];
  phases: PhaseView[];
  steps: string[];
  marks: { type: 'step' | 'consent'; name: string; t: number; p: number }[];
  /** Per-host summary, hosts with leaks first. */
  hosts: HostView[];
  /** Host names that exchanges and findings point into by index. */
  hostNames: string[];
  kinds: string[];
  exchanges: ExchangeView[];
  findings: FindingView[];
  unreadable: { host: string; t: number; cause: string; p: number; st: number }[];
}

export interface ModelInput {
  result: RunResult;
  journalPath: string;
  finder: RangeFinder;
  mode: ShowMode;
}

/**
 * Builds what report.html shows from a run's result and its journal: verdicts, phases, hosts,
 * findings and every exchange, each value shown as the mode says. Exchanges are read from the
 * journal one at a time; what is kept of each is bounded (bodies are cut), so a capture of
 * 10,000 exchanges makes a page of a few MB.
 *
 * @example
 *   const model = await buildReportModel({ result, journalPath, finder, mode: 'mask' });
 *   model.hosts[0].summary // → 'api.account.xiaomi.com: imei, msisdn, operator — before consent'
 */
export async function buildReportModel(input: ModelInput): Promise<ReportModel> {
  const { result, finder, mode } = input;
  const timeline = new Timeline(result.marks);
  const at = (time: number) => time - result.startedAt;
  const phases = phaseNames(result);
  const phaseIndex = (time: number) => Math.max(0, phases.indexOf(timeline.phaseAt(time)));
  const steps = [''];
  const stepIndex = (name: string) => {
    const index = steps.indexOf(name);
    if (index >= 0) return index;
    steps.push(name);
    return steps.length - 1;
  };
  const hosts: string[] = [];
  const hostIndex = (host: string) => {
    const index = hosts.indexOf(host);
    if (index >= 0) return index;
    hosts.push(host);
    return hosts.length - 1;
  };
  // Step names, messages and causes are text like any other: only --reveal shows values in them.
  const text = (value: string) => (mode === 'reveal' ? value : redactText(value, finder));
  const shownHost = (host: string) =>
    hostIndex(mode === 'reveal' ? host : redactText(host, finder));

  const findings: FindingView[] = result.findings.map((finding) => ({
    x: finding.exchange,
    kind: finding.kind,
    label: finding.label,
    form: finding.form,
    where: finding.where,
    host: shownHost(finding.host),
    evidence: finding.evidence,
    fragment: shownFragment(finding, finder, mode),
    st: stepIndex(text(finding.step)),
    p: phaseIndex(finding.startedAt),
    before: finding.beforeConsent,
    ...(finding.consent ? { consent: finding.consent } : {}),
    why: text(standing(finding)),
  }));
  const byExchange = new Map<number, number[]>();
  findings.forEach((finding, index) => {
    byExchange.set(finding.x, [...(byExchange.get(finding.x) ?? []), index]);
  });

  const tokens = tokenPattern(finder);
  const exchanges: ExchangeView[] = [];
  let index = 0;
  for await (const record of readJournal(input.journalPath)) {
    if (record.type !== 'exchange') continue;
    const raw = record.exchange;
    const exchange = mode === 'reveal' ? raw : redactExchange(raw, finder);
    const mark = (value: string, charset: 'utf8' | 'latin1', limit: number) =>
      mode === 'reveal'
        ? markRanges(Buffer.from(value, charset), charset, finder, limit)
        : cut(markTokens(value, tokens), limit);
    const message = (headers: HeaderPair[], body: Body): MessageView => ({
      h: headers.map(([name, value]) => [name, mark(value, 'latin1', LINE_LIMIT)]),
      ...markBody(body, mode === 'reveal' ? finder : undefined, tokens),
    });
    const own = byExchange.get(index) ?? [];
    const view: ExchangeView = {
      i: index,
      t: at(exchange.startedAt),
      d: Math.max(0, exchange.completedAt - exchange.startedAt),
      h: hostIndex(exchange.host),
      m: exchange.request.method,
      u: mark(exchange.request.url, 'utf8', LINE_LIMIT),
      s: exchange.response?.status ?? 0,
      p: phaseIndex(exchange.startedAt),
      st: stepIndex(text(timeline.stepAt(exchange.startedAt))),
      f: own,
      k: [...new Set(own.map((i) => (findings[i] as FindingView).kind))],
      q: message(exchange.request.headers, exchange.request.body),
      ...(exchange.response
        ? { r: message(exchange.response.headers, exchange.response.body) }
        : {}),
      ...(exchange.error !== undefined ? { e: exchange.error } : {}),
    };
    exchanges.push(view);
    index += 1;
  }

  const unreadable = result.unreadable.map((failure) => ({
    host: text(failure.host ?? '(no SNI)'),
    t: at(failure.at),
    cause: text(failure.cause),
    p: phaseIndex(failure.at),
    st: stepIndex(text(failure.step)),
  }));
  const verdicts = result.verdicts.map((v) => ({
    ...v,
    name: text(v.name),
    summary: text(v.summary),
    message: text(v.message),
  }));
  const marks = [...result.marks]
    .sort((a, b) => a.at - b.at)
    .map((mark) => ({
      type: mark.type,
      // A skipped step says so on the timeline, as beside its exchanges and findings.
      name: text(mark.type === 'step' ? stepLabel(mark) : mark.name),
      t: at(mark.at),
      p: phaseIndex(mark.at),
    }));
  const end = at(result.endedAt);
  return {
    run: {
      runId: result.runId,
      scenario: result.scenario,
      device: result.device,
      startedAt: new Date(result.startedAt).toISOString(),
      endedAt: new Date(result.endedAt).toISOString(),
      status: result.status,
      statusWord: statusWord(result.status, result.coverage),
      ...qualified(result),
      coverage: text(coverageLine(result)),
      // The run's count (DNS lookups are not exchanges there), the same as the console's.
      exchanges: result.exchanges,
      ...(result.lookups ? { lookups: result.lookups } : {}),
      findings: findings.length,
      mode,
      notes: (result.notes ?? []).map(text),
      route: probeLines(result).map(text),
      ...(result.error ? { error: text(result.error) } : {}),
    },
    verdicts,
    phases: phases.map((name, p) =>
      phaseView(name, p, { marks, exchanges, findings, unreadable, end, verdicts }),
    ),
    steps,
    marks,
    hosts: hostViews(hosts, exchanges, findings, unreadable, phases),
    hostNames: hosts,
    kinds: IDENTIFIER_KINDS.filter((kind) => findings.some((f) => f.kind === kind)),
    exchanges,
    findings,
    unreadable,
  };
}

/** "before consent", then "after <consent>" for each consent given, in order. */
function phaseNames(result: RunResult): string[] {
  const names = ['before consent'];
  for (const mark of [...result.marks].sort((a, b) => a.at - b.at)) {
    if (mark.type === 'consent' && !names.includes(`after ${mark.name}`))
      names.push(`after ${mark.name}`);
  }
  return names;
}

function phaseView(
  name: string,
  p: number,
  data: {
    marks: ReportModel['marks'];
    exchanges: ExchangeView[];
    findings: FindingView[];
    unreadable: ReportModel['unreadable'];
    end: number;
    verdicts: Verdict[];
  },
): PhaseView {
  const consents = data.marks.filter((mark) => mark.type === 'consent');
  const from = p === 0 ? 0 : (consents[p - 1]?.t ?? 0);
  const to = consents[p]?.t ?? data.end;
  const findings = data.findings.filter((f) => f.p === p);
  const leaked = kindsOf(findings.filter((f) => f.before));
  const unreadable = data.unreadable.filter((u) => u.p === p).length;
  // A phase's status is that of the verdicts its findings and connections count in.
  const judged = (status: Verdict['status'], has: (v: Verdict) => boolean) =>
    data.verdicts.some((v) => v.status === status && has(v));
  const failed = judged(
    'fail',
    (v) =>
      v.findings.some((id) => data.findings[id]?.p === p) || (v.contacts.length > 0 && p === 0),
  );
  const blind = judged('inconclusive', (v) =>
    v.unreadable.some((index) => data.unreadable[index]?.p === p),
  );
  return {
    name,
    from,
    to,
    exchanges: data.exchanges.filter((e) => e.p === p).length,
    findings: findings.length,
    leaked,
    allowed: kindsOf(findings.filter(isAllowed)),
    unjudged: kindsOf(findings.filter(isUnjudged)),
    unreadable,
    status: failed ? 'fail' : blind ? 'inconclusive' : 'pass',
  };
}

function hostViews(
  hosts: string[],
  exchanges: ExchangeView[],
  findings: FindingView[],
  unreadable: ReportModel['unreadable'],
  phases: string[],
): HostView[] {
  const names = [...new Set([...hosts, ...unreadable.map((u) => u.host)])];
  const views = names.map((host) => {
    const h = hosts.indexOf(host);
    const own = exchanges.filter((e) => e.h === h);
    const blind = unreadable.filter((u) => u.host === host);
    const found = findings.filter((f) => f.host === h);
    const leaked = kindsOf(found.filter((f) => f.before));
    const allowed = kindsOf(found.filter(isAllowed));
    const unjudged = kindsOf(found.filter(isUnjudged));
    const firstPhase = Math.min(...own.map((e) => e.p), ...blind.map((u) => u.p));
    const parts = [
      leaked.length > 0 ? `${leaked.join(', ')} — before consent` : '',
      allowed.length > 0 ? `${allowed.join(', ')} — after consent` : '',
      unjudged.length > 0 ? `${unjudged.join(', ')} — not judged (no consent covers it)` : '',
      blind.length > 0 ? `${blind.length} unreadable connection(s)` : '',
    ].filter(Boolean);
    return {
      host,
      exchanges: own.length,
      unreadable: blind.length,
      first: phases[firstPhase] ?? '',
      leaked,
      allowed,
      unjudged,
      summary: `${host}: ${parts.length > 0 ? parts.join('; ') : 'nothing identifying'}`,
    };
  });
  return views.sort(
    (a, b) =>
      b.leaked.length - a.leaked.length ||
      b.allowed.length - a.allowed.length ||
      b.exchanges - a.exchanges ||
      a.host.localeCompare(b.host),
  );
}

const isAllowed = (f: FindingView) => f.consent !== undefined && !f.before;
const isUnjudged = (f: FindingView) => f.consent === undefined;

function kindsOf(findings: FindingView[]): string[] {
  const kinds = new Set(findings.map((f) => f.kind));
  return IDENTIFIER_KINDS.filter((kind) => kinds.has(kind));
}

function shownFragment(finding: JudgedFinding, finder: RangeFinder, mode: ShowMode): string {
  if (mode === 'reveal') return finding.fragment;
  if (mode === 'redact') return redactFragment(finding.fragment, finding.label, finder);
  return maskFragment(finding.fragment);
}

/** A regular expression for the tokens that stand for identifiers in redacted text. */
function tokenPattern(finder: RangeFinder): { pattern: RegExp; labels: Map<string, string> } {
  const labels = new Map<string, string>();
  for (const identifier of finder.identifiers)
    labels.set(redactionToken(identifier.label), identifier.label);
  const alternatives = [...labels.keys()]
    .sort((a, b) => b.length - a.length)
    .map((token) => token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  // Placeholders for removed parts are highlighted whole: they say what was there.
  alternatives.unshift('\\[removed by phonehome: (?:[^[\\]]|\\[[^[\\]]*\\])*\\]');
  return { pattern: new RegExp(alternatives.join('|'), 'g'), labels };
}

/** Wraps each token in highlight marks, labelled with its identifier. */
function markTokens(value: string, tokens: ReturnType<typeof tokenPattern>): string {
  const clean = stripMarks(value);
  return clean.replace(
    tokens.pattern,
    (token) =>
      `${MARK_START}${tokens.labels.get(token) ?? 'removed'}${MARK_SEP}${token}${MARK_END}`,
  );
}

/** Wraps each identifier range of raw bytes in highlight marks (reveal mode). */
function markRanges(
  bytes: Buffer,
  charset: 'utf8' | 'latin1' | 'binary',
  finder: RangeFinder,
  limit: number,
): string {
  const decode = (from: number, to: number) =>
    charset === 'binary'
      ? printable(bytes.subarray(from, to))
      : stripMarks(bytes.subarray(from, to).toString(charset));
  let shown = '';
  let at = 0;
  for (const range of finder.find(bytes)) {
    shown += decode(at, range.start);
    shown += `${MARK_START}${range.identifier.label}${MARK_SEP}${decode(range.start, range.end)}${MARK_END}`;
    at = range.end;
  }
  shown += decode(at, bytes.length);
  return cut(shown, limit);
}

function markBody(
  body: Body,
  finder: RangeFinder | undefined,
  tokens: ReturnType<typeof tokenPattern>,
): Omit<MessageView, 'h'> {
  if (body.encoding === 'file') {
    const name = body.file.split(/[\\/]/).slice(-2).join('/');
    return {
      b: `(${body.size} bytes as sent over the wire, too large to show here: kept in ${name} in the run folder; its findings are listed)`,
      n: body.size,
      bin: false,
    };
  }
  const bytes = Buffer.from(body.data, body.encoding);
  const binary = body.encoding === 'base64';
  const shown = finder
    ? markRanges(bytes, binary ? 'binary' : 'utf8', finder, BODY_LIMIT)
    : cut(markTokens(binary ? printable(bytes) : body.data, tokens), BODY_LIMIT);
  return { b: shown, n: bytes.length, bin: binary };
}

/** Cuts a marked string to about `limit` characters, never inside a highlight. */
function cut(value: string, limit: number): string {
  if (value.length <= limit) return value;
  let end = limit;
  const open = value.lastIndexOf(MARK_START, end);
  const close = value.lastIndexOf(MARK_END, end);
  if (open > close) {
    const after = value.indexOf(MARK_END, end);
    end = after < 0 ? open : after + 1;
  }
  return `${value.slice(0, end)}…`;
}

/** Captured traffic cannot fake a highlight: the marker characters are dropped from it. */
function stripMarks(value: string): string {
  return value.replace(/[\ue000-\ue002]/g, '');
}

/** Bytes as one character each; control bytes as "·", like fragments. */
function printable(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    text +=
      byte < 0x20 || byte === 0x7f || (byte >= 0x80 && byte < 0xa0)
        ? byte === 0x0a
          ? '\n'
          : '·'
        : String.fromCharCode(byte);
  }
  return text;
}

function qualified(result: RunResult): { qualifier?: string } {
  const qualifier = statusQualifier(result.status, result.coverage);
  return qualifier ? { qualifier } : {};
}
