import type { DeviceEntry } from '../../config/devices.ts';
import { PROXY_COVERAGE, type Coverage } from '../../coverage.ts';
import { readMockLocationMode } from './mock-location.ts';
import { versionLimits } from './versions.ts';
import {
  DUMP_DIR,
  DUMP_MIN_VERSION,
  DumpStream,
  pcapdroidInstalled,
  pcapdroidVersion,
  readAppUids,
  readPhoneClock,
  startVpnCapture,
  vpnCoverage,
} from './vpn.ts';
import { describeError, PhonehomeError } from '../../errors.ts';
import type { IdentifierValues } from '../../types.ts';
import type {
  Device,
  DriverSession,
  PacketDumpSource,
  PhoneActions,
  ActionResult,
  RouteContext,
  ProbeRoute,
} from '../device.ts';
import { androidActions } from './actions.ts';
import { adbProxyProbe, adbRedirectProbe } from './route-probe.ts';
import { adbFor, createAdbExecutor, type Adb, type AdbExecutor } from './adb-client.ts';
import { listAttachedDevices, selectDevice } from './device-list.ts';
import { phoneFacts, readProps, type PhoneFacts, type Props } from './getprop.ts';
import { describeIdentifierMerge, readPhoneIdentifiers } from './read-identifiers.ts';
import { restoreChanges } from './restore.ts';
import { ChangeRecord, defaultStateDir, processAlive, stateFilePath } from './restore-state.ts';
import { detectRoot, restartAdbdAsRoot, type RootMethod } from './root.ts';
import { installIptables, IPTABLES_COVERAGE, IPTABLES_DUMP_COVERAGE } from './iptables.ts';
import {
  addReverse,
  isProxyUnset,
  readGlobalProxy,
  reassertReverse,
  setGlobalProxy,
} from './routing.ts';
import { androidCaFileName } from './subject-hash.ts';
import { installSystemCa } from './system-ca.ts';

export interface AndroidDeviceOptions {
  /** How adb is run (default: the adb found through ANDROID_HOME, ANDROID_SDK_ROOT or PATH). */
  exec?: AdbExecutor;
  /** Where restore records are kept (default: `android-state/` beside the CA folder). */
  stateDir?: string;
  /** How often the reverse tunnel is checked and re-created, in ms; 0 never (default 5000). */
  tunnelCheckMs?: number;
  /** How often the vpn route checks that PCAPdroid's capture runs, in ms (default 1000). */
  vpnPollMs?: number;
  /** How long su may take to answer before the phone counts as not rooted (default 15000). */
  suWaitMs?: number;
}

const ACTION_NAMES: (keyof PhoneActions)[] = [
  'insertSim',
  'setWifi',
  'allowLocation',
  'setLocation',
  'addContact',
  'receiveSms',
  'sendSms',
  'receiveMms',
  'sendMms',
  'receiveCall',
  'makeCall',
  'cloudLogin',
  'setSetting',
];

/**
 * A real phone or an emulator on USB, over adb and Appium's UiAutomator2 driver.
 *
 * `route` writes a restore record before each change (docs/android.md): it first undoes what a
 * killed run left on the phone, puts the run's CA into the system store when the phone is rooted
 * or an emulator, opens `adb reverse tcp:P tcp:P`, and sets the global proxy to 127.0.0.1:P.
 * `restore` undoes the record, the proxy first (`:0`, never `settings delete`).
 *
 * @example
 *   const phone = new AndroidDevice(findDevice(loadDevices(), 'pixel-7'));
 *   await phone.route(context);
 *   try { … } finally { await phone.restore(); }
 */
