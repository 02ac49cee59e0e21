/**
 * The plain data shapes shared by every stage of the pipeline (DESIGN.md, "Words").
 * Behaviour lives in small functions around them; nothing here has methods.
 */

/** Identifier kinds, named the same everywhere: devices.json, identifier files, findings. */
export const IDENTIFIER_KINDS = [
  'imei',
  'imsi',
  'iccid',
  'msisdn',
  'serial',
  'android_id',
  'ad_id',
  'wifi_mac',
  'bt_mac',
  'operator',
  'email',
  'contact_number',
  'contact_name',
  'sms_text',
  'location',
] as const;

export type IdentifierKind = (typeof IDENTIFIER_KINDS)[number];

export function isIdentifierKind(value: string): value is IdentifierKind {
  return (IDENTIFIER_KINDS as readonly string[]).includes(value);
}

/** Where an identifier's value came from. Canaries are planted by the scenario, unique per run. */
export type IdentifierSource = 'devices.json' | 'device' | 'canary' | 'file';

/** One thing the phone must not send before consent: a kind and one value of it. */
export interface Identifier {
  kind: IdentifierKind;
  value: string;
  /** A label safe to print instead of the value, e.g. "IMEI #1". */
  label: string;
  source: IdentifierSource;
}

/** Identifier values by kind, as written in devices.json or an identifiers file. */
export type IdentifierValues = Partial<Record<IdentifierKind, string[]>>;

/** One header line as it was on the wire, order and duplicates kept. */
export type HeaderPair = [name: string, value: string];

/**
 * A message body after content-encoding (gzip, br…) was undone. Text bodies are kept as UTF-8,
 * anything else as base64 so the journal stays one JSON object a line.
 */
export interface Body {
  encoding: 'utf8' | 'base64';
  data: string;
  /** Set when the declared content-encoding could not be undone: `data` then holds the raw bytes. */
  decodeError?: string;
}

export interface HttpRequest {
  method: string;
  url: string;
  httpVersion: string;
  headers: HeaderPair[];
  body: Body;
}

export interface HttpResponse {
  status: number;
  statusMessage: string;
  headers: HeaderPair[];
  body: Body;
}

/** One request and its response, as the proxy saw them. */
export interface Exchange {
  /** The proxy's id for the request; unique within a run. */
  id: string;
  /** Host clock, ms since the epoch, when the request started. Decides the phase. */
  startedAt: number;
  completedAt: number;
  protocol: 'http' | 'https';
  host: string;
  request: HttpRequest;
  /** Missing when the phone hung up before an answer. */
  response?: HttpResponse;
  /** Set when the exchange did not complete normally. */
  error?: string;
}

/** A TLS connection the proxy could not open: recorded, never dropped silently. */
export interface TlsFailure {
  at: number;
  /** The server name the phone asked for (SNI), when it sent one. */
  host?: string;
  cause: string;
  remoteAddress?: string;
}

/** A mark on the run's single clock: a scripted step starting, or a consent being given. */
export interface Mark {
  type: 'step' | 'consent';
  name: string;
  at: number;
  /** For consents: the identifier kinds this consent covers. */
  covers?: IdentifierKind[] | 'all';
}

/** How much a match proves: a long unique value is strong, a short or common one weak. */
export type Evidence = 'strong' | 'weak';

/**
 * One place where one form of one identifier was seen.
 * `where` names the part: "url", "header:user-agent", "cookie:deviceId", "request-body",
 * "response-body", optionally with a nested path such as "request-body>base64".
 */
export interface Finding {
  /** 0-based index of the exchange in journal (or HAR entry) order. */
  exchange: number;
  exchangeId: string;
  kind: IdentifierKind;
  label: string;
  /** The encoding the value took, e.g. "plain", "url-encoded", "sha256-hex". */
  form: string;
  where: string;
  host: string;
  /** Byte offset of the match inside the part. */
  offset: number;
  evidence: Evidence;
  /** A few characters around the match, with the match between ⟦ and ⟧. */
  fragment: string;
  startedAt: number;
}

/** A finding placed on the timeline. */
export interface JudgedFinding extends Finding {
  /** The step that was running when the request started ("" before the first step). */
  step: string;
  /** The phase in which the request started, e.g. "before consent" or "after cloud-messaging". */
  phase: string;
  /** The first consent covering this kind, if it was ever given. */
  consent?: string;
  /** True when the request started before that consent (or no covering consent was given). */
  beforeConsent: boolean;
}

export type VerdictStatus = 'pass' | 'fail' | 'inconclusive';

export interface Verdict {
  name: string;
  status: VerdictStatus;
  /** A message a person can act on; empty on pass. */
  message: string;
}
