/**
 * The plain data shapes shared by every stage of the pipeline (README.md, "How it works"):
 * Exchange, Identifier, Variant, Finding, Step, Consent, Phase, Verdict, Run.
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

/**
 * Where an identifier's value came from. Canaries are made up by the scenario, unique per run;
 * `planted` values are what a step showed the phone that no canary covers (a number the scenario
 * wrote itself, a peer phone's real number).
 */
export type IdentifierSource = 'devices.json' | 'device' | 'canary' | 'planted' | 'file';

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
 * A message body: kept in the journal line when small (`InlineBody`), in a file of its own beside
 * the journal when large (`FileBody`).
 */
export type Body = InlineBody | FileBody;

/**
 * A message body after content-encoding (gzip, br…) was undone. Text bodies are kept as UTF-8,
 * anything else as base64 so the journal stays one JSON object a line.
 */
export interface InlineBody {
  encoding: 'utf8' | 'base64';
  data: string;
  /** Set when the declared content-encoding could not be undone: `data` then holds the raw bytes. */
  decodeError?: string;
  /**
   * Set when part of the body could not be recorded or decoded within the budgets (a body over
   * the recording limit, a decompression bomb): what it says was not scanned, so a verdict
   * before consent that it falls under is inconclusive.
   */
  unscanned?: string;
}

/**
 * A body too large to keep in a journal line (over 1 MiB as it arrived): its bytes, exactly as
 * they came over the wire (content-encoding not undone), were streamed to a file as they
 * arrived, so a 2 GB download costs no memory. The detector streams the file too.
 */
export interface FileBody {
  encoding: 'file';
  /**
   * Where the bytes are: relative to the journal's folder on disk ("bodies/<id>.request"); an
   * absolute path once read back (readJournal and the HAR reader resolve it).
   */
  file: string;
  /** Bytes in the file. */
  size: number;
  /** False while the body is still arriving (a request record) or when it was cut off. */
  complete: boolean;
  decodeError?: string;
  unscanned?: string;
}

/** The body is one kept in a file of its own. */
export function isFileBody(body: Body): body is FileBody {
  return body.encoding === 'file';
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
  /** `tcp` for a chunk of a raw TCP stream (see `tcp`), `dns` for a DNS lookup (see `dns`). */
  protocol: 'http' | 'https' | 'tcp' | 'dns';
  host: string;
  request: HttpRequest;
  /** Missing when the phone hung up before an answer. */
  response?: HttpResponse;
  /** Set when the exchange did not complete normally. */
  error?: string;
  /**
   * Set on one WebSocket message: `request.url` is its socket's, `request.body` the message
   * (either way), and `startedAt` when it passed. The socket's opening handshake is an exchange
   * of its own (request with `Upgrade: websocket`, response 101).
   */
  websocket?: WebSocketMessageInfo;
  /**
   * Set on one chunk of a TCP stream that is neither HTTP nor TLS (a push channel's own
   * protocol): `request.body` is the bytes as they passed (either way), `startedAt` when they did,
   * `request.url` tcp://host:port. Each chunk is judged by its own time, as a WebSocket message.
   */
  tcp?: TcpChunkInfo;
  /**
   * Set on a DNS query the phone made (the gateway and vpn routes): `request.url` is dns://<name>, and
   * the name is all that is scanned. A name looked up is a host contacted.
   */
  dns?: DnsQueryInfo;
  /**
   * The address and port the phone connected to, when the tunnel named an IP address (the vpn
   * route's SOCKS5): what ties the exchange to the app whose connection it was.
   */
  destination?: Destination;
  /**
   * The app that sent it, where the route says (the vpn route's packet dump names the app of
   * each DNS query, UDP flow and TCP connection): its package name, or `uid <n>` for a uid
   * without one; "a or b" when two apps connected to the same destination before it.
   */
  app?: string;
}

export interface Destination {
  address: string;
  port: number;
}

/** A TCP connection the phone opened, as a packet dump saw it: which app, to where, when. */
export interface PhoneConnection {
  /** The earliest it can have been opened, on the run's clock. */
  at: number;
  address: string;
  port: number;
  app: string;
}

export interface DnsQueryInfo {
  /** The query type: A, AAAA, HTTPS… */
  type: string;
  /** The address given back, if any. */
  answer?: string;
}

export interface TcpChunkInfo {
  /** The connection's id: every chunk of one stream has it. */
  stream: string;
  /** `sent` by the phone, or `received` by it. */
  direction: 'sent' | 'received';
}

export interface WebSocketMessageInfo {
  /** The socket's id: its opening handshake's exchange id. */
  stream: string;
  /** `sent` by the phone, or `received` by it. */
  direction: 'sent' | 'received';
  /** A binary message (else text). */
  binary: boolean;
}