export class AndroidDevice implements Device {
  /** What the route chosen in devices.json (`android.route`) lets the capture see. */
  get coverage(): Coverage {
    const route = this.entry.android?.route;
    if (route === 'vpn') return vpnCoverage(this.entry.android?.vpn?.appFilter, this.dumping);
    if (route === 'iptables') return this.dumping ? IPTABLES_DUMP_COVERAGE : IPTABLES_COVERAGE;
    return PROXY_COVERAGE;
  }
  /** The iptables route redirects connections into the capture: they arrive with no destination. */
  get arrivesRedirected(): boolean {
    return this.entry.android?.route === 'iptables';
  }
  readonly entry: DeviceEntry;
  readonly appium = {
    kind: 'embedded' as const,
    // Flows and UiAutomator2's own helpers run shell commands on the phone.
    allowInsecure: ['uiautomator2:adb_shell'],
    useDrivers: ['uiautomator2'],
  };
  /** What the report should say about how this phone was captured. */
  readonly notes: string[] = [];
  private readonly options: AndroidDeviceOptions;
  private exec?: AdbExecutor;
  private adb?: Adb;
  private phone?: { props: Props; facts: PhoneFacts };
  private record?: ChangeRecord;
  private keeper?: NodeJS.Timeout;
  private port?: number;
  private log: (line: string) => void = () => {};
  private phoneNumber?: string;
  private root?: RootMethod | false;
  /** The tunnel keeper's check under way, if any. */
  private checking: Promise<void> = Promise.resolve();
  private rootWhy?: string;
  /** The vpn route's packet dump, streaming while the run lasts. */
  private dumpStream?: DumpStream;
  private dumping = false;
  private clockNote = '';

  constructor(entry: DeviceEntry, options: AndroidDeviceOptions = {}) {
    this.entry = entry;
    this.options = options;
  }

  get firmware(): string | undefined {
    const props = this.phone?.props;
    return props ? props['ro.build.display.id'] || props['ro.build.fingerprint'] : undefined;
  }

  /** The phone's serial once it was found. */
  get serial(): string | undefined {
    return this.adb?.serial;
  }

  /** Finds the phone (by serial, or the only one attached) and reads its properties once. */
  async connect(): Promise<{ adb: Adb; facts: PhoneFacts; props: Props }> {
    if (!this.adb) {
      this.exec ??= this.options.exec ?? createAdbExecutor();
      const chosen = selectDevice(
        await listAttachedDevices(this.exec),
        this.entry.serial,
        this.entry.id,
      );
      this.adb = adbFor(chosen.serial, this.exec);
    }
    if (!this.phone) {
      const props = await readProps(this.adb);
      this.phone = { props, facts: phoneFacts(props, this.adb.serial) };
    }
    return { adb: this.adb, ...this.phone };
  }

  async route(context: RouteContext): Promise<void> {
    this.log = context.log;
    const { adb, facts } = await this.connect();
    await this.restoreLeftovers(adb);
    const limits = versionLimits(facts, adb.serial);
    if (this.entry.gateway) {
      // The host is the phone's network (docs/gateway.md): nothing to set on the phone but the
      // CA, so even a phone too old for `adb reverse` can be captured.
      this.ensureRecord();
      context.log(
        `  android: ${adb.serial}, ${facts.manufacturer} ${facts.model}, Android ${facts.release} (API ${facts.api}), on the gateway ${this.entry.gateway.interface}`,
      );
      await this.trustCa(adb, facts, context);
      this.notes.push(
        `Traffic was captured at the network: this host was the phone's gateway on ${this.entry.gateway.interface}, so every TCP connection and DNS query arrived whatever app made it.`,
      );
      await this.recordMockLocation(adb);
      return;
    }
    if (!limits.reverse) {
      throw new PhonehomeError(
        'ANDROID_TOO_OLD',
        `device '${this.entry.id}': ${limits.reasons.find((reason) => /adb reverse/.test(reason))}`,
      );
    }
    const record = this.ensureRecord();
    context.log(
      `  android: ${adb.serial}, ${facts.manufacturer} ${facts.model}, Android ${facts.release} (API ${facts.api})${facts.emulator ? ', emulator' : ''}`,
    );
    await this.trustCa(adb, facts, context);

    const previous = await readGlobalProxy(adb);
    if (!isProxyUnset(previous)) {
      context.log(
        `  android: the phone had its own proxy (${previous}); it is put back at the end`,
      );
    }
    this.port = context.proxyPort;
    record.add({ kind: 'reverse', port: context.proxyPort });
    await addReverse(adb, context.proxyPort);
    if (this.entry.android?.route === 'vpn') {
      // Every TCP connection, by SOCKS5 through the same tunnel: no proxy setting to trust.
      await this.startVpn(adb, context, record);
      await this.recordMockLocation(adb);
      this.keepTunnel(adb);
      return;
    }
    if (this.entry.android?.route === 'iptables') {
      // Every TCP connection, redirected on the phone into the tunnel: no proxy to honour.
      const root = await this.rootMethod(adb, facts);
      if (!root) {
        throw new PhonehomeError(
          'IPTABLES_NEEDS_ROOT',
          `device '${this.entry.id}': the iptables route needs root, and ${adb.serial} has no su and adbd cannot run as root; use "route": "vpn" (PCAPdroid) on a stock phone`,
        );
      }
      record.add({ kind: 'iptables', root, api: facts.api });
      await installIptables(adb, root, context.proxyPort, facts.api);
      const redirected =
        'Traffic was redirected on the phone with iptables into `adb reverse`: every TCP connection of every app, named by its Host header or SNI';
      this.notes.push(
        (await this.startRootDump(adb, context, record))
          ? `${redirected}; PCAPdroid in root mode dumped the packets of the phone's internet interfaces, streamed off the phone: DNS queries and UDP flows are recorded, UDP payloads are not read (QUIC is rejected).${this.clockNote}`
          : `${redirected}; DNS and UDP are not seen (QUIC is rejected)${this.wantsDump(context) ? '; install PCAPdroid (versionCode 62+) to record them' : ''}.`,
      );
      await this.recordMockLocation(adb);
      this.keepTunnel(adb);
      return;
    }
    record.add({ kind: 'proxy', previous });
    await setGlobalProxy(adb, `127.0.0.1:${context.proxyPort}`);
    this.notes.push(
      'Traffic was routed with the global HTTP proxy over `adb reverse`: apps that ignore the system proxy (own network stacks, raw sockets, QUIC) are invisible to this capture.',
    );
    await this.recordMockLocation(adb);
    this.keepTunnel(adb);
  }

