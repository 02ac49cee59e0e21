import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { readEnvironment } from '../../config/env.ts';
import { PhonehomeError } from '../../errors.ts';

/** Where an adb executable was found, and through which setting. */
export interface AdbLocation {
  path: string;
  /** How it was found, for `phonehome doctor`: "ANDROID_HOME", "ANDROID_SDK_ROOT" or "PATH". */
  via: 'ANDROID_HOME' | 'ANDROID_SDK_ROOT' | 'PATH';
}

/**
 * Finds adb the way Android's own tools do: `$ANDROID_HOME/platform-tools/adb`, then
 * `$ANDROID_SDK_ROOT/platform-tools/adb`, then the first `adb` on PATH (Debian's `adb` package).
 * An SDK variable that is set but holds no adb is an error, not skipped: the user meant it.
 *
 * @example
 *   const { path } = locateAdb(); // → { path: '/home/me/Android/Sdk/platform-tools/adb', via: 'ANDROID_HOME' }
 */
export function locateAdb(
  env: Readonly<Record<string, string | undefined>> = readEnvironment().variables,
): AdbLocation {
  const exe = process.platform === 'win32' ? 'adb.exe' : 'adb';
  for (const variable of ['ANDROID_HOME', 'ANDROID_SDK_ROOT'] as const) {
    const root = env[variable]?.trim();
    if (!root) continue;
    const candidate = join(root, 'platform-tools', exe);
    if (isExecutable(candidate)) return { path: candidate, via: variable };
    throw new PhonehomeError(
      'ADB_NOT_FOUND',
      `${variable} is ${root}, but ${candidate} is not there or not executable; install "Android SDK Platform-Tools" into that SDK (sdkmanager "platform-tools"), or unset ${variable} to use the adb on PATH`,
    );
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, exe);
    if (isExecutable(candidate)) return { path: candidate, via: 'PATH' };
  }
  throw new PhonehomeError(
    'ADB_NOT_FOUND',
    'adb was not found: set ANDROID_HOME to your Android SDK (the folder holding platform-tools/), or install adb on PATH (Debian/Ubuntu: `sudo apt-get install adb`; macOS: `brew install android-platform-tools`)',
  );
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
