import type { JudgedFinding, Mark, TlsFailure, Verdict } from '../types.ts';
import type { ConsentDeclaration, HostContact } from '../verdict/judge.ts';

/** A finished run, as checks and reports see it. */
export interface RunResult {
  runId: string;
  /** The run folder under reports/. */
  folder: string;
  scenario: { name: string; title: string };
  device: { id: string; kind: string; firmware?: string };
  startedAt: number;
  endedAt: number;
  marks: Mark[];
  consents: ConsentDeclaration[];
  forbiddenHosts: string[];
  exchanges: number;
  findings: JudgedFinding[];
  unreadable: (TlsFailure & { phase: string; step: string })[];
  contacts: HostContact[];
  /** The consent verdicts computed from the data (the checks add theirs). */
  verdicts: Verdict[];
  /** What the reader must know about how the phone was watched (stock phone, proxy-unaware apps). */
  notes?: string[];
  /** Set when the run stopped early; the findings are those captured until then. */
  error?: string;
}
