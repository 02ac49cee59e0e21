import type {
  HostContact,
  JudgedFinding,
  UnreadableConnection,
  UnscannedPart,
  Verdict,
} from '../types.ts';

const CHAI_INSPECT = Symbol.for('chai/inspect');
const NODE_INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * Gives a record of a RunResult one readable line wherever it is shown — a chai failure
 * (`expected [ finding #0: IMEI #1 → api.account.xiaomi.com … ] to be empty`), console.log,
 * util.inspect — instead of `{ exchange: 1, …(14) }`. The line is a non-enumerable property:
 * JSON, deep equality and the reports never see it.
 */
function readable<T extends object>(value: T, line: string): T {
  for (const symbol of [CHAI_INSPECT, NODE_INSPECT]) {
    Object.defineProperty(value, symbol, { value: () => line, enumerable: false });
  }
  return value;
}

export function readableFinding(f: JudgedFinding): JudgedFinding {
  const judged = f.consent
    ? `${f.beforeConsent ? 'before' : 'after'} consent '${f.consent}'`
    : 'judged by no consent';
  const step = f.step ? `, step '${f.step}'` : '';
  return readable(
    f,
    `finding #${f.id}: ${f.label} → ${f.host} in ${f.where} (${f.form}), ${judged}${step}`,
  );
}

export function readableVerdict(v: Verdict): Verdict {
  return readable(v, `verdict '${v.name}': ${v.status}${v.summary ? ` — ${v.summary}` : ''}`);
}

export function readableContact(c: HostContact): HostContact {
  return readable(
    c,
    `contact: ${c.host}${c.readable ? '' : ' (TLS unreadable)'}, ${c.phase}${c.step ? `, step '${c.step}'` : ''}`,
  );
}

export function readableUnreadable(u: UnreadableConnection): UnreadableConnection {
  return readable(u, `unreadable: ${u.host ?? '(no SNI)'} (${u.cause}), ${u.phase}`);
}

export function readableUnscanned(u: UnscannedPart): UnscannedPart {
  return readable(u, `unscanned: ${u.host} ${u.where} (${u.reason}), ${u.phase}`);
}