  /**
   * On the proxy route, the phone sends the probe from adb shell to the proxy its setting names;
   * on the iptables route, to an outside address its nat rules redirect (route-probe.ts). The vpn
   * route and a phone behind the gateway have no probe yet: their runs are inconclusive, never a
   * pass on a route nothing proved.
   */
  probeRoute(): ProbeRoute | undefined {
    if (this.entry.gateway || this.entry.android?.route === 'vpn') return undefined;
    if (!this.adb || this.port === undefined) return undefined;
    if (this.entry.android?.route === 'iptables') return adbRedirectProbe(this.adb, this.port);
    return adbProxyProbe(this.adb, this.port);
  }

  /**
   * The UiAutomator2 session about to start grants Appium's settings helper mock location: what
   * the app-op was is recorded first, and put back at restore.
   */
  private async recordMockLocation(adb: Adb): Promise<void> {
    this.ensureRecord().add({ kind: 'mock-location', previous: await readMockLocationMode(adb) });
  }

  capabilities(_context: RouteContext): Record<string, unknown> {
    const udid = this.adb?.serial ?? this.entry.serial;
    // A session on a phone UiAutomator2 cannot drive fails deep inside Appium: said here instead.
    if (this.phone && udid && !versionLimits(this.phone.facts, udid).scenarios) {
      throw new PhonehomeError(
        'ANDROID_TOO_OLD',
        `device '${this.entry.id}': ${versionLimits(this.phone.facts, udid).reasons[0]}`,
      );
    }
    return {
      platformName: 'Android',
      'appium:automationName': 'UiAutomator2',
      ...(udid ? { 'appium:udid': udid } : {}),
      // Never clear the data of the apps under test: their state is what is being audited.
      'appium:noReset': true,
      'appium:newCommandTimeout': 600,
      ...this.entry.capabilities,
    };
  }

  async readIdentifiers(_session: DriverSession): Promise<IdentifierValues> {
    const { adb } = await this.connect();
    // Fresh properties: the SIM and operator may have changed since routing.
    const props = await readProps(adb);
    this.phone = { props, facts: phoneFacts(props, adb.serial) };
    // Since Android 8 the Android IDs apps send are readable as root only.
    const root =
      this.phone.facts.api >= 26 ? await this.rootMethod(adb, this.phone.facts) : undefined;
    const reading = await readPhoneIdentifiers(adb, props, this.phone.facts, root);
    this.phoneNumber = reading.values.msisdn?.[0];
    for (const line of describeIdentifierMerge(this.entry.identifiers, reading)) {
      this.log(`  identifiers: ${line}`);
    }
    return reading.values;
  }

