import { loadOrCreateCa } from '../capture/ca.ts';
import { GATEWAY_COVERAGE, PROXY_COVERAGE } from '../coverage.ts';
import type { GatewaySettings } from '../config/devices.ts';
import { Gateway } from '../capture/gateway/gateway.ts';
import { bodyStore } from '../capture/bodies.ts';
import { PACKET_DUMP_FILE, PacketDumpRecorder } from '../capture/packet-dump.ts';
import { PROBE_HOST, probeNonce, probeUrl } from '../capture/probe.ts';
import { CaptureSession, type CaptureOptions } from '../capture/session.ts';
import type { Device, DriverSession, RouteContext } from '../device/device.ts';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PhonehomeError, describeError } from '../errors.ts';
import { openRun, type RunStart } from '../journal/open-run.ts';
import type { JournalWriter } from '../journal/writer.ts';
import { writeRunReports } from '../report/write-run-reports.ts';
import { onShutdown } from '../shutdown.ts';
import type {
  CertificateAuthority,
  Check,
  Identifier,
  IdentifierValues,
  Mark,
  ProbeMoment,
  RunResult,
} from '../types.ts';
import { analyseJournal } from '../verdict/analyse.ts';
import { evaluateChecks, withChecks } from '../verdict/judge.ts';

export interface RunSessionOptions {
  reportsDir: string;
  caDir: string;
  /** What the journal's first record says about the run. */
  start: RunStart;
  /** The phone to route through the proxy and restore at the end, if phonehome reaches it. */
  device?: Device;
  /**
   * The gateway route for a phone without a device entry (`capture --gateway-*`); a device's
   * own comes from its entry's "gateway".
   */
  gateway?: GatewaySettings;
  /** How the proxy listens and answers (the CA and journal are the session's). */
  capture: Omit<CaptureOptions, 'ca' | 'journal' | 'bodies'>;
  log: (line: string) => void;
  /** How long a route probe the phone sent may take to reach the capture (default 10 s). */
  probeTimeoutMs?: number;
  /**
   * True (the default): Ctrl-C or SIGTERM restores the phone, ends the journal and exits. False
   * when the caller ends the run itself on a signal (capture writes its reports then).
   */
  exitOnSignal?: boolean;
}

/**
 * One run's life, the same for a scenario run and `phonehome capture`: the CA, the run folder
 * and journal, the proxy, the phone routed through it; marks and identifiers as the run goes;
 * then teardown (the phone first, always — also on error and Ctrl-C), the journal's end, and the
 * verdicts and reports, derived from the journal alone.
 *
 * @example
 *   const session = await RunSession.open({ reportsDir, caDir, start, device, capture, log });
 *   let error: unknown;
 *   try { await session.start(); … session.mark(…) … } catch (e) { error = e } finally { await session.close(error) }
 *   const { result } = await session.finish(scenario.checks);
 */
export class RunSession {
  readonly folder: { id: string; path: string };
  readonly ca: CertificateAuthority;
  readonly journal: JournalWriter;
  private readonly options: RunSessionOptions;
  private readonly versions: Record<string, string>;
  private readonly teardowns: { what: string; work: () => unknown }[] = [];
  private proxy: CaptureSession | undefined;
  private gateway: Gateway | undefined;
  private unregister: () => void = () => {};
  private closed = false;
  private tornDown = false;
  /** This run's route probe nonce: no probe of another run can stand for one of this run's. */
  private readonly probeNonce = probeNonce();

  private constructor(
    options: RunSessionOptions,
    ca: CertificateAuthority,
    run: ReturnType<typeof openRun>,
  ) {
    this.options = options;
    this.ca = ca;
    this.folder = run.folder;
    this.journal = run.journal;
    this.versions = run.versions;
  }

