import {
  IDENTIFIER_KINDS,
  type IdentifierKind,
  type JudgedFinding,
  type RunResult,
} from '../types.ts';

/** What became of one (host, kind, phase) from run A to run B. */
export type DiffStatus = 'fixed' | 'still' | 'new';

/** One side's account of a (host, kind, phase). */
export interface DiffSide {
  findings: number;
  exchanges: number;
  labels: string[];
  forms: string[];
  wheres: string[];
  /** The step of the earliest finding. */
  firstStep: string;
  /** True when every finding of the group is weak evidence (an operator name, say). */
  weakOnly: boolean;
}

export interface DiffRow {
  host: string;
  kind: IdentifierKind;
  phase: string;
  /** True when the findings came before the consent covering their kind: a leak. */
  beforeConsent: boolean;
  status: DiffStatus;
  a?: DiffSide;
  b?: DiffSide;
}

export interface RunSummary {
  folder: string;
  runId: string;
  scenario: string;
  device: string;
  firmware?: string;
  status: RunResult['status'];
  exchanges: number;
  findings: number;
  leaks: number;
  /** Set when the run did not end normally. */
  error?: string;
}

/** A host contacted before any consent in one run and not in the other. */
export interface HostChange {
  host: string;
  /** False when the only contacts were TLS connections the proxy could not open. */
  readable: boolean;
  step: string;
}

export interface RunDiff {
  a: RunSummary;
  b: RunSummary;
  /** Leaks first (new, still, fixed), then what was sent after consent. */
  rows: DiffRow[];
  hosts: { newlyContacted: HostChange[]; noLongerContacted: HostChange[] };
}

/**
 * Compares two runs of one scenario, by identifier kind and not by value — the runs may be on
 * phones with other IMEIs, and canaries differ on every run. For each (host, kind, phase) it says
 * fixed (only A), still (both) or new (only B); and which hosts were contacted before consent in
 * one run but not the other.
 *
 * @example
 *   compareRuns(before, after).rows.filter((row) => row.beforeConsent && row.status !== 'fixed')
 *   // → [] when the update fixed every leak and brought none
 */
export function compareRuns(a: RunResult, b: RunResult): RunDiff {
  const groupsA = groups(a.findings);
  const groupsB = groups(b.findings);
  const rows: DiffRow[] = [];
  for (const key of new Set([...groupsA.keys(), ...groupsB.keys()])) {
    const inA = groupsA.get(key);
    const inB = groupsB.get(key);
    const any = (inB ?? inA) as JudgedFinding[];
    const first = any[0] as JudgedFinding;
    rows.push({
      host: first.host,
      kind: first.kind,
      phase: first.phase,
      // Within one phase, a kind is on one side of its consent; B's account wins when both exist.
      beforeConsent: any.some((finding) => finding.beforeConsent),
      status: inA && inB ? 'still' : inA ? 'fixed' : 'new',
      ...(inA ? { a: side(inA) } : {}),
      ...(inB ? { b: side(inB) } : {}),
    });
  }
  const order: Record<DiffStatus, number> = { new: 0, still: 1, fixed: 2 };
  rows.sort(
    (x, y) =>
      Number(y.beforeConsent) - Number(x.beforeConsent) ||
      order[x.status] - order[y.status] ||
      x.host.localeCompare(y.host) ||
      IDENTIFIER_KINDS.indexOf(x.kind) - IDENTIFIER_KINDS.indexOf(y.kind) ||
      x.phase.localeCompare(y.phase),
  );
  const earlyA = earlyHosts(a);
  const earlyB = earlyHosts(b);
  return {
    a: summary(a),
    b: summary(b),
    rows,
    hosts: {
      newlyContacted: [...earlyB.values()].filter((contact) => !earlyA.has(contact.host)),
      noLongerContacted: [...earlyA.values()].filter((contact) => !earlyB.has(contact.host)),
    },
  };
}

function groups(findings: JudgedFinding[]): Map<string, JudgedFinding[]> {
  const map = new Map<string, JudgedFinding[]>();
  for (const finding of findings) {
    const key = `${finding.host}\u0000${finding.kind}\u0000${finding.phase}`;
    map.set(key, [...(map.get(key) ?? []), finding]);
  }
  return map;
}

function side(findings: JudgedFinding[]): DiffSide {
  const sorted = [...findings].sort((x, y) => x.startedAt - y.startedAt);
  const unique = (values: string[]) => [...new Set(values)];
  return {
    findings: findings.length,
    exchanges: new Set(findings.map((finding) => finding.exchange)).size,
    labels: unique(sorted.map((finding) => finding.label)),
    forms: unique(sorted.map((finding) => finding.form)),
    wheres: unique(sorted.map((finding) => finding.where)),
    firstStep: sorted[0]?.step ?? '',
    weakOnly: findings.every((finding) => finding.evidence === 'weak'),
  };
}

/** Hosts contacted before the first consent, readable or not, each with its first contact. */
function earlyHosts(run: RunResult): Map<string, HostChange> {
  const hosts = new Map<string, HostChange>();
  for (const contact of [...run.contacts].sort((x, y) => x.at - y.at)) {
    if (contact.phase !== 'before consent') continue;
    const known = hosts.get(contact.host);
    if (known) known.readable ||= contact.readable;
    else
      hosts.set(contact.host, {
        host: contact.host,
        readable: contact.readable,
        step: contact.step,
      });
  }
  return hosts;
}

function summary(run: RunResult): RunSummary {
  return {
    folder: run.folder,
    runId: run.runId,
    scenario: run.scenario.name,
    device: run.device.id,
    ...(run.device.firmware ? { firmware: run.device.firmware } : {}),
    status: run.status,
    exchanges: run.exchanges,
    findings: run.findings.length,
    leaks: run.findings.filter((finding) => finding.beforeConsent).length,
    ...(run.error ? { error: run.error } : {}),
  };
}