  actions(session: DriverSession): PhoneActions {
    const ready = (async () => {
      const { adb, facts } = await this.connect();
      const peer = this.entry.android?.peer;
      return androidActions({
        session,
        adb,
        ...(peer ? { peer: adbFor(peer.serial, this.exec) } : {}),
        facts,
        deviceId: this.entry.id,
        options: this.entry.android ?? {},
        ownNumber: async () => this.entry.identifiers.msisdn?.[0] ?? this.phoneNumber,
        record: () => this.ensureRecord(),
        log: (line) => this.log(line),
      });
    })();
    // Each action waits for the phone to be found; a failure to find it surfaces in the step.
    ready.catch(() => {});
    const actions = {} as Record<keyof PhoneActions, (...args: never[]) => ActionResult>;
    for (const name of ACTION_NAMES) {
      actions[name] = async (...args: never[]) => {
        const inner = (await ready) as unknown as Record<string, (...a: never[]) => ActionResult>;
        return inner[name]!(...args);
      };
    }
    return actions as unknown as PhoneActions;
  }

  /**
   * The vpn route: PCAPdroid hands every TCP connection over by SOCKS5; when the run takes a
   * packet dump (`context.packetDump`) and this PCAPdroid can name its dump file, it also dumps
   * every packet with the sending app, streamed off the phone as it is written, so DNS queries
   * and UDP flows are recorded too. The dump on the phone is part of the restore record.
   */
  private async startVpn(adb: Adb, context: RouteContext, record: ChangeRecord): Promise<void> {
    const vpn = this.entry.android?.vpn ?? {};
    const version = await pcapdroidVersion(adb);
    const canDump = version !== undefined && version >= DUMP_MIN_VERSION;
    const dumping = await this.startPcapdroid(adb, context, record, {
      dumping: this.wantsDump(context) && canDump,
      root: false,
      ...(version !== undefined ? { version } : {}),
    });
    const whose = vpn.appFilter ? ` of ${vpn.appFilter}` : '';
    if (dumping) {
      this.notes.push(
        `Traffic was captured with PCAPdroid's VPN (every TCP connection${whose}, over SOCKS5 through \`adb reverse\`; QUIC and DNS over TLS blocked), with its packet dump streamed off the phone: DNS queries, UDP flows and TCP connections are recorded with the app that sent them, UDP payloads are not read.${this.clockNote}`,
      );
      return;
    }
    this.notes.push(
      `Traffic was captured with PCAPdroid's VPN (every TCP connection${whose}, over SOCKS5 through \`adb reverse\`; QUIC blocked): UDP and DNS are not seen${this.wantsDump(context) && !canDump ? ` (PCAPdroid ${version === undefined ? 'did not say its version' : `versionCode ${version}`} cannot name its dump file; update it to versionCode ${DUMP_MIN_VERSION} or later)` : ''}.`,
    );
  }

  /**
   * Beside the iptables redirect: PCAPdroid in root mode, when it is installed and can name its
   * dump file, dumps the packets of the phone's internet interfaces (DNS and UDP: TCP goes into
   * the tunnel), streamed off the phone as on the vpn route. Returns whether it does.
   */
  private async startRootDump(
    adb: Adb,
    context: RouteContext,
    record: ChangeRecord,
  ): Promise<boolean> {
    if (!this.wantsDump(context) || !(await pcapdroidInstalled(adb))) return false;
    const version = await pcapdroidVersion(adb);
    if (version === undefined || version < DUMP_MIN_VERSION) {
      context.log(
        `  android: PCAPdroid ${version === undefined ? 'did not say its version' : `versionCode ${version}`} cannot name its dump file (versionCode ${DUMP_MIN_VERSION}+): DNS and UDP are not recorded`,
      );
      return false;
    }
    // Beside the redirect the dump is extra: a PCAPdroid that will not start (its request not
    // allowed, root mode refused) leaves the run as it would be without it, and says so.
    try {
      return await this.startPcapdroid(adb, context, record, {
        dumping: true,
        root: true,
        version,
      });
    } catch (error) {
      this.notes.push(
        `PCAPdroid's root-mode packet dump could not be started (${describeError(error)}): DNS and UDP are not seen.`,
      );
      return false;
    }
  }

