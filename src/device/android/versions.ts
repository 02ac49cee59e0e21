import type { PhoneFacts } from './getprop.ts';

/** UiAutomator2 drives Android 8.0 (API 26) and newer (its README, since driver 6.0.0). */
export const UIAUTOMATOR2_MIN_API = 26;
/** `adb reverse` exists from Android 5.0 (API 21). */
export const REVERSE_MIN_API = 21;
/** Before Android 9, `adb reverse` over wireless adb fails with "more than one device". */
export const WIRELESS_REVERSE_MIN_API = 28;

/** What this phone's Android version allows phonehome to do with it. */
export interface VersionLimits {
  /** A scenario run can drive it (UiAutomator2). */
  scenarios: boolean;
  /** The proxy can be reached through `adb reverse` (USB, or wireless adb on Android 9+). */
  reverse: boolean;
  /** Why not, in words a user can act on; empty when nothing is limited. */
  reasons: string[];
}

/**
 * A phone on wireless adb: `adb connect host:port`, or Android 11's pairing (an mDNS service
 * name); an emulator's serial, or adb over loopback, is not one.
 */
export function isWirelessAdb(serial: string): boolean {
  return (
    (/:\d+$/.test(serial) || /\._adb-tls-connect\._tcp/.test(serial)) &&
    !/\bemulator\b/i.test(serial) &&
    // adb over loopback (an emulator connected by TCP) does not ride on the phone's Wi-Fi.
    !/^(?:127\.|localhost:|\[::1\]:)/.test(serial)
  );
}

/**
 * The minimum versions phonehome's Android routes rely on, for `doctor` and for a run that would
 * otherwise fail deep inside Appium. A phone too old for UiAutomator2 (the 2014 Redmi 1S ran
 * Android 4.4) is capture-only: `phonehome capture` with the phone on Wi-Fi (`--host`,
 * `--client`), its steps marked by hand.
 *
 * @example
 *   versionLimits({ api: 19, ... }, 'R58M12345').scenarios // → false
 */
export function versionLimits(
  facts: Pick<PhoneFacts, 'api' | 'release'>,
  serial: string,
): VersionLimits {
  const reasons: string[] = [];
  const wireless = isWirelessAdb(serial);
  const scenarios = facts.api >= UIAUTOMATOR2_MIN_API;
  if (!scenarios) {
    reasons.push(
      `Android ${facts.release} (API ${facts.api}) is older than UiAutomator2's minimum, Android 8.0 (API ${UIAUTOMATOR2_MIN_API}): scenario runs cannot drive this phone; it is capture-only (\`phonehome capture\`, steps marked by hand)`,
    );
  }
  let reverse = facts.api >= REVERSE_MIN_API;
  if (!reverse) {
    reasons.push(
      `adb reverse needs Android 5.0 (API ${REVERSE_MIN_API}): put the phone on Wi-Fi with this computer's proxy (\`phonehome capture --host <lan ip> --client <phone ip>\`)`,
    );
  } else if (wireless && facts.api < WIRELESS_REVERSE_MIN_API) {
    reverse = false;
    reasons.push(
      `over wireless adb (${serial}), adb reverse fails with "more than one device" before Android 9 (API ${WIRELESS_REVERSE_MIN_API}): connect the phone by USB`,
    );
  }
  return { scenarios, reverse, reasons };
}
