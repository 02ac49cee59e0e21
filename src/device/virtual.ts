import { resolve } from 'node:path';
import { PhonehomeError } from '../errors.ts';
import { PROXY_COVERAGE, type Coverage } from '../coverage.ts';
import type { DeviceEntry } from '../config/devices.ts';
import type { IdentifierValues } from '../types.ts';
import { deepLinkProbe } from './deep-link-probe.ts';
import type { Device, DriverSession, PhoneActions, ProbeRoute, RouteContext } from './device.ts';
import {
  VIRTUAL_AUTOMATION,
  readVirtualIdentifiers,
  virtualActions,
  virtualCapabilities,
} from './virtual-automation.ts';

/**
 * The built-in virtual phone (drivers/virtual-phone) on the embedded Appium server. Routing is the
 * proxy URL and CA handed to the driver as capabilities — the virtual equivalent of setting the
 * system proxy and trusting a CA — so there is nothing on a phone to restore.
 */
export class VirtualDevice implements Device {
  /** Routed through the system proxy: only traffic that honours it arrives (the gateway route's is the run's). */
  readonly coverage: Coverage = PROXY_COVERAGE;
  readonly entry: DeviceEntry;
  readonly appium = { kind: 'embedded' as const, useDrivers: ['phonehome-virtual'] };

  constructor(entry: DeviceEntry) {
    this.entry = entry;
  }

  /** The shipped profile's name, or the file of one's own (as given). */
  get firmware(): string | undefined {
    const { 'appium:firmware': firmware, 'appium:firmwareFile': file } = this.entry.capabilities;
    if (typeof firmware === 'string') return firmware;
    return typeof file === 'string' ? file : undefined;
  }

  async route(_context: RouteContext): Promise<void> {
    // The proxy goes in as a capability; nothing to change on the phone.
  }

  capabilities(context: RouteContext): Record<string, unknown> {
    if (
      this.entry.gateway &&
      typeof this.entry.capabilities['appium:networkNamespace'] !== 'string'
    ) {
      throw new PhonehomeError(
        'DEVICES_INVALID',
        `device '${this.entry.id}' has "gateway" but no capabilities."appium:networkNamespace": the virtual phone reaches a gateway only from a network namespace of its own (docs/gateway.md), with "appium:dnsServer" the gateway's address`,
      );
    }
    return {
      platformName: 'Android',
      'appium:automationName': VIRTUAL_AUTOMATION,
      ...this.entry.capabilities,
      // A profile file of one's own, relative to the working directory as every path phonehome takes.
      ...(typeof this.entry.capabilities['appium:firmwareFile'] === 'string'
        ? { 'appium:firmwareFile': resolve(this.entry.capabilities['appium:firmwareFile']) }
        : {}),
      ...virtualCapabilities(this.entry, context),
    };
  }

  /**
   * The virtual phone's browser opens the probe URL (`mobile: deepLink`) over the route its apps
   * use: the proxy URL it was handed, or its network namespace's gateway.
   */
  probeRoute(): ProbeRoute {
    return deepLinkProbe(
      this.entry.gateway
        ? {
            how: "the virtual phone's browser (mobile: deepLink), resolving the name with the gateway's DNS and connecting through the gateway",
            fix: `check that the namespace ${String(this.entry.capabilities['appium:networkNamespace'])} routes through the gateway's interface and that appium:dnsServer is the gateway's address (docs/gateway.md)`,
            arrives: 'live',
          }
        : {
            how: "the virtual phone's browser (mobile: deepLink) through the proxy URL it was handed",
            fix: 'check that the virtual phone can reach the proxy URL phonehome handed it (nothing on this host blocking loopback connections to its port, no capability overriding appium:proxy) and that the proxy ran for the whole run',
            arrives: 'live',
          },
    );
  }

  readIdentifiers(session: DriverSession): Promise<IdentifierValues> {
    return readVirtualIdentifiers(session);
  }

  actions(session: DriverSession): PhoneActions {
    return virtualActions(session);
  }

  async restore(): Promise<void> {
    // Nothing was changed on the phone.
  }
}
