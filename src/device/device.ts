import type { CertificateAuthority } from '../types.ts';
import type { Coverage } from '../coverage.ts';
import type { DeviceEntry } from '../config/devices.ts';
import type { Exchange, IdentifierKind, IdentifierValues } from '../types.ts';

/** What a device is given to route its traffic to the run's proxy. */
export interface RouteContext {
  /** The proxy's port on this host. */
  proxyPort: number;
  /** The proxy URL as seen from this host, e.g. http://127.0.0.1:8123 */
  proxyUrl: string;
  ca: CertificateAuthority;
  /** Folder of the run, for state files a device keeps (e.g. what to restore). */
  runFolder: string;
  log: (message: string) => void;
  /**
   * Where a device that streams a packet capture of the phone (the vpn route: PCAPdroid's dump)
   * sends it: the run records what only packets show (DNS queries, UDP flows, the sending app)
   * and keeps the capture in the run folder. Absent: the device keeps no dump.
   */
  packetDump?: (source: PacketDumpSource) => PacketDumpSink;
}

/** What a packet dump needs to be read on the run's clock and named by app. */
export interface PacketDumpSource {
  /** The phone's clock minus the host's, in ms. */
  clockOffsetMs: number;
  /** How far that offset may be off either way: times are taken as early as they can be. */
  clockUncertaintyMs: number;
  /** Package names by Linux uid (several sharing one uid are joined with ','). */
  apps: Record<number, string>;
  /** Who made the dump, for notes and errors: "PCAPdroid on R58M12345". */
  label: string;
}

/** Takes a packet dump's bytes (a pcap stream) as they come. */
export interface PacketDumpSink {
  write(chunk: Buffer): void;
  /** The dump is over: what is pending is recorded. */
  end(): void;
  /** Something the run's report must say about the dump (bytes that never arrived). */
  note(text: string): void;
}

export interface AfterSessionInfo {
  sessionId: string;
  runFolder: string;
  /** Appends one exchange to the run's journal. */
  addExchange: (exchange: Exchange) => void;
  log: (message: string) => void;
}

/**
 * How a routed phone sends the run's route probe (src/capture/probe.ts): a request it makes
 * itself, along the path its apps' traffic takes to the capture, to prove the route carries it.
 */
export interface ProbeRoute {
  /** How the phone sends it on this route, in words for the report. */
  how: string;
  /** What to do when it does not arrive, for this route. */
  fix: string;
  /**
   * `live`: the capture gets it at once, and the run waits for it; `after-session`: it comes
   * with the farm's network log, imported after the session.
   */
  arrives: 'live' | 'after-session';
  /**
   * Makes the phone fetch `url`. Resolves once the phone sent it (and, where it can tell, got
   * the answer); rejects when the phone could not send it.
   */
  send(url: string, session: DriverSession | undefined): Promise<void>;
}

/** The WebDriver session a device's actions run over (a WebdriverIO browser). */
export interface DriverSession {
  execute(script: string, ...args: unknown[]): Promise<unknown>;
}

/**
 * What an action did besides its effect, when that is not what the scenario asked for: the
 * values it made the phone see that the scenario did not choose (a real phone gets an SMS from the
 * peer's real number, not the scenario's made-up one), or that it did nothing at all and why. The
 * run journals both: the values become identifiers of the run, the skip is shown beside the step.
 */
export interface ActionOutcome {
  /** Values the phone now holds or has seen, each searched for like the phone's own identifiers. */
  planted?: { kind: IdentifierKind; value: string }[];
  /** Set when the device did not perform the action: why, and how to have it performed. */
  skipped?: string;
}

/** What every action resolves to: nothing to add, or an outcome to journal. */
export type ActionResult = Promise<ActionOutcome | void>;

/**
 * The user actions a scenario can take. Each device kind implements them the way that kind can
 * (the virtual phone through its `mobile:` commands; a phone on USB through UiAutomator2 and adb).
 * An action a device cannot do throws a PhonehomeError('STEP_UNSUPPORTED') that says why and what
 * would make it possible; one whose effect is already there and cannot be repeated (a SIM that
 * is in) resolves to `{ skipped }`: never a silent skip.
 */
export interface PhoneActions {
  insertSim(): ActionResult;
  setWifi(on: boolean): ActionResult;
  /** Switches location services on (idempotent). */
  allowLocation(): ActionResult;
  setLocation(latitude: number, longitude: number): ActionResult;
  addContact(name: string, phoneNumber: string): ActionResult;
  receiveSms(from: string, text: string): ActionResult;
  sendSms(to: string, text: string): ActionResult;
  receiveMms(from: string, text: string): ActionResult;
  sendMms(to: string, text: string): ActionResult;
  receiveCall(from: string): ActionResult;
  makeCall(to: string): ActionResult;
  /** Logs into the vendor's cloud account. */
  cloudLogin(account: string): ActionResult;
  /** Flips a named consent setting (e.g. 'cloud-messaging') in the vendor's settings. */
  setSetting(name: string, on: boolean): ActionResult;
}

/**
 * One phone, of any kind. The harness calls, in order: `route` (before the Appium session),
 * `capabilities`, then `actions` and `readIdentifiers` over the session, and `restore` — always,
 * also on error and on Ctrl-C. Every kind passes test/device/conformance.test.ts.
 */
export interface Device {
  readonly entry: DeviceEntry;
  /** The Appium server to use: the embedded one, or a remote endpoint. */
  readonly appium:
    | { kind: 'embedded'; allowInsecure?: string[]; useDrivers?: string[] }
    | { kind: 'remote'; url: string };
  /** Sends the phone's traffic through the proxy. Whatever it changes, `restore` undoes. */
  route(context: RouteContext): Promise<void>;
  /** Capabilities for the session: the entry's, plus what routing needs. */
  capabilities(context: RouteContext): Record<string, unknown>;
  /** Identifier values the phone itself reports (devices.json values win when merged). */
  readIdentifiers(session: DriverSession): Promise<IdentifierValues>;
  actions(session: DriverSession): PhoneActions;
  /**
   * Called after the Appium session ended, before `restore`: a device whose traffic is recorded
   * elsewhere (a farm's network log) hands its exchanges over here.
   */
  afterSession?(info: AfterSessionInfo): Promise<void>;
  /**
   * How the phone sends a route probe on the route `route` set up; called after `route`.
   * Absent (or undefined): this route has no way to probe, and no verdict of its runs passes.
   */
  probeRoute?(): ProbeRoute | undefined;
  /** Puts back everything `route` changed. Safe to call twice and after a failed `route`. */
  restore(): Promise<void>;
  /**
   * What the report should say about how this phone was watched (e.g. "stock phone: only apps
   * that trust user CAs are readable"; "apps that ignore the system proxy are invisible").
   * Filled by `route`.
   */
  readonly notes?: string[];
  /**
   * What the capture can see of this phone's traffic on the route `route` set up, and what not
   * (src/coverage.ts). Every run journals it; a PASS on a route that is blind to something says
   * so in its word.
   */
  readonly coverage: Coverage;
  /**
   * True when the route hands the capture redirected connections rather than proxied or
   * tunnelled ones (the iptables route): the capture then records a connection in an unknown
   * protocol even though it has no destination.
   */
  readonly arrivesRedirected?: boolean;
  /** Firmware or build name for the report, when known. */
  readonly firmware?: string;
}
