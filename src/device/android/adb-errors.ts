import { PhonehomeError } from '../../errors.ts';

/**
 * adb's known failure messages, each with what the user should do. adb reports them on stderr
 * (older versions on stdout) with exit code 1; the text is stable across platform-tools versions.
 */
const KNOWN: { pattern: RegExp; code: string; message: (serial: string) => string }[] = [
  {
    pattern: /device unauthorized|unauthorized/i,
    code: 'ADB_UNAUTHORIZED',
    message: (serial) =>
      `the phone ${serial} has not allowed USB debugging from this computer yet: unlock it and accept the "Allow USB debugging?" prompt (tick "Always allow"); if no prompt shows, unplug and replug the cable or run \`adb kill-server\``,
  },
  {
    pattern: /device offline|error: device offline/i,
    code: 'ADB_OFFLINE',
    message: (serial) =>
      `the phone ${serial} is offline for adb: unplug and replug the cable, or run \`adb reconnect\`; if it stays offline, restart adb with \`adb kill-server\``,
  },
  {
    pattern: /no permissions|insufficient permissions/i,
    code: 'ADB_NO_PERMISSIONS',
    message: (serial) =>
      `this user may not open the USB device of ${serial}: on Linux add a udev rule for the phone's vendor (Debian: \`sudo apt-get install android-sdk-platform-tools-common\`) and replug it`,
  },
  {
    pattern: /device '([^']*)' not found|device not found/i,
    code: 'ADB_DEVICE_NOT_FOUND',
    message: (serial) =>
      `no phone ${serial} is attached: check the cable and that USB debugging is on (\`adb devices\` lists what adb sees), or fix "serial" in devices.json`,
  },
  {
    pattern: /no devices\/emulators found|no devices found/i,
    code: 'ADB_NO_DEVICE',
    message: () =>
      'no phone is attached: plug it in with USB debugging on (Settings › Developer options), then check `adb devices`',
  },
  {
    pattern: /more than one device/i,
    code: 'ADB_SEVERAL_DEVICES',
    message: () =>
      'several phones are attached: set "serial" in the devices.json entry to the one to use (see `adb devices`)',
  },
  {
    pattern: /cannot connect to daemon|failed to start daemon|Connection refused/i,
    code: 'ADB_SERVER',
    message: () =>
      'the adb server could not be started or reached: run `adb kill-server && adb start-server` and look at its message',
  },
  {
    pattern: /error: closed|protocol fault|connection reset/i,
    code: 'ADB_CONNECTION_LOST',
    message: (serial) =>
      `the connection to ${serial} dropped (cable, USB hub, or adbd restarting): replug the phone and run the command again`,
  },
];

/**
 * Turns adb's output of a failed command into a PhonehomeError that says what to do, or
 * undefined when the failure is not one of adb's own (a command on the phone that failed).
 *
 * @example
 *   mapAdbFailure('adb: device offline', 'R58M123') // → PhonehomeError ADB_OFFLINE
 */
export function mapAdbFailure(output: string, serial = 'the phone'): PhonehomeError | undefined {
  // Only adb's own lines count: a phone command's output could contain any of these words.
  const adbLines = output
    .split('\n')
    .filter((line) => /^(adb|error|\* daemon|adb server|- waiting)/i.test(line.trim()))
    .join('\n');
  for (const known of KNOWN) {
    if (known.pattern.test(adbLines)) {
      return new PhonehomeError(
        known.code,
        `${known.message(serial)} (adb said: ${firstLine(adbLines)})`,
      );
    }
  }
  return undefined;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
