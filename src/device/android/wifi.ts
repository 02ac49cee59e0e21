import { PhonehomeError } from '../../errors.ts';
import { shell, type Adb } from './adb-client.ts';

/**
 * `settings get global wifi_on`: 1 on, 2 on with airplane mode, 0 off, 3 off because of
 * airplane mode. Only 1 and 2 are "on".
 */
export function wifiIsOn(value: string): boolean {
  const state = value.trim();
  return state === '1' || state === '2';
}

/**
 * Switches Wi-Fi as Appium's settings helper does on each API level — `cmd -w wifi` from
 * Android 11, `svc wifi` from 8.0 (below it, `svc` needs root), else the helper's own receiver —
 * then reads `wifi_on` back until it says so: a command that printed nothing is no proof.
 *
 * @example
 *   await switchWifi(adb, true, 34);
 */
export async function switchWifi(
  adb: Adb,
  on: boolean,
  api: number | undefined,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<void> {
  if (api === undefined || (api >= 26 && api < 30)) {
    await shell(adb, ['svc', 'wifi', on ? 'enable' : 'disable']);
  } else if (api >= 30) {
    await shell(adb, ['cmd', '-w', 'wifi', 'set-wifi-enabled', on ? 'enabled' : 'disabled']);
  } else {
    await shell(adb, [
      'am',
      'broadcast',
      '-a',
      'io.appium.settings.wifi',
      '-n',
      'io.appium.settings/.receivers.WiFiConnectionSettingReceiver',
      '--es',
      'setstatus',
      on ? 'enable' : 'disable',
    ]);
  }
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  for (;;) {
    const now = await shell(adb, ['settings', 'get', 'global', 'wifi_on']);
    if (wifiIsOn(now) === on) return;
    if (Date.now() >= deadline) {
      throw new PhonehomeError(
        'WIFI_NOT_RESTORED',
        `Wi-Fi on ${adb.serial} is still ${on ? 'off' : 'on'} (wifi_on=${now.trim()}); switch it ${on ? 'on' : 'off'} in Settings`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
}
