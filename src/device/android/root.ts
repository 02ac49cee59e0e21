import { adbCommand, shell, type Adb } from './adb-client.ts';
import { shellQuote } from './shell-quote.ts';

/**
 * How to run a command as root on this phone:
 * - `adbd`: adbd itself runs as root (emulator or userdebug build after `adb root`);
 * - `su-c`: a root manager's su (Magisk, KernelSU, SuperSU) taking `su -c '<command>'`;
 * - `su-0`: AOSP's debug su (emulator images) taking `su 0 <command>`.
 */
export type RootMethod = 'adbd' | 'su-c' | 'su-0';

/**
 * The command line that runs `command` as root with `method`.
 *
 * @example
 *   asRoot('su-c', 'sh /data/local/tmp/x.sh') // → "su -c 'sh /data/local/tmp/x.sh'"
 */
export function asRoot(method: RootMethod, command: string): string {
  switch (method) {
    case 'adbd':
      return command;
    case 'su-c':
      return `su -c ${shellQuote(command)}`;
    case 'su-0':
      return `su 0 sh -c ${shellQuote(command)}`;
  }
}

/** Root access found on a phone, or why there is none. */
export type RootAccess = { method: RootMethod } | { method: 'none'; why: string };

function isRoot(output: string): boolean {
  return /uid=0\(root\)/.test(output);
}

/**
 * Finds a way to run commands as root without changing anything: adbd already root, then the
 * `su` variants. Running `su` on a phone with a root manager may show a grant prompt on the phone;
 * the user accepts it once.
 *
 * @example
 *   const root = await detectRoot(adb); // → { method: 'su-c' }
 */
export async function detectRoot(adb: Adb): Promise<RootAccess> {
  if (isRoot(await shell(adb, 'id'))) return { method: 'adbd' };
  if (isRoot(await shell(adb, asRoot('su-c', 'id')))) return { method: 'su-c' };
  if (isRoot(await shell(adb, asRoot('su-0', 'id')))) return { method: 'su-0' };
  return { method: 'none', why: 'no su answers as root and adbd runs as shell' };
}

/**
 * Restarts adbd as root (`adb root`), which works on emulators and userdebug builds only. This
 * changes the phone (adbd stays root until `adb unroot` or a reboot), so the caller records it
 * first. Returns true when adbd now runs as root.
 */
export async function restartAdbdAsRoot(adb: Adb): Promise<boolean> {
  const result = await adb.exec(['-s', adb.serial, 'root']);
  const said = `${result.stdout}${result.stderr}`;
  if (/cannot run as root|production builds/i.test(said)) return false;
  // adbd restarts and the phone drops off the bus for a moment.
  await adbCommand(adb, ['wait-for-device']);
  return isRoot(await shell(adb, 'id'));
}

/** Puts adbd back to running as shell (`adb unroot`) and waits for the phone to come back. */
export async function restartAdbdAsShell(adb: Adb): Promise<void> {
  await adbCommand(adb, ['unroot']);
  await adbCommand(adb, ['wait-for-device']);
}