  /**
   * Loads the CA, then opens the run folder and journal. Throws only before anything is on disk,
   * so a bad CA folder leaves no run folder behind that would look like a clean run.
   */
  static async open(options: RunSessionOptions): Promise<RunSession> {
    const ca = await RunSession.preflight(options);
    const session = new RunSession(options, ca, openRun(options.reportsDir, options.start));
    if (options.exitOnSignal !== false) {
      session.unregister = onShutdown(`run ${session.folder.id}`, async () => {
        await session.teardown();
        session.end('interrupted (SIGINT/SIGTERM)');
        console.error(`phonehome: what was captured is in ${session.folder.path}/journal.ndjson`);
      });
    }
    return session;
  }

  /**
   * Checks, before any run, that the CA can be loaded (or made) and the reports folder written:
   * a setup problem is a usage error naming the folder, never a run folder saying "pass".
   */
  static async preflight(folders: {
    caDir: string;
    reportsDir: string;
  }): Promise<CertificateAuthority> {
    const ca = await loadOrCreateCa(folders.caDir);
    try {
      mkdirSync(folders.reportsDir, { recursive: true, mode: 0o700 });
      accessSync(folders.reportsDir, constants.W_OK);
    } catch (error) {
      throw new PhonehomeError(
        'REPORTS_DIR',
        `cannot write run folders into ${folders.reportsDir}: ${describeError(error)}; set PHONEHOME_REPORTS_DIR to a folder you can write`,
        { cause: error },
      );
    }
    return ca;
  }

  /** The proxy; there once `start` has started it. */
  get capture(): CaptureSession {
    if (!this.proxy) throw new Error('the run session was not started');
    return this.proxy;
  }

  /** Starts the proxy, routes the phone through it, and journals what the device says about how it is watched. */
  async start(): Promise<RouteContext> {
    this.proxy = await CaptureSession.start({
      ...this.options.capture,
      ...(this.options.device?.arrivesRedirected ? { recordUnaddressed: true } : {}),
      ca: this.ca,
      journal: this.journal,
      bodies: bodyStore(this.folder.path),
    });
    const context: RouteContext = {
      proxyPort: this.proxy.port,
      proxyUrl: this.proxy.proxyUrl,
      ca: this.ca,
      runFolder: this.folder.path,
      log: this.options.log,
      // A device that streams a packet dump (the vpn route's PCAPdroid) keeps it in the run
      // folder, and what only packets show — DNS queries, UDP flows, the app — is journalled.
      packetDump: (source) =>
        new PacketDumpRecorder({
          ...source,
          journal: this.journal,
          file: join(this.folder.path, PACKET_DUMP_FILE),
          note: (text) => this.note(text),
        }),
    };
    const device = this.options.device;
    const gateway = this.options.gateway ?? device?.entry.gateway;
    if (gateway) {
      // The host is the phone's network: up before the phone is touched, so nothing it sends
      // from the first moment goes unrecorded.
      this.gateway = await Gateway.start({
        settings: gateway,
        passThrough: this.options.capture.answers.otherwise === 'pass-through',
        proxyPort: this.proxy.port,
        proxyHost: new URL(this.proxy.proxyUrl).hostname,
        journal: this.journal,
        log: (line) => this.options.log(`  ${line}`),
      });
    }
    if (device) {
      await device.route(context);
      for (const text of device.notes ?? []) this.note(text);
    }
    // Without a device (`capture` of a phone on Wi-Fi), the phone's proxy setting is the route.
    this.journal.append({
      type: 'coverage',
      at: Date.now(),
      coverage: gateway ? GATEWAY_COVERAGE : (device?.coverage ?? PROXY_COVERAGE),
    });
    if (!device) {
      // Nothing drives this phone: its user proves the route by opening the probe URL on it.
      const url = probeUrl(this.probeNonce, 'by-hand');
      this.journal.append({
        type: 'probe',
        moment: 'by-hand',
        at: Date.now(),
        url,
        how: "opened by hand in the phone's browser",
        fix: `open ${url} in the phone's browser while the capture runs; if it does not load, the phone's traffic is not going through phonehome (check its proxy or gateway settings)`,
      });
      this.options.log(`  prove the route: open ${url} in the phone's browser`);
    }
    return context;
  }

