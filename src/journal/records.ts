import type { Coverage } from '../coverage.ts';
import type {
  Exchange,
  IdentifierValues,
  Mark,
  OpaqueException,
  PhoneConnection,
  ProbeMoment,
  TlsFailure,
} from '../types.ts';

/**
 * The journal is the run's source of truth: one JSON record a line, appended and flushed as the
 * run goes. Every report is rebuilt from it, so it holds everything a report needs.
 */
export type JournalRecord =
  | RunStartRecord
  | IdentifiersRecord
  | NoteRecord
  | CoverageRecord
  | MarkRecord
  | ProbeRecord
  | RequestRecord
  | ExchangeRecord
  | TlsFailureRecord
  | ConnectionRecord
  | RunEndRecord;

/** Always the first line: what ran, on what, looking for which identifiers. */
export interface RunStartRecord {
  type: 'run-start';
  /** Journal format version, bumped on incompatible change. */
  version: 1;
  at: number;
  runId: string;
  scenario: string;
  scenarioTitle: string;
  /** The scenario file, relative to the project folder, when the run came from one. */
  scenarioFile?: string;
  device: { id: string; kind: string; firmware?: string };
  /** Identifier values by kind the run starts with. Labels derive from the order. */
  identifiers: IdentifierValues;
  /** Where those came from: devices.json (the default), or an identifiers file (`--identifiers`). */
  identifierSource?: 'devices.json' | 'file';
  /** Consents the scenario declared, in order, with the kinds each covers. */
  consents: { name: string; covers: Mark['covers'] }[];
  /** Hosts the scenario forbids contacting before consent. */
  forbiddenHosts: string[];
  /** Opaque parts declared harmless, by the device (devices.json) and by the scenario. */
  opaqueExceptions?: OpaqueException[];
  versions: Record<string, string>;
  /** Set in a redacted copy: identifier values were replaced by these labels everywhere. */
  redacted?: { labels: string[] };
}

/**
 * Identifier values learnt during the run: read from the phone (source "device"), made up by the
 * scenario (source "canary"), or shown to the phone by a step (source "planted": every value
 * given to a user action, and what the device showed instead, such as a peer's real number).
 * devices.json values (in run-start) win over the phone's.
 */
export interface IdentifiersRecord {
  type: 'identifiers';
  source: 'device' | 'canary' | 'planted';
  values: IdentifierValues;
}

/** Something the reader of the report must know about how the phone was watched. */
export interface NoteRecord {
  type: 'note';
  at: number;
  text: string;
}

/** How the phone's traffic reached the capture, and what that route cannot see: once, after routing. */
export interface CoverageRecord {
  type: 'coverage';
  at: number;
  coverage: Coverage;
}

/**
 * A route probe the run made the phone send (src/capture/probe.ts): written when it was sent.
 * Whether it arrived is the journal's own record of it, an exchange with the probe URL, so a
 * probe that only comes with a farm's imported log counts just the same.
 */
export interface ProbeRecord {
  type: 'probe';
  moment: ProbeMoment;
  /** When it was sent (or could not be). */
  at: number;
  url: string;
  /** How the phone sent it on this route. */
  how: string;
  /** What to do when it does not arrive. */
  fix: string;
  /** Why it could not be sent at all. */
  error?: string;
}

export interface MarkRecord {
  type: 'mark';
  mark: Mark;
}

/**
 * A request, written (and flushed) before its response goes back to the phone, so a capture
 * killed at any moment keeps every request the phone got an answer to. Its `exchange` record
 * follows when the exchange completes; readers drop the request record then, and turn one that
 * never got its exchange into an exchange without a response.
 */
export interface RequestRecord {
  type: 'request';
  /** The exchange id, written before `exchange` so a reader finds it in a line's first bytes. */
  id: string;
  exchange: Exchange;
}

/** What a request record becomes when its exchange record never came. */
export function unansweredExchange(record: RequestRecord): ExchangeRecord {
  return {
    type: 'exchange',
    exchange: {
      ...record.exchange,
      error:
        record.exchange.error ?? 'no response was recorded (the capture stopped or was killed)',
    },
  };
}

export interface ExchangeRecord {
  type: 'exchange';
  exchange: Exchange;
}

export interface TlsFailureRecord {
  type: 'tls-failure';
  failure: TlsFailure;
}

/**
 * A TCP connection the phone opened, with the app that opened it, from a packet dump (the vpn
 * route): readers tie exchanges to apps by their destination with it.
 */
export interface ConnectionRecord {
  type: 'connection';
  connection: PhoneConnection;
}

/** Written when the run ends normally; a killed run has none. */
export interface RunEndRecord {
  type: 'run-end';
  at: number;
  /** Why the run ended early, if it did (an error message). */
  error?: string;
}