  /** The run takes a packet dump, and devices.json does not say `"packetDump": "never"`. */
  private wantsDump(context: RouteContext): boolean {
    return context.packetDump !== undefined && this.entry.android?.packetDump !== 'never';
  }

  /**
   * Starts PCAPdroid (in its VPN, or in root mode), with its packet dump streaming if asked and
   * the phone's clock can be read; returns whether it dumps.
   */
  private async startPcapdroid(
    adb: Adb,
    context: RouteContext,
    record: ChangeRecord,
    how: { dumping: boolean; root: boolean; version?: number },
  ): Promise<boolean> {
    const vpn = this.entry.android?.vpn ?? {};
    let source: PacketDumpSource | undefined;
    if (how.dumping) {
      try {
        source = {
          ...(await readPhoneClock(adb)),
          apps: await readAppUids(adb),
          label: `PCAPdroid on ${adb.serial}`,
        };
      } catch (error) {
        // Packets that cannot be put on the run's clock cannot be judged: no dump, and said.
        this.notes.push(`No packet dump: ${describeError(error)}.`);
      }
    }
    const dumpName = source ? `phonehome-${Date.now()}.pcap` : undefined;
    const dump = dumpName ? `${DUMP_DIR}/${dumpName}` : undefined;
    record.add({ kind: 'vpn-capture', ...(dump ? { dump } : {}) });
    await startVpnCapture(adb, {
      ...(how.root ? { root: true } : { port: context.proxyPort }),
      ...(how.version !== undefined ? { version: how.version } : {}),
      ...(vpn.appFilter && !how.root ? { appFilter: vpn.appFilter } : {}),
      ...(dumpName ? { dumpName } : {}),
      ...(vpn.consentTimeoutMs !== undefined ? { consentTimeoutMs: vpn.consentTimeoutMs } : {}),
      ...(this.options.vpnPollMs !== undefined ? { pollMs: this.options.vpnPollMs } : {}),
      log: context.log,
    });
    if (!dump || !source || !context.packetDump) return false;
    this.dumping = true;
    this.clockNote = ` The phone's clock was ${Math.abs(source.clockOffsetMs)} ms ${source.clockOffsetMs < 0 ? 'behind' : 'ahead of'} the host's (±${source.clockUncertaintyMs} ms); packet times are taken at their earliest.`;
    this.dumpStream = DumpStream.start(adb, dump, context.packetDump(source), context.log);
    return true;
  }

  async restore(): Promise<void> {
    if (this.keeper) clearInterval(this.keeper);
    this.keeper = undefined;
    // A check already under way could re-create the tunnel after restore removed it: it ends
    // first, and none comes after.
    this.port = undefined;
    await this.checking;
    // What PCAPdroid still writes arrives before it is stopped and its dump deleted; a phone
    // that stopped answering still gets the rest of its restore.
    try {
      await this.dumpStream?.finish();
    } catch (error) {
      this.log(
        `  android: the rest of PCAPdroid's dump could not be read: ${describeError(error)}`,
      );
    }
    this.dumpStream = undefined;
    const record = this.record;
    if (!record || !this.adb) return;
    await restoreChanges(this.adb, record, this.log);
    this.record = undefined;
  }

  /**
   * Checks the reverse tunnel and re-creates it when adb dropped it (the keeper calls this on a
   * timer). Returns true when it had to.
   */
  async reassertTunnel(): Promise<boolean> {
    if (!this.adb || this.port === undefined) return false;
    const redone = await reassertReverse(this.adb, this.port);
    if (redone)
      this.log(`  android: adb had dropped the reverse tunnel tcp:${this.port}; re-created it`);
    return redone;
  }

  private ensureRecord(): ChangeRecord {
    if (!this.adb) throw new PhonehomeError('DEVICE_NOT_CONNECTED', 'the phone was not found yet');
    this.record ??= ChangeRecord.begin(this.statePath(this.adb.serial), {
      serial: this.adb.serial,
      deviceId: this.entry.id,
    });
    return this.record;
  }

