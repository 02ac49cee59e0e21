import { join } from 'node:path';
import { PROXY_COVERAGE, type Coverage } from '../coverage.ts';
import type { DeviceEntry } from '../config/devices.ts';
import { readEnvironment } from '../config/env.ts';
import { fillVariables } from '../config/variables.ts';
import { PhonehomeError } from '../errors.ts';
import { readHar } from '../har/read.ts';
import type { IdentifierValues } from '../types.ts';
import { automationFor } from './automation.ts';
import { deepLinkProbe } from './deep-link-probe.ts';
import type {
  AfterSessionInfo,
  Device,
  DriverSession,
  PhoneActions,
  ProbeRoute,
  RouteContext,
} from './device.ts';
import { downloadNetworkLog } from './farm-network-log.ts';
import { startTunnel, type RunningTunnel } from './tunnel-process.ts';
import { usesVirtualAutomation, virtualCapabilities } from './virtual-automation.ts';

/**
 * A phone behind any Appium endpoint: a device farm, a Selenium Grid, appium-device-farm, or
 * another machine's Appium. Credentials are written `${VAR}` in devices.json and filled from the
 * environment here, at the last moment; the filled values are never logged or saved.
 *
 * Traffic reaches phonehome one of three ways (`traffic.mode`):
 * - `proxy`: the phone reaches phonehome's proxy directly (a self-hosted grid on this host, or
 *   virtual phones on another Appium server, which get the proxy as a capability);
 * - `tunnel`: the farm's tunnel program forwards it; phonehome starts it before the session and
 *   stops it after (`{proxyHost}`/`{proxyPort}` in its args are filled in);
 * - `har`: the farm records a network log; phonehome downloads it after the session and imports
 *   it into the journal, so the same detection and verdicts apply.
 */
export class RemoteDevice implements Device {
  readonly entry: DeviceEntry;
  private readonly where: string;
  private tunnel?: RunningTunnel;

  constructor(entry: DeviceEntry) {
    this.entry = entry;
    this.where = `devices.json: device '${entry.id}'`;
    if (!entry.endpoint) {
      throw new PhonehomeError(
        'DEVICES_INVALID',
        `${this.where} is remote and needs an "endpoint"`,
      );
    }
    // phonehome hands its proxy to a virtual phone only: a farm's UiAutomator2 phone left on the
    // default would send nothing to the capture, and its runs could only ever be inconclusive.
    if (!entry.traffic?.mode && !usesVirtualAutomation(entry.capabilities)) {
      throw new PhonehomeError(
        'DEVICES_INVALID',
        `${this.where} is a ${String(entry.capabilities['appium:automationName'] ?? 'non-virtual')} phone behind a remote endpoint and has no traffic.mode: phonehome cannot set a farm phone's proxy. Give "traffic": {"mode": "tunnel"} (the farm's tunnel forwards the phone's traffic to phonehome), {"mode": "har"} (the farm's network log is imported), or {"mode": "proxy"} once the phone's own proxy points at this host's proxy (the run's route probe checks that it does)`,
      );
    }
    // Every ${VAR} is checked now, so a missing secret stops the command before any run starts.
    this.fill(entry.endpoint, '.endpoint');
    this.fill(entry.capabilities, '.capabilities');
    this.fill(entry.traffic ?? {}, '.traffic');
  }

  get appium() {
    return { kind: 'remote' as const, url: this.fill(this.entry.endpoint!, '.endpoint') };
  }

  get firmware(): string | undefined {
    const firmware = this.entry.capabilities['appium:firmware'];
    return typeof firmware === 'string' ? firmware : undefined;
  }

  get coverage(): Coverage {
    if (this.mode !== 'har') return PROXY_COVERAGE;
    return {
      route: 'farm network log',
      sees: "what the device farm's network log recorded (imported after the session)",
      blind: [
        "whatever the farm's own capture leaves out (its proxy sees only proxy-aware HTTP(S); see the farm's documentation)",
      ],
      qualifier: 'farm-logged traffic only',
    };
  }

  private get mode(): 'proxy' | 'tunnel' | 'har' {
    return this.entry.traffic?.mode ?? 'proxy';
  }