  /**
   * Makes the phone send a route probe along its apps' path and journals it; when the probe
   * comes live, waits until the capture has it (or the timeout). A probe that cannot be sent or
   * does not arrive is not an error of the run: its verdicts say the route is not proven.
   *
   * @example
   *   await session.probe('routing', driver); // after the Appium session opened
   */
  async probe(moment: ProbeMoment, session?: DriverSession): Promise<void> {
    const url = probeUrl(this.probeNonce, moment);
    const route = this.options.device?.probeRoute?.();
    const at = Date.now();
    if (!route) {
      this.journal.append({
        type: 'probe',
        moment,
        at,
        url,
        how: 'none',
        fix: 'use a route phonehome can probe (docs: "Route probes" in README.md)',
        error: `device '${this.options.device?.entry.id ?? '(none)'}' has no way to make the phone send a probe on this route`,
      });
      this.options.log(`  route probe (${moment}): this route cannot send one`);
      return;
    }
    const record = { type: 'probe' as const, moment, at, url, how: route.how, fix: route.fix };
    try {
      await route.send(url, session);
    } catch (error) {
      this.journal.append({ ...record, error: describeError(error) });
      this.options.log(
        `  route probe (${moment}): the phone could not send it: ${describeError(error)}`,
      );
      return;
    }
    this.journal.append(record);
    if (route.arrives !== 'live') return;
    try {
      await this.capture.waitForExchange({
        host: PROBE_HOST,
        since: at,
        timeoutMs: this.options.probeTimeoutMs ?? 10_000,
      });
      this.options.log(`  route probe (${moment}): arrived`);
    } catch {
      this.options.log(`  route probe (${moment}): never reached the capture — ${route.fix}`);
    }
  }

  mark(mark: Mark): void {
    this.journal.append({ type: 'mark', mark });
  }

  /** Identifier values learnt during the run: journalled at once, so a kill keeps them. */
  identifiers(source: 'device' | 'canary' | 'planted', values: IdentifierValues): void {
    if (Object.keys(values).length > 0)
      this.journal.append({ type: 'identifiers', source, values });
  }

  note(text: string): void {
    this.journal.append({ type: 'note', at: Date.now(), text });
    this.options.log(`  note: ${text}`);
  }

  /**
   * Work to undo at the end, after the phone is restored and before the proxy stops; the last
   * deferred runs first (an Appium session before the server it runs on).
   */
  defer(what: string, work: () => unknown): void {
    this.teardowns.unshift({ what, work });
  }

  /** Restores the phone, undoes what was deferred, stops the proxy, and ends the journal. */
  async close(error?: unknown): Promise<void> {
    if (this.closed) return;
    await this.teardown();
    this.unregister();
    this.end(error === undefined ? undefined : describeError(error));
  }

  /**
   * The run's verdicts (the scenario's checks included) and reports, from the journal alone.
   * Call after `close`.
   */
  async finish(
    checks: Record<string, Check> = {},
  ): Promise<{ result: RunResult; identifiers: Identifier[] }> {
    const analysed = await analyseJournal(this.journal.path);
    const result = withChecks(analysed.result, evaluateChecks(checks, analysed.result));
    await writeRunReports({ result, identifiers: analysed.identifiers, versions: this.versions });
    return { result, identifiers: analysed.identifiers };
  }

  private async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    // Order matters: the phone first (it must never be left without internet), then the rest.
    const steps = [
      { what: 'restore the phone', work: () => this.options.device?.restore() },
      ...this.teardowns.splice(0),
      { what: 'remove the gateway rules', work: () => this.gateway?.stop() },
      { what: 'stop the proxy', work: () => this.proxy?.stop() },
    ];
    for (const { what, work } of steps) {
      try {
        await work();
      } catch (error) {
        // Teardown goes on: one failure must not leave the phone routed or the proxy open.
        this.options.log(`  could not ${what}: ${describeError(error)}`);
      }
    }
  }

  private end(error: string | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.journal.append({ type: 'run-end', at: Date.now(), ...(error ? { error } : {}) });
    this.journal.close();
  }
}
