import { PhonehomeError, describeError } from '../errors.ts';
import type { IdentifierValues } from '../types.ts';
import type { DriverSession, PhoneActions } from './device.ts';

/**
 * User actions on a UiAutomator2 phone behind a remote endpoint (a device farm), where phonehome
 * has no adb of its own: only UiAutomator2's `mobile:` commands. Steps that need adb shell
 * (`content insert`, intents, key events) go through `mobile: shell`, which most farms forbid
 * (Appium's `adb_shell` insecure feature): the error then names that limitation.
 */
export function uiautomator2FarmActions(session: DriverSession, deviceId: string): PhoneActions {
  const run = async (
    step: string,
    script: string,
    args: Record<string, unknown>,
    emulatorOnly = false,
  ) => {
    try {
      return await session.execute(script, args);
    } catch (error) {
      const message = describeError(error);
      const reason = /adb_shell|insecure/i.test(message)
        ? `the farm does not allow adb shell commands (Appium's adb_shell feature) on its devices`
        : emulatorOnly
          ? `UiAutomator2's ${script} works on emulators only, and the farm's device is a real phone`
          : `the farm's Appium refused ${script}: ${message}`;
      throw new PhonehomeError(
        'STEP_UNSUPPORTED',
        `step '${step}' cannot run on '${deviceId}': ${reason}; run this scenario on a phone on USB, or drop the step for farm devices`,
        { cause: error },
      );
    }
  };
  const unsupported = (step: string, why: string) => async () => {
    throw new PhonehomeError(
      'STEP_UNSUPPORTED',
      `step '${step}' cannot run on '${deviceId}': ${why}`,
    );
  };
  return {
    insertSim: unsupported(
      'insert SIM',
      'a farm device comes with its SIM (or none); remove this step for farm devices',
    ),
    setWifi: async (on) => void (await run('Wi-Fi', 'mobile: setConnectivity', { wifi: on })),
    allowLocation: async () => {
      if (!(await run('allow location', 'mobile: isGpsEnabled', {})))
        await run('allow location', 'mobile: toggleGps', {});
    },
    setLocation: async (latitude, longitude) =>
      void (await run('set location', 'mobile: setGeolocation', { latitude, longitude })),
    addContact: unsupported(
      'add a contact',
      'adding a contact goes through the contacts provider over adb, which phonehome does not have on a farm device; use a phone on USB',
    ),
    receiveSms: async (from, text) =>
      void (await run(
        'receive an SMS',
        'mobile: sendSms',
        { phoneNumber: from, message: text },
        true,
      )),
    sendSms: unsupported(
      'send an SMS',
      'a farm phone must not text a scenario number, and phonehome has no peer phone on a farm',
    ),
    receiveMms: unsupported(
      'receive an MMS',
      'an MMS can only come from a real peer phone, which a farm does not offer',
    ),
    sendMms: unsupported(
      'send an MMS',
      'a farm phone must not text a scenario number, and phonehome has no peer phone on a farm',
    ),
    receiveCall: async (from) =>
      void (await run(
        'receive a call',
        'mobile: gsmCall',
        { phoneNumber: from, action: 'call' },
        true,
      )),
    makeCall: unsupported(
      'make a call',
      'a farm phone must not call a scenario number, and phonehome has no peer phone on a farm',
    ),
    cloudLogin: unsupported(
      'cloud login',
      "vendor sign-in screens need a UI flow; farm devices run them only through the scenario's own WebdriverIO steps",
    ),
    setSetting: (name) =>
      unsupported(
        `set ${name}`,
        "vendor settings need a UI flow; farm devices run them only through the scenario's own WebdriverIO steps",
      )(),
  };
}

/** What a farm's UiAutomator2 session tells about the phone without adb: the operator, at best. */
export async function readFarmIdentifiers(session: DriverSession): Promise<IdentifierValues> {
  const info = (await session.execute('mobile: deviceInfo', {})) as { carrierName?: string };
  return info.carrierName ? { operator: [info.carrierName] } : {};
}
