import type { DeviceEntry } from '../config/devices.ts';
import { isIdentifierKind, type IdentifierValues } from '../types.ts';
import type { Device, DriverSession, PhoneActions, RouteContext } from './device.ts';

/**
 * The built-in virtual phone (drivers/virtual-phone). Routing is the proxy URL and CA handed to
 * the driver as capabilities — the virtual equivalent of setting the system proxy and trusting a
 * CA — so there is nothing on a phone to restore. Its hardware (IMEI, SIM…) is the entry's
 * identifiers.
 */
export class VirtualDevice implements Device {
  readonly entry: DeviceEntry;
  readonly appium = { kind: 'embedded' as const };

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
      'appium:automationName': 'PhonehomeVirtual',
      ...this.entry.capabilities,
      'appium:proxy': context.proxyUrl,
      'appium:caCertificate': context.ca.certPem,
      'appium:hardware': this.entry.identifiers,
    };
  }

  async readIdentifiers(session: DriverSession): Promise<IdentifierValues> {
    const info = (await session.execute('mobile: deviceInfo', {})) as {
      identifiers?: Record<string, string[]>;
    };
    const values: IdentifierValues = {};
    for (const [kind, list] of Object.entries(info.identifiers ?? {})) {
      if (isIdentifierKind(kind) && Array.isArray(list)) values[kind] = list.map(String);
    }
    return values;
  }

  actions(session: DriverSession): PhoneActions {
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

  async restore(): Promise<void> {
    // Nothing was changed on the phone.
  }
}
