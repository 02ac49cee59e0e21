import type { DeviceEntry } from '../config/devices.ts';
import type { IdentifierValues } from '../types.ts';
import type { Device, DriverSession, PhoneActions, RouteContext } from './device.ts';
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
  readonly entry: DeviceEntry;
  readonly appium = { kind: 'embedded' as const, useDrivers: ['phonehome-virtual'] };

  constructor(entry: DeviceEntry) {
    this.entry = entry;
  }

  get firmware(): string | undefined {
    const firmware = this.entry.capabilities['appium:firmware'];
    return typeof firmware === 'string' ? firmware : undefined;
  }

  async route(_context: RouteContext): Promise<void> {
    // The proxy goes in as a capability; nothing to change on the phone.
  }

  capabilities(context: RouteContext): Record<string, unknown> {
    return {
      platformName: 'Android',
      'appium:automationName': VIRTUAL_AUTOMATION,
      ...this.entry.capabilities,
      ...virtualCapabilities(this.entry, context),
    };
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
