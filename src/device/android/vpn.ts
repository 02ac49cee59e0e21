import type { Coverage } from '../../coverage.ts';
import { PhonehomeError } from '../../errors.ts';
import { shell, type Adb } from './adb-client.ts';

/** PCAPdroid's package, and the activity its documented control API is (docs/app_api.md). */
export const PCAPDROID = 'com.emanuelef.remote_capture';
const CONTROL = `${PCAPDROID}/.activities.CaptureCtrl`;
const SERVICE = `${PCAPDROID}/.CaptureService`;

/** What the vpn route sees: every TCP connection, by SOCKS5, with its destination. */
export function vpnCoverage(appFilter: string | undefined): Coverage {
  return {
    route: 'vpn',
    sees: `every TCP connection ${appFilter ? `of ${appFilter}` : 'of every app and service'} after the capture started, handed over by PCAPdroid's VPN over SOCKS5 with its destination`,
    blind: [
      'UDP, and DNS lookups (PCAPdroid forwards TCP only; QUIC is blocked, so apps fall back to TCP)',
      ...(appFilter ? [`apps other than ${appFilter}`] : []),
      'traffic before the capture started (the first boot, the setup wizard)',
    ],
    qualifier: 'TCP traffic only',
  };
}

/** Whether PCAPdroid is installed. */
export async function pcapdroidInstalled(adb: Adb): Promise<boolean> {
  return /^package:/m.test(await shell(adb, ['pm', 'path', PCAPDROID]));
}

/** Whether PCAPdroid's capture service runs (`dumpsys` prints "(nothing)" when it does not). */
export async function vpnCaptureRunning(adb: Adb): Promise<boolean> {
  const out = await shell(adb, ['dumpsys', 'activity', 'services', SERVICE]);
  return /ServiceRecord\{[^}]*CaptureService/.test(out);
}

export interface VpnStart {
  /** The phone port that `adb reverse` takes to the capture (its SOCKS5 listener). */
  port: number;
  /** Only this app's traffic (PCAPdroid's `app_filter`), or every app's. */
  appFilter?: string;
  /** How long to wait for the user to allow the capture on the phone. */
  consentTimeoutMs?: number;
  pollMs?: number;
  log: (line: string) => void;
}

/**
 * Starts PCAPdroid's VPN capture through its documented control intent: no PCAP dump, every TCP
 * connection to 127.0.0.1:`port` over SOCKS5 (`adb reverse` takes it to phonehome), QUIC
 * blocked so apps fall back to TCP. PCAPdroid asks the user to allow a capture it was not asked
 * for by a known app (and Android asks once to allow its VPN): phonehome says so and waits, and
 * fails naming both dialogs if the capture does not run in time.
 *
 * @example
 *   await startVpnCapture(adb, { port: 8123, log: console.log });
 */
export async function startVpnCapture(adb: Adb, options: VpnStart): Promise<void> {
  if (!(await pcapdroidInstalled(adb))) {
    throw new PhonehomeError(
      'VPN_APP_MISSING',
      `PCAPdroid (${PCAPDROID}) is not installed on ${adb.serial}: the vpn route needs it. Install it from F-Droid or Google Play, open it once, then run again (or use "route": "proxy")`,
    );
  }
  await shell(adb, [
    'am',
    'start',
    '-e',
    'action',
    'start',
    '-e',
    'pcap_dump_mode',
    'none',
    '-e',
    'socks5_enabled',
    'true',
    '-e',
    'socks5_proxy_ip_address',
    '127.0.0.1',
    '-e',
    'socks5_proxy_port',
    String(options.port),
    '-e',
    'block_quic',
    'true',
    ...(options.appFilter ? ['-e', 'app_filter', options.appFilter] : []),
    '-n',
    CONTROL,
  ]);
  const deadline = Date.now() + (options.consentTimeoutMs ?? 60_000);
  let told = false;
  for (;;) {
    if (await vpnCaptureRunning(adb)) return;
    if (Date.now() >= deadline) break;
    if (!told) {
      options.log(
        `  android: on ${adb.serial}, allow PCAPdroid's capture request (and, the first time, Android's VPN request)…`,
      );
      told = true;
    }
    await delay(options.pollMs ?? 1000);
  }
  throw new PhonehomeError(
    'VPN_NOT_STARTED',
    `PCAPdroid's capture did not start on ${adb.serial} within ${Math.round((options.consentTimeoutMs ?? 60_000) / 1000)} s: allow its capture request on the phone (and Android's VPN request the first time), or grant phonehome's requests for good in PCAPdroid › Settings › Control permissions, then run again`,
  );
}

/**
 * Stops the capture and checks it stopped. A stop through the control intent would ask the user
 * again (the shell is no app PCAPdroid knows), so the app is force-stopped, which ends its VPN.
 */
export async function stopVpnCapture(adb: Adb): Promise<void> {
  await shell(adb, ['am', 'force-stop', PCAPDROID]);
  if (await vpnCaptureRunning(adb)) {
    throw new PhonehomeError(
      'VPN_NOT_STOPPED',
      `PCAPdroid's capture still runs on ${adb.serial} after \`am force-stop ${PCAPDROID}\`: stop it in PCAPdroid`,
    );
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
