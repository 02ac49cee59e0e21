import { adbCommand, shell, type Adb } from './adb-client.ts';
import { PhonehomeError } from '../../errors.ts';
import { shellQuote } from './shell-quote.ts';

/**
 * How to run a command as root on this phone:
 * - `adbd`: adbd itself runs as root (emulator or userdebug build after `adb root`);
 * - `su-mm`: a root manager's su that takes `--mount-master` (`su -mm -c '<command>'`: Magisk,
 *   KernelSU, SuperSU), so that what is mounted lands in the global mount namespace even when
 *   the manager isolates each su session's mounts (Magisk's "Isolated" namespace mode);
 * - `su-c`: a root manager's su taking `su -c '<command>'`;
 * - `su-0`: AOSP's debug su (emulator images) taking `su 0 <command>`.
 */
export type RootMethod = 'adbd' | 'su-mm' | 'su-c' | 'su-0';

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
    case 'su-mm':
      return `su -mm -c ${shellQuote(command)}`;
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
export async function detectRoot(
  adb: Adb,
  options: { suWaitMs?: number } = {},
): Promise<RootAccess> {
  if (isRoot(await shell(adb, 'id'))) return { method: 'adbd' };
  const wait = options.suWaitMs ?? SU_WAIT_MS;
  let silent = false;
  for (const method of ['su-mm', 'su-c', 'su-0'] as const) {
    const answer = await answersAsRoot(adb, asRoot(method, 'id'), wait);
    if (answer === true) return { method };
    // A su that never answers is a root manager's prompt nobody accepted: the other form
    // would wait on the same prompt.
    if (answer === 'silent') {
      silent = true;
      break;
    }
  }
  return {
    method: 'none',
    why: silent
      ? `su did not answer within ${Math.round(wait / 1000)} s (a root manager asking on the phone? allow the shell there, or deny it for good)`
      : 'no su answers as root and adbd runs as shell',
  };
}

/** How long su may take to answer: a root manager's prompt waits for the user. */
const SU_WAIT_MS = 15_000;

async function answersAsRoot(
  adb: Adb,
  command: string,
  waitMs: number,
): Promise<boolean | 'silent'> {
  try {
    const result = await adb.exec(['-s', adb.serial, 'shell', command], { timeoutMs: waitMs });
    return isRoot(result.stdout);
  } catch (error) {
    if (error instanceof PhonehomeError && error.code === 'ADB_TIMEOUT') return 'silent';
    throw error;
  }
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
  // adbd restarts and the phone drops off the bus for a moment — but `wait-for-device` can
  // return before the old adbd went away: ask until the new one answers as root.
  for (let attempt = 0; attempt < 20; attempt++) {
    await adbCommand(adb, ['wait-for-device']);
    if (isRoot(await shell(adb, 'id').catch(() => ''))) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

/** Puts adbd back to running as shell (`adb unroot`) and waits for the phone to come back. */
export async function restartAdbdAsShell(adb: Adb): Promise<void> {
  await adbCommand(adb, ['unroot']);
  await adbCommand(adb, ['wait-for-device']);
}
