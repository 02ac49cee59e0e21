import { PhonehomeError } from '../errors.ts';
import type { IdentifierValues } from '../types.ts';
import type { DriverSession, PhoneActions } from './device.ts';
import { readFarmIdentifiers, uiautomator2FarmActions } from './uiautomator2-farm-automation.ts';
import {
  readVirtualIdentifiers,
  usesVirtualAutomation,
  virtualActions,
} from './virtual-automation.ts';

/**
 * For remote devices, how user actions are done depends on the Appium driver behind the session:
 * a virtual phone on a remote Appium server takes the same `mobile:` commands as on the embedded
 * one; a UiAutomator2 phone on a farm gets what works without adb. Keyed by automation name.
 */
export interface Automation {
  readIdentifiers(session: DriverSession): Promise<IdentifierValues>;
  actions(session: DriverSession, deviceId: string): PhoneActions;
}

const automations = new Map<string, Automation>([
  ['phonehomevirtual', { readIdentifiers: readVirtualIdentifiers, actions: virtualActions }],
  ['uiautomator2', { readIdentifiers: readFarmIdentifiers, actions: uiautomator2FarmActions }],
]);

/** The automation for a session's capabilities, or an error naming what is supported. */
export function automationFor(capabilities: Record<string, unknown>, deviceId: string): Automation {
  const name = String(capabilities['appium:automationName'] ?? '');
  const found = usesVirtualAutomation(capabilities)
    ? automations.get('phonehomevirtual')
    : automations.get(name.toLowerCase());
  if (!found) {
    throw new PhonehomeError(
      'STEP_UNSUPPORTED',
      `device '${deviceId}' uses automation '${name || '(none)'}', for which phonehome has no user actions; supported: ${[...automations.keys()].join(', ')}`,
    );
  }
  return found;
}