  async route(context: RouteContext): Promise<void> {
    if (this.mode !== 'tunnel') return;
    const spec = this.entry.traffic?.tunnel;
    if (!spec) {
      throw new PhonehomeError(
        'DEVICES_INVALID',
        `${this.where} has traffic.mode "tunnel" but no traffic.tunnel {"command", "args"}; give the farm's tunnel command (e.g. BrowserStackLocal with --force-local --local-proxy-host {proxyHost} --local-proxy-port {proxyPort})`,
      );
    }
    const proxy = new URL(context.proxyUrl);
    const args = (spec.args ?? []).map((arg, index) =>
      this.fill(arg, `.traffic.tunnel.args[${index}]`)
        .replaceAll('{proxyHost}', proxy.hostname)
        .replaceAll('{proxyPort}', proxy.port),
    );
    context.log(`  starting the tunnel ${spec.command}`);
    this.tunnel = await startTunnel({
      command: spec.command,
      args,
      ready: spec.ready,
      timeoutMs: spec.timeoutMs,
    });
  }

  capabilities(context: RouteContext): Record<string, unknown> {
    const filled = this.fill(this.entry.capabilities, '.capabilities');
    if (!usesVirtualAutomation(filled)) return filled;
    const routed = { ...filled, ...virtualCapabilities(this.entry, context) };
    // Through a tunnel, the phone's proxy is the farm's end of the tunnel; with a network log,
    // the farm's recording proxy: as the farm set it up.
    if (this.mode !== 'proxy' && typeof filled['appium:proxy'] === 'string')
      routed['appium:proxy'] = filled['appium:proxy'];
    return routed;
  }

  /**
   * The phone opens the probe URL in its browser (`mobile: deepLink`) on every mode: through
   * phonehome's proxy (`proxy`), the farm's tunnel (`tunnel`), or the farm's own recording, which
   * must then hold it in the network log imported after the session (`har`).
   */
  probeRoute(): ProbeRoute {
    const how = "the phone's browser (mobile: deepLink)";
    switch (this.mode) {
      case 'proxy':
        return deepLinkProbe({
          how: `${how} through phonehome's proxy`,
          fix: usesVirtualAutomation(this.entry.capabilities)
            ? "check that the remote Appium server's virtual phone can reach this host's proxy (the same machine, or a proxy address it can reach)"
            : 'point the phone\'s proxy at this host\'s proxy yourself (phonehome cannot set a farm phone\'s proxy), or use traffic.mode "tunnel" or "har"',
          arrives: 'live',
        });
      case 'tunnel':
        return deepLinkProbe({
          how: `${how} through the farm's tunnel (${this.entry.traffic?.tunnel?.command ?? 'traffic.tunnel'})`,
          fix: "check that the tunnel connected and that the session uses it (its log, its credentials, the farm's local-testing capability, e.g. browserstack.local), and that it forwards everything to phonehome's proxy (e.g. --force-local)",
          arrives: 'live',
        });
      case 'har':
        return deepLinkProbe({
          how: `${how}, recorded in ${this.entry.traffic?.har?.farm ?? 'the farm'}'s network log`,
          fix: "check that the farm records the session's network log (BrowserStack: networkLogs true; LambdaTest: lt:options network true) and that traffic.har names the farm whose log it is",
          arrives: 'after-session',
        });
    }
  }

  readIdentifiers(session: DriverSession): Promise<IdentifierValues> {
    return automationFor(this.entry.capabilities, this.entry.id).readIdentifiers(session);
  }

  actions(session: DriverSession): PhoneActions {
    return automationFor(this.entry.capabilities, this.entry.id).actions(session, this.entry.id);
  }

  async afterSession(info: AfterSessionInfo): Promise<void> {
    if (this.mode !== 'har') return;
    const har = this.entry.traffic?.har;
    if (!har) {
      throw new PhonehomeError(
        'DEVICES_INVALID',
        `${this.where} has traffic.mode "har" but no traffic.har {"farm", "user", "key"}`,
      );
    }
    const file = join(info.runFolder, 'farm-network-log.har');
    await downloadNetworkLog(
      {
        farm: har.farm,
        api: har.api && this.fill(har.api, '.traffic.har.api'),
        user: this.fill(har.user ?? '', '.traffic.har.user'),
        key: this.fill(har.key ?? '', '.traffic.har.key'),
      },
      info.sessionId,
      file,
    );
    let count = 0;
    for await (const exchange of readHar(file)) {
      info.addExchange(exchange);
      count += 1;
    }
    info.log(`  imported ${count} exchanges from ${har.farm}'s network log`);
  }

  async restore(): Promise<void> {
    const tunnel = this.tunnel;
    this.tunnel = undefined;
    await tunnel?.stop();
  }

  private fill<T>(value: T, path: string): T {
    return fillVariables(value, readEnvironment().variables, `${this.where}${path}`);
  }
}