/** A TLS connection the proxy could not open: recorded, never dropped silently. */
export interface TlsFailure {
  at: number;
  /** The server name the phone asked for (SNI), when it sent one; or the tunnel's destination. */
  host?: string;
  /** The destination port, for a connection that is not TLS or HTTP (`not-http`), or UDP. */
  port?: number;
  /**
   * `tls-…` for TLS the proxy could not open; `not-http` for a tunnelled connection (CONNECT,
   * SOCKS) that spoke another protocol (XMPP, MQTT, a vendor's own); `bad-http:<code>` for one
   * whose HTTP could not be parsed; `udp` for UDP datagrams to a destination (the gateway
   * and vpn routes), `udp-quic` for UDP/443, rejected so the phone falls back to TCP.
   */
  cause: string;
  remoteAddress?: string;
  /** For UDP: IP packets and bytes (headers included) counted when the flow was first seen. */
  packets?: number;
  bytes?: number;
  /** The address the phone connected to, when the tunnel named one (see `Exchange.destination`). */
  destination?: Destination;
  /** The app that sent it, where the route says (see `Exchange.app`). */
  app?: string;
}

/** A mark on the run's single clock: a scripted step starting, or a consent being given. */
export interface Mark {
  type: 'step' | 'consent';
  name: string;
  at: number;
  /** For consents: the identifier kinds this consent covers. */
  covers?: IdentifierKind[] | 'all';
  /**
   * For steps: set when the device did not perform the step's action (a SIM already in on a real
   * phone): why. What the step was to cause is then not in the run, and every report says so
   * beside the step. The journal restates the step's mark with it once known.
   */
  skipped?: string;
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
  /** The app that sent it, where the route says (see `Exchange.app`). */
  app?: string;
}

/** A finding placed on the timeline and judged once, by the consent that governs its kind. */
export interface JudgedFinding extends Finding {
  /** Its index in the run's findings: what verdicts point at. */
  id: number;
  /** The step that was running when the request started ("" before the first step). */
  step: string;
  /** The phase in which the request started, e.g. "before consent" or "after cloud-messaging". */
  phase: string;
  /**
   * The consent whose verdict judges this finding: the first consent covering its kind that was
   * given (or, when none was, the first declared one covering it). Absent when no declared
   * consent covers the kind: then the finding is shown, and judged by no verdict.
   */
  consent?: string;
  /** True when the request started before that consent was given (or it never was): a leak. */
  beforeConsent: boolean;
}

/** A declared consent: its name and the identifier kinds it covers. */
export interface ConsentDeclaration {
  name: string;
  covers: IdentifierKind[] | 'all';
}

/** A host contact, readable or not, placed on the timeline: the first per (host, phase). */
export interface HostContact {
  host: string;
  at: number;
  /** False for a TLS connection the proxy could not open (or other unreadable traffic). */
  readable: boolean;
  /** Set when the first contact in this phase was a DNS lookup of the name (gateway, vpn). */
  lookup?: true;
  /** The app that made that first contact, where the route says (see `Exchange.app`). */
  app?: string;
  phase: string;
  step: string;
}

/** A TLS connection the proxy could not open, placed on the timeline. */
export interface UnreadableConnection extends TlsFailure {
  phase: string;
  step: string;
}

/**
 * An opaque part someone reviewed and declared harmless (devices.json "opaqueExceptions", or the
 * scenario's): a matching opaque part becomes a note with this reason, not an inconclusive verdict.
 */
export interface OpaqueException {
  /** The host it goes to: exact, or "*.example.com" for any subdomain. */
  host: string;
  /** The part, as reports name it ("request-body", "cookie:s>base64"); a prefix ending before ">" matches parts inside it. */
  where: string;
  /** Why it is harmless, shown in every report: "reviewed: push token". */
  reason: string;
}

/** A body part the capture could not record or decode within its budgets: not scanned. */
export interface UnscannedPart {
  /** The exchange's start: decides the phase. */
  at: number;
  host: string;
  exchangeId: string;
  /** The part, as a finding names it: "request-body", "response-body>gzip", … */
  where: string;
  /** Why: a budget ("… decoding past …"), or "opaque: …" for bytes that look encrypted. */
  reason: string;
  /**
   * For an opaque part matching a declared exception: that exception's reason ("reviewed: push
   * token"). It is then a note in reports and makes no verdict inconclusive.
   */
  excepted?: string;
  phase: string;
  step: string;
}

/**
 * One small vocabulary for every verdict, the run's and the scenario's checks alike:
 * - `pass`: the rule held, and the capture could see enough to say so;
 * - `fail`: a leak, or a forbidden contact, or a check that failed;
 * - `inconclusive`: could not see (unreadable traffic, no identifiers known): never a pass;
 * - `error`: the run itself broke (a lost phone, a step that threw).
 */
export type VerdictStatus = 'pass' | 'fail' | 'inconclusive' | 'error';

export const VERDICT_STATUSES: readonly VerdictStatus[] = ['pass', 'fail', 'inconclusive', 'error'];

/** Which rule a verdict applies. */
export type VerdictRule = 'ran-to-end' | 'consent' | 'forbidden-hosts' | 'check';

