import { execFile } from 'node:child_process';
import { PhonehomeError } from '../../errors.ts';
import { mapAdbFailure } from './adb-errors.ts';
import { locateAdb } from './adb-locate.ts';
import { shellCommand } from './shell-quote.ts';

/** What one adb invocation printed and how it ended. */
export interface AdbResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs adb with arguments. Every device operation in this folder is a free function over one,
 * so tests put a fake `adb` first on PATH and the code under test runs unchanged.
 */
export type AdbExecutor = (args: string[], options?: { timeoutMs?: number }) => Promise<AdbResult>;

/** An adb executor bound to one phone: the phone's serial goes in front of every command. */
export interface Adb {
  readonly serial: string;
  readonly exec: AdbExecutor;
}

/**
 * An executor running the adb found by `locateAdb` (or `path`). Failures of adb itself (no phone,
 * unauthorized, offline, server down) become PhonehomeErrors that say what to do; a command on
 * the phone that fails is returned with its exit code for the caller to judge.
 *
 * @example
 *   const exec = createAdbExecutor();
 *   const { stdout } = await exec(['devices', '-l']);
 */
export function createAdbExecutor(path = locateAdb().path): AdbExecutor {
  return (args, options = {}) =>
    new Promise((resolve, reject) => {
      const serial = serialOf(args);
      execFile(
        path,
        args,
        { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (error, stdout, stderr) => {
          if (!error) return resolve({ stdout, stderr, code: 0 });
          const failure = error as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
          if (failure.code === 'ENOENT' || failure.code === 'EACCES') {
            return reject(
              new PhonehomeError(
                'ADB_NOT_FOUND',
                `cannot run adb at ${path} (${String(failure.code)}); check ANDROID_HOME or reinstall platform-tools`,
                { cause: error },
              ),
            );
          }
          if (failure.killed) {
            return reject(
              new PhonehomeError(
                'ADB_TIMEOUT',
                `\`adb ${args.join(' ')}\` did not answer within ${options.timeoutMs ?? 60_000} ms; replug ${serial} or run \`adb kill-server\``,
                { cause: error },
              ),
            );
          }
          const mapped = mapAdbFailure(`${stderr}\n${stdout}`, serial);
          if (mapped) return reject(mapped);
          resolve({ stdout, stderr, code: typeof failure.code === 'number' ? failure.code : 1 });
        },
      );
    });
}

/**
 * The adb client for one phone.
 *
 * @example
 *   const adb = adbFor('emulator-5554');
 *   await shell(adb, ['settings', 'get', 'global', 'http_proxy']);
 */
export function adbFor(serial: string, exec: AdbExecutor = createAdbExecutor()): Adb {
  return { serial, exec };
}

/**
 * Runs a command on the phone through `adb shell` and returns its standard output. The words are
 * quoted for the phone's shell; a string is passed as it is (for a command built by hand).
 * Phones before Android 7 do not return the exit code through adb, so callers check the output.
 *
 * @example
 *   await shell(adb, ['getprop', 'ro.build.version.sdk']) // → '34\n'
 */
export async function shell(adb: Adb, command: string[] | string): Promise<string> {
  const line = typeof command === 'string' ? command : shellCommand(command);
  const result = await adb.exec(['-s', adb.serial, 'shell', line]);
  return result.stdout;
}

/** Like `shell`, but also the exit code and error output, for commands whose failure matters. */
export async function shellResult(adb: Adb, command: string[] | string): Promise<AdbResult> {
  const line = typeof command === 'string' ? command : shellCommand(command);
  return adb.exec(['-s', adb.serial, 'shell', line]);
}

/**
 * Runs an adb host command for this phone (reverse, push, root…) and fails with adb's message
 * when it exits non-zero.
 *
 * @example
 *   await adbCommand(adb, ['reverse', 'tcp:8123', 'tcp:8123']);
 */
export async function adbCommand(adb: Adb, args: string[]): Promise<string> {
  const result = await adb.exec(['-s', adb.serial, ...args]);
  if (result.code !== 0) {
    throw new PhonehomeError(
      'ADB_FAILED',
      `\`adb -s ${adb.serial} ${args.join(' ')}\` failed: ${(result.stderr || result.stdout).trim() || `exit code ${result.code}`}`,
    );
  }
  return result.stdout;
}

function serialOf(args: string[]): string {
  const at = args.indexOf('-s');
  return at >= 0 && args[at + 1] ? args[at + 1]! : 'the phone';
}
