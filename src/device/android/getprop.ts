import { shell, type Adb } from './adb-client.ts';

/** The phone's system properties, as `getprop` prints them. */
export type Props = Record<string, string>;

/**
 * Parses `getprop` output (`[key]: [value]` a line; values can span lines).
 *
 * @example
 *   parseGetprop('[ro.build.version.sdk]: [34]\n') // → { 'ro.build.version.sdk': '34' }
 */
export function parseGetprop(output: string): Props {
  const props: Props = {};
  for (const match of output.matchAll(/^\[([^\]]+)\]: \[([\s\S]*?)\]\s*$/gm)) {
    props[match[1]!] = match[2]!;
  }
  return props;
}

/** Reads every property in one adb call. */
export async function readProps(adb: Adb): Promise<Props> {
  return parseGetprop(await shell(adb, ['getprop']));
}

/** The facts about a phone the harness decides on. */
export interface PhoneFacts {
  /** API level, e.g. 34 for Android 14. */
  api: number;
  release: string;
  model: string;
  manufacturer: string;
  /** An emulator (AVD, Genymotion…), by its build: root is usually at hand. */
  emulator: boolean;
  /**
   * What Appium takes for an emulator, and only that: a serial with the word "emulator" in it
   * (appium-android-driver's `isEmulator`, /\bemulator\b/i on the udid). Only then does
   * `mobile: sendSms`/`gsmCall` reach an emulator console; an emulator over `adb connect` or a
   * Genymotion VM is a phone to Appium, and is treated as one (a peer texts and calls it).
   */
  console: boolean;
  /** A userdebug/eng build, where `adb root` works. */
  debuggable: boolean;
}

/**
 * What the harness needs to know from the properties.
 *
 * @example
 *   phoneFacts(props, 'emulator-5554').api // → 34
 */
export function phoneFacts(props: Props, serial: string): PhoneFacts {
  return {
    api: Number.parseInt(props['ro.build.version.sdk'] ?? '', 10) || 0,
    release: props['ro.build.version.release'] ?? 'unknown',
    model: props['ro.product.model'] ?? 'unknown',
    manufacturer: props['ro.product.manufacturer'] ?? 'unknown',
    emulator:
      props['ro.kernel.qemu'] === '1' ||
      props['ro.boot.qemu'] === '1' ||
      serial.startsWith('emulator-') ||
      /^(goldfish|ranchu|vbox86)$/.test(props['ro.hardware'] ?? ''),
    debuggable: props['ro.debuggable'] === '1',
    console: /\bemulator\b/i.test(serial),
  };
}
