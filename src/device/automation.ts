import { PhonehomeError } from '../errors.ts';
import type { IdentifierValues } from '../types.ts';
import type { DriverSession, PhoneActions } from './device.ts';
import {
  readVirtualIdentifiers,
  usesVirtualAutomation,
  virtualActions,
} from './virtual-automation.ts';

/**
 * How user actions are done depends on the Appium driver behind the session, not on where the
 * phone is: a virtual phone on a remote Appium server takes the same `mobile:` commands as on
 * the embedded one. Each automation registers its actions here, keyed by automation name.
 */
export interface Automation {
  readIdentifiers(session: DriverSession): Promise<IdentifierValues>;
  actions(session: DriverSession): PhoneActions;
}

const automations = new Map<string, Automation>([
  ['phonehomevirtual', { readIdentifiers: readVirtualIdentifiers, actions: virtualActions }],
]);

/** Lets an automation (e.g. UiAutomator2) register how it does the user actions. */
export function registerAutomation(automationName: string, automation: Automation): void {
  automations.set(automationName.toLowerCase(), automation);
}

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