  private statePath(serial: string): string {
    return stateFilePath(this.options.stateDir ?? defaultStateDir(), serial);
  }

  /** Undoes what a run killed with SIGKILL left on this phone, before changing anything. */
  private async restoreLeftovers(adb: Adb): Promise<void> {
    if (this.record) return;
    const left = ChangeRecord.load(this.statePath(adb.serial));
    if (!left) return;
    const owner = left.state.pid;
    if (owner !== process.pid && processAlive(owner)) {
      throw new PhonehomeError(
        'DEVICE_BUSY',
        `another phonehome (pid ${owner}) has been using ${adb.serial} since ${new Date(left.state.startedAt).toISOString()}; wait for it to end (its Ctrl-C restores the phone), or if no phonehome runs, \`phonehome restore --device ${this.entry.id} --force\``,
      );
    }
    this.log(
      `  android: an earlier run (pid ${owner}) did not restore ${adb.serial}; restoring it first (${left.changes.length} change(s))`,
    );
    await restoreChanges(adb, left, this.log);
  }

  private async trustCa(adb: Adb, facts: PhoneFacts, context: RouteContext): Promise<void> {
    const stock = (why: string) => {
      const note = `TLS: ${why}. Only apps that trust user-installed CAs can be read; every other TLS connection is recorded as unreadable (time, host, cause). docs/android.md shows how to install the CA as a user CA, or use a rooted phone or an emulator.`;
      this.notes.push(note);
      context.log(`  android: ${note}`);
    };
    if (this.entry.android?.systemCa === 'never')
      return stock('devices.json says systemCa "never"');
    const record = this.ensureRecord();
    const method = await this.rootMethod(adb, facts);
    if (!method) {
      return stock(
        `${adb.serial} is not rooted (${this.rootWhy ?? ''}) and adbd cannot run as root`,
      );
    }
    const fileName = androidCaFileName(context.ca.certPem);
    record.add({ kind: 'system-ca', fileName, root: method });
    try {
      await installSystemCa(adb, method, context.ca.certPem, fileName);
      context.log(
        `  android: the run's CA is in the system store as ${fileName} until the end of the run${facts.api >= 34 ? ' (and in the APEX Conscrypt store of zygote and running apps)' : ''}`,
      );
    } catch (error) {
      // Traffic is still captured; TLS that cannot be opened is recorded as unreadable.
      stock(describeError(error));
    }
  }

  /**
   * How to run a command as root on this phone: its su, or adbd restarted as root on a debuggable
   * build (a change the record undoes); undefined when neither. Asked once per run.
   */
  private async rootMethod(
    adb: Adb,
    facts: PhoneFacts,
    options: { restartAdbd?: boolean } = {},
  ): Promise<RootMethod | undefined> {
    if (this.root !== undefined) return this.root || undefined;
    const found = await detectRoot(adb, {
      ...(this.options.suWaitMs !== undefined ? { suWaitMs: this.options.suWaitMs } : {}),
    });
    let method: RootMethod | undefined = found.method === 'none' ? undefined : found.method;
    if (found.method === 'none') this.rootWhy = found.why;
    if (!method && facts.debuggable && options.restartAdbd === false) return undefined;
    if (!method && facts.debuggable) {
      const change = { kind: 'adbd-root' as const };
      this.ensureRecord().add(change);
      if (await restartAdbdAsRoot(adb)) method = 'adbd';
      else this.ensureRecord().remove(change);
    }
    this.root = method ?? false;
    return method;
  }

  private keepTunnel(adb: Adb): void {
    const every = this.options.tunnelCheckMs ?? 5000;
    if (every <= 0) return;
    let busy = false;
    this.keeper = setInterval(() => {
      if (busy) return;
      busy = true;
      this.checking = this.reassertTunnel()
        .then(
          () => undefined,
          (error: unknown) =>
            this.log(
              `  android: cannot check the reverse tunnel on ${adb.serial}: ${describeError(error)}`,
            ),
        )
        .finally(() => (busy = false));
    }, every);
    // The keeper must never keep the process alive on its own.
    this.keeper.unref();
  }
}
