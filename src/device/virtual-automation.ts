import type { DeviceEntry } from '../config/devices.ts';
import { isIdentifierKind, type IdentifierValues } from '../types.ts';
import type { DriverSession, PhoneActions, RouteContext } from './device.ts';

/** The automation name of the built-in virtual phone's Appium driver. */
export const VIRTUAL_AUTOMATION = 'PhonehomeVirtual';

/** True when an entry's session runs on the virtual phone's driver (embedded or remote). */
export function usesVirtualAutomation(capabilities: Record<string, unknown>): boolean {
  return (
    String(capabilities['appium:automationName'] ?? '').toLowerCase() ===
    VIRTUAL_AUTOMATION.toLowerCase()
  );
}

/**
 * Capabilities that route the virtual phone: the proxy and the CA it trusts (its "system proxy"
 * and "system store"), and its hardware, which is the entry's identifiers.
 */
export function virtualCapabilities(
  entry: DeviceEntry,
  context: RouteContext,
): Record<string, unknown> {
  return {
    // On the gateway route the phone has no proxy set: it is on its network namespace's network.
    ...(entry.gateway ? {} : { 'appium:proxy': context.proxyUrl }),
    'appium:caCertificate': context.ca.certPem,
    'appium:hardware': entry.identifiers,
  };
}

/** What the virtual phone reports about itself through `mobile: deviceInfo`. */
export async function readVirtualIdentifiers(session: DriverSession): Promise<IdentifierValues> {
  const info = (await session.execute('mobile: deviceInfo', {})) as {
    identifiers?: Record<string, unknown>;
  };
  const values: IdentifierValues = {};
  for (const [kind, list] of Object.entries(info.identifiers ?? {})) {
    if (isIdentifierKind(kind) && Array.isArray(list)) values[kind] = list.map(String);
  }
  return values;
}

/** The user actions, as the virtual phone's `mobile:` commands. */
export function virtualActions(session: DriverSession): PhoneActions {
  const run = async (script: string, args: Record<string, unknown> = {}) => {
    await session.execute(script, args);
  };
  return {
    insertSim: () => run('mobile: insertSim'),
    setWifi: (on) => run('mobile: setConnectivity', { wifi: on }),
    allowLocation: async () => {
      if (!(await session.execute('mobile: isGpsEnabled', {}))) await run('mobile: toggleGps');
    },
    setLocation: (latitude, longitude) => run('mobile: setGeolocation', { latitude, longitude }),
    addContact: (name, phoneNumber) => run('mobile: addContact', { name, phoneNumber }),
    receiveSms: (from, text) => run('mobile: sendSms', { phoneNumber: from, message: text }),
    sendSms: (to, text) => run('mobile: composeMessage', { phoneNumber: to, message: text }),
    receiveMms: (from, text) => run('mobile: receiveMms', { phoneNumber: from, message: text }),
    sendMms: (to, text) =>
      run('mobile: composeMessage', { phoneNumber: to, message: text, mms: true }),
    receiveCall: (from) => run('mobile: gsmCall', { phoneNumber: from, action: 'call' }),
    makeCall: (to) => run('mobile: dial', { phoneNumber: to }),
    cloudLogin: (account) => run('mobile: cloudLogin', { account }),
    setSetting: (name, on) => run('mobile: setSetting', { name, value: on }),
  };
}
