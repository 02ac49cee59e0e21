import { PhonehomeError } from '../../errors.ts';
import { adbCommand, shell, type Adb } from './adb-client.ts';

/** The value `settings get` prints for an unset setting, and the reset value for the proxy. */
const UNSET = new Set(['', 'null', ':0']);

/** Whether a global http_proxy value means "no proxy". */
export function isProxyUnset(value: string): boolean {
  return UNSET.has(value.trim());
}

/** The phone's global HTTP proxy as `settings` prints it ("null" when never set). */
export async function readGlobalProxy(adb: Adb): Promise<string> {
  return (await shell(adb, ['settings', 'get', 'global', 'http_proxy'])).trim();
}

/**
 * Sets the global HTTP proxy and reads it back: a phone that ignored the write must not be
 * believed routed. `:0` is the reset; `settings delete` is known to leave phones offline.
 *
 * @example
 *   await setGlobalProxy(adb, '127.0.0.1:8123');
 *   await setGlobalProxy(adb, ':0'); // no proxy
 */
export async function setGlobalProxy(adb: Adb, value: string): Promise<void> {
  await shell(adb, ['settings', 'put', 'global', 'http_proxy', value]);
  const now = await readGlobalProxy(adb);
  // "null" and ":0" both mean no proxy: a phone that never had one may keep saying "null".
  if (now !== value && !(isProxyUnset(now) && isProxyUnset(value))) {
    throw new PhonehomeError(
      'PROXY_SETTING',
      `the phone ${adb.serial} did not take http_proxy=${value} (it reads '${now}'); some vendor builds block \`settings put global\` for the shell — allow "USB debugging (Security settings)" in Developer options (Xiaomi) and run again`,
    );
  }
}

/**
 * Makes port `port` on the phone reach port `port` on this host through USB (`adb reverse`), so
 * the proxy listens on loopback only and the phone needs no network path to this computer.
 */
export async function addReverse(adb: Adb, port: number): Promise<void> {
  await adbCommand(adb, ['reverse', `tcp:${port}`, `tcp:${port}`]);
}

/** Removes the tunnel; one already gone (adbd restarted, phone replugged) counts as removed. */
export async function removeReverse(adb: Adb, port: number): Promise<void> {
  try {
    await adbCommand(adb, ['reverse', '--remove', `tcp:${port}`]);
  } catch (error) {
    if (error instanceof PhonehomeError && /not found/i.test(error.message)) return;
    throw error;
  }
}

/** The phone ports adb currently reverses to this host. */
export async function listReverse(adb: Adb): Promise<number[]> {
  const output = await adbCommand(adb, ['reverse', '--list']);
  return [...output.matchAll(/\btcp:(\d+)\s+tcp:\d+/g)].map((match) => Number(match[1]));
}

/**
 * Re-creates the tunnel when adb dropped it (a replugged cable, adbd restarted, a flaky hub).
 * Returns true when it had to.
 */
export async function reassertReverse(adb: Adb, port: number): Promise<boolean> {
  if ((await listReverse(adb)).includes(port)) return false;
  await addReverse(adb, port);
  return true;
}