/**
 * One verdict, decided once (src/verdict/judge.ts) and read by every consumer: console, mocha,
 * run.json, JUnit, report.html, merge, diff. Its name is the test's name everywhere.
 */
export interface Verdict {
  name: string;
  rule: VerdictRule;
  status: VerdictStatus;
  /** One line saying why it did not pass: what CI shows beside the test. Empty on pass. */
  summary: string;
  /** The whole explanation, a line per identifier, host or connection. Empty on pass. */
  message: string;
  /** Consent verdicts: the consent judged, and the identifier kinds it covers. */
  consent?: string;
  covers?: IdentifierKind[] | 'all';
  /** Ids of the findings it rests on (JudgedFinding.id). */
  findings: number[];
  /** Indexes into RunResult.contacts of the contacts it rests on. */
  contacts: number[];
  /** Indexes into RunResult.unreadable of the connections it could not see into. */
  unreadable: number[];
  /** Indexes into RunResult.unscanned of the body parts it could not scan. */
  unscanned: number[];
}

/**
 * When a run's route probe is sent: right after routing, after the last step, or by hand (a
 * `capture` of a phone phonehome does not drive, whose user opens the probe URL on it).
 */
export type ProbeMoment = 'routing' | 'last-step' | 'by-hand';

/**
 * One route probe: a request the phone itself sent to a phonehome-owned name along the path its
 * apps use, and whether the capture got it. A run proves its route carried the phone's traffic
 * only when each probe it sent arrived; otherwise no verdict of it passes.
 */
export interface RouteProbe {
  moment: ProbeMoment;
  /** What the phone was made to fetch: http://probe.phonehome.invalid/<nonce>/<moment> */
  url: string;
  /** How the phone sent it on this route, in words: "adb shell: nc to the global proxy …". */
  how: string;
  /** What to do when it does not arrive, for this route. */
  fix: string;
  sentAt: number;
  /** When the capture (or the farm's imported log) got it; absent when it never did. */
  arrivedAt?: number;
  /** Why it could not even be sent (the route has no way to probe, the phone refused). */
  error?: string;
}

/** A finished run, as checks, reports, diff and merge see it. */
/**
 * What the capture could see of the phone's traffic, and what it could not: said by every run,
 * in run.json, the console summary and report.html, so that a PASS is never read as more than
 * it is. A PASS on a route that cannot see everything says so in its very word:
 * "PASS (proxy-aware traffic only)".
 */
export interface Coverage {
  /** How the phone's traffic reached phonehome: "proxy", "farm network log"… */
  route: string;
  /** What this route hands to the capture. */
  sees: string;
  /** What it cannot hand over; empty when it sees everything the phone sends. */
  blind: string[];
  /** Added to a PASS when something is blind: "proxy-aware traffic only". */
  qualifier?: string;
  /** What the route does to the phone's traffic so that it sees it all (QUIC rejected…). */
  limits?: string[];
}

export interface RunResult {
  runId: string;
  /** The run folder under reports/. */
  folder: string;
  /** `file` is the scenario file, relative to the project, when known. */
  scenario: { name: string; title: string; file?: string };
  device: { id: string; kind: string; firmware?: string };
  startedAt: number;
  endedAt: number;
  marks: Mark[];
  consents: ConsentDeclaration[];
  forbiddenHosts: string[];
  /** How many exchanges were captured. */
  exchanges: number;
  /** How many DNS lookups were recorded (the gateway and vpn routes). */
  lookups?: number;
  /** How many identifiers (values) the run looked for, canaries included. */
  identifiers: number;
  findings: JudgedFinding[];
  unreadable: UnreadableConnection[];
  /** Body parts over the recording or decoding budget: not scanned. */
  unscanned: UnscannedPart[];
  contacts: HostContact[];
  /** Every verdict: the run's own (ran to the end, consents, forbidden hosts), then the checks. */
  verdicts: Verdict[];
  /** The run's one status, from its verdicts: fail, else error, else inconclusive, else pass. */
  status: VerdictStatus;
  /** What the reader must know about how the phone was watched (stock phone, proxy-unaware apps). */
  notes?: string[];
  /** What the capture could see of the phone's traffic, and what not (src/coverage.ts). */
  coverage: Coverage;
  /**
   * The route probes the run sent and whether each arrived (src/capture/probe.ts). Absent in
   * results written before probes existed.
   */
  probes?: RouteProbe[];
  /** Set when the run stopped early; the findings are those captured until then. */
  error?: string;
}

/**
 * The per-installation CA the proxy signs intercepted hosts with; phones trust it so their TLS
 * can be read.
 */
export interface CertificateAuthority {
  keyPath: string;
  certPath: string;
  /** The certificate (public) in PEM, to hand to a phone. Never the key. */
  certPem: string;
}

/** A named check over a finished run: a chai assertion that throws when the run fails it. */
export type Check = (run: RunResult) => void;
