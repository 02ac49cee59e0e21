import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DeviceEntry } from '../config/devices.ts';
import { PROJECT_ROOT } from '../paths.ts';
import { usesVirtualAutomation } from './virtual-automation.ts';

/** The virtual phone's shipped firmware profiles. */
const FIRMWARE_DIR = join(PROJECT_ROOT, 'drivers', 'virtual-phone', 'firmware');

/**
 * The firmware profile a devices.json entry names, known before any session: the virtual phone's
 * `appium:firmware` (a shipped profile) or `appium:firmwareFile` (as given). Undefined for a
 * phone whose build is only known once it is reached.
 *
 * @example
 *   entryFirmware(findDevice(config, 'virtual-clean')) // "clean"
 */
export function entryFirmware(entry: DeviceEntry): string | undefined {
  if (!usesVirtualAutomation(entry.capabilities) && entry.kind !== 'virtual') return undefined;
  const { 'appium:firmware': firmware, 'appium:firmwareFile': file } = entry.capabilities;
  if (typeof firmware === 'string') return firmware;
  return typeof file === 'string' ? file : undefined;
}

/**
 * The consent settings a device can switch, known before any session, and where that comes from:
 * a virtual phone's firmware profile (its `settings`), an android phone's taps in devices.json
 * (`android.settings`), none on a farm's UiAutomator2 phone (it has no setting flows). Undefined
 * when it cannot be told beforehand (a profile file that does not read: the session says why).
 *
 * @example
 *   entrySettings(findDevice(config, 'virtual-clean')) // { names: [], from: "firmware 'clean'" }
 */
export function entrySettings(entry: DeviceEntry): { names: string[]; from: string } | undefined {
  if (entry.kind === 'android') {
    return {
      names: Object.keys(entry.android?.settings ?? {}),
      from: 'devices.json "android.settings"',
    };
  }
  const firmware = entryFirmware(entry);
  if (firmware === undefined) {
    return usesVirtualAutomation(entry.capabilities)
      ? undefined
      : { names: [], from: 'a farm phone (no setting flows)' };
  }
  const file =
    typeof entry.capabilities['appium:firmwareFile'] === 'string'
      ? resolve(firmware)
      : join(FIRMWARE_DIR, `${firmware}.json`);
  try {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as { settings?: unknown };
    const settings = profile.settings;
    if (typeof settings !== 'object' || settings === null || Array.isArray(settings))
      return { names: [], from: `firmware '${firmware}'` };
    return { names: Object.keys(settings), from: `firmware '${firmware}'` };
  } catch {
    // An unknown profile or unreadable file fails the session with its own message.
    return undefined;
  }
}
