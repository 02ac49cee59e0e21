import { PhonehomeError } from '../../errors.ts';
import type { AdbExecutor } from './adb-client.ts';

/** One line of `adb devices -l`. */
export interface AttachedDevice {
  serial: string;
  /** "device" when usable; "unauthorized", "offline", "no permissions", "recovery"… otherwise. */
  state: string;
  /** The `key:value` details adb prints after the state (model, product, transport_id…). */
  details: Record<string, string>;
}

/**
 * Parses `adb devices -l`.
 *
 * @example
 *   parseDeviceList('List of devices attached\nemulator-5554 device product:sdk model:Pixel\n')
 *   // → [{ serial: 'emulator-5554', state: 'device', details: { product: 'sdk', model: 'Pixel' } }]
 */
export function parseDeviceList(output: string): AttachedDevice[] {
  const devices: AttachedDevice[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('List of devices') || line.startsWith('*')) continue;
    // "no permissions (user in plugdev group; …)" is a state with spaces: split on the details.
    const match = /^(\S+)\s+(no permissions(?: \([^)]*\))?|\S+)(.*)$/.exec(line);
    if (!match) continue;
    const details: Record<string, string> = {};
    for (const pair of match[3]!.trim().split(/\s+/)) {
      const colon = pair.indexOf(':');
      if (colon > 0) details[pair.slice(0, colon)] = pair.slice(colon + 1);
    }
    devices.push({ serial: match[1]!, state: match[2]!, details });
  }
  return devices;
}

/** Lists the phones adb sees, in every state. */
export async function listAttachedDevices(exec: AdbExecutor): Promise<AttachedDevice[]> {
  const result = await exec(['devices', '-l']);
  return parseDeviceList(result.stdout);
}

/**
 * The phone to use: the one with `serial` when given, else the only one attached. Each way this
 * can fail says what to do (none, several, unauthorized, offline, no permissions).
 *
 * @example
 *   selectDevice(await listAttachedDevices(exec), entry.serial, entry.id).serial
 */
export function selectDevice(
  devices: AttachedDevice[],
  serial: string | undefined,
  deviceId: string,
): AttachedDevice {
  let chosen: AttachedDevice | undefined;
  if (serial) {
    chosen = devices.find((device) => device.serial === serial);
    if (!chosen) {
      const seen = devices.map((d) => `${d.serial} (${d.state})`).join(', ') || 'none';
      throw new PhonehomeError(
        'ADB_DEVICE_NOT_FOUND',
        `device '${deviceId}' has serial ${serial}, but adb does not see it (attached: ${seen}); check the cable and USB debugging, or fix "serial" in devices.json`,
      );
    }
  } else {
    if (devices.length === 0) {
      throw new PhonehomeError(
        'ADB_NO_DEVICE',
        `no phone is attached for device '${deviceId}': plug it in with USB debugging on (Settings › Developer options), then check \`adb devices\``,
      );
    }
    if (devices.length > 1) {
      throw new PhonehomeError(
        'ADB_SEVERAL_DEVICES',
        `several phones are attached (${devices.map((d) => d.serial).join(', ')}); add "serial": "<one of them>" to device '${deviceId}' in devices.json`,
      );
    }
    chosen = devices[0]!;
  }
  switch (chosen.state) {
    case 'device':
      return chosen;
    case 'unauthorized':
      throw new PhonehomeError(
        'ADB_UNAUTHORIZED',
        `the phone ${chosen.serial} has not allowed USB debugging from this computer yet: unlock it and accept the "Allow USB debugging?" prompt (tick "Always allow"), then run again`,
      );
    case 'offline':
      throw new PhonehomeError(
        'ADB_OFFLINE',
        `the phone ${chosen.serial} is offline for adb: replug the cable or run \`adb reconnect\`; if it stays offline, \`adb kill-server\``,
      );
    default:
      if (chosen.state.startsWith('no permissions')) {
        throw new PhonehomeError(
          'ADB_NO_PERMISSIONS',
          `this user may not open the USB device of ${chosen.serial}: on Linux add a udev rule for the phone's vendor (Debian: \`sudo apt-get install android-sdk-platform-tools-common\`) and replug it`,
        );
      }
      throw new PhonehomeError(
        'ADB_DEVICE_STATE',
        `the phone ${chosen.serial} is in state '${chosen.state}', not 'device': boot it normally with USB debugging on`,
      );
  }
}
