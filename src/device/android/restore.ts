import type { DeviceEntry } from '../../config/devices.ts';
import { readMockLocationMode, setMockLocationMode, stopLocationService } from './mock-location.ts';
import { IPTABLES_CHAIN, removeIptables } from './iptables.ts';
import { stopVpnCapture } from './vpn.ts';
import { switchWifi } from './wifi.ts';
import { describeError, PhonehomeError } from '../../errors.ts';
import { adbFor, createAdbExecutor, shell, type Adb, type AdbExecutor } from './adb-client.ts';
import { listAttachedDevices, selectDevice } from './device-list.ts';
import {
  ChangeRecord,
  defaultStateDir,
  processAlive,
  stateFilePath,
  type PhoneChange,
} from './restore-state.ts';
import { restartAdbdAsShell } from './root.ts';
import { isProxyUnset, removeReverse, setGlobalProxy } from './routing.ts';
import { removeSystemCa } from './system-ca.ts';

/**
 * The order changes are undone in: the phone's internet first (proxy, tunnel, Wi-Fi), then the
 * rest; adbd goes back to shell last because restarting it drops the connection for a moment.
 */
const ORDER: PhoneChange['kind'][] = [
  'proxy',
  // The VPN and the iptables redirect go before the tunnel they send into: removed after it,
  // the phone would be cut off.
  'vpn-capture',
  'iptables',
  'reverse',
  'wifi',
  'location-service',
  'mock-location',
  'location',
  'system-ca',
  'contact',
  'adbd-root',
];

/**
 * Undoes every change in the record, most important first. Each undone change leaves the record
 * at once, so a restore interrupted in turn is resumed by the next one; one that fails does not
 * stop the others. The record's file is deleted when nothing is left; otherwise this throws
 * RESTORE_INCOMPLETE with what is left and how to fix it by hand.
 *
 * @example
 *   await restoreChanges(adb, ChangeRecord.load(path)!, console.log);
 */
export async function restoreChanges(
  adb: Adb,
  record: ChangeRecord,
  log: (line: string) => void,
): Promise<void> {
  const pending = [...record.changes].sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
  const failures: string[] = [];
  for (const change of pending) {
    try {
      await undo(adb, change);
      record.remove(change);
    } catch (error) {
      // The other changes must still be undone: the proxy above all.
      failures.push(`${describeChange(change)}: ${describeError(error)}`);
      log(`  could not undo ${describeChange(change)}: ${describeError(error)}`);
    }
  }
  if (failures.length > 0) {
    throw new PhonehomeError(
      'RESTORE_INCOMPLETE',
      `the phone ${adb.serial} is not fully restored: ${failures.join('; ')}. Once it is attached again, run \`phonehome restore --device ${record.state.deviceId}\`; by hand: \`adb shell settings put global http_proxy :0\``,
    );
  }
  record.finish();
}

async function undo(adb: Adb, change: PhoneChange): Promise<void> {
  switch (change.kind) {
    case 'proxy':
      return setGlobalProxy(adb, isProxyUnset(change.previous) ? ':0' : change.previous);
    case 'reverse':
      return removeReverse(adb, change.port);
    case 'wifi':
      return switchWifi(adb, change.wasOn, change.api);
    case 'location': {
      const on = change.previousMode !== '0';
      if (change.api >= 30) {
        await shell(adb, ['cmd', 'location', 'set-location-enabled', String(on)]);
      } else {
        await shell(adb, ['settings', 'put', 'secure', 'location_mode', change.previousMode]);
      }
      // Read back: on Android 11+ only on/off can be set, below it the very mode.
      const now = (await shell(adb, ['settings', 'get', 'secure', 'location_mode'])).trim();
      const back = change.api >= 30 ? (now !== '0') === on : now === change.previousMode;
      if (!back) {
        throw new PhonehomeError(
          'LOCATION_NOT_RESTORED',
          `location on ${adb.serial} is mode ${now}, not ${change.previousMode} as before; set it in Settings › Location`,
        );
      }
      return;
    }
    case 'system-ca':
      return removeSystemCa(adb, change.root, change.fileName);
    case 'contact':
      await shell(adb, [
        'content',
        'delete',
        '--uri',
        'content://com.android.contacts/raw_contacts?caller_is_syncadapter=true',
        '--where',
        `_id=${change.rawContactId}`,
      ]);
      if (/\b_id=(\d+)/.test(await contactRow(adb, change.rawContactId))) {
        throw new PhonehomeError(
          'CONTACT_NOT_REMOVED',
          `the canary contact (raw contact ${change.rawContactId}) is still on ${adb.serial}; delete it in Contacts`,
        );
      }
      return;
    case 'adbd-root':
      return restartAdbdAsShell(adb);
    case 'vpn-capture':
      return stopVpnCapture(adb, change.dump);
    case 'iptables':
      return removeIptables(adb, change.root, change.api);
    case 'mock-location': {
      await setMockLocationMode(adb, change.previous);
      const now = await readMockLocationMode(adb);
      if (now !== change.previous) {
        throw new PhonehomeError(
          'MOCK_LOCATION_NOT_RESTORED',
          `Appium's settings helper on ${adb.serial} still has mock location ${now} (was ${change.previous}); \`adb shell appops set io.appium.settings android:mock_location ${change.previous}\``,
        );
      }
      return;
    }
    case 'location-service':
      return stopLocationService(adb);
  }
}

/** A change in words, for logs and errors. */
export function describeChange(change: PhoneChange): string {
  switch (change.kind) {
    case 'proxy':
      return `the global HTTP proxy (was '${change.previous}')`;
    case 'reverse':
      return `the adb reverse tunnel tcp:${change.port}`;
    case 'wifi':
      return `Wi-Fi (was ${change.wasOn ? 'on' : 'off'})`;
    case 'location':
      return `location (mode was ${change.previousMode})`;
    case 'system-ca':
      return `the run's CA in the system store (${change.fileName})`;
    case 'contact':
      return `the contact added by the run (raw contact ${change.rawContactId})`;
    case 'adbd-root':
      return 'adbd running as root';
    case 'vpn-capture':
      return `PCAPdroid's capture${change.dump ? ` and its packet dump ${change.dump}` : ''}`;
    case 'iptables':
      return `phonehome's iptables chains (${IPTABLES_CHAIN})`;
    case 'mock-location':
      return `Appium's mock-location grant (was ${change.previous})`;
    case 'location-service':
      return "Appium's mocked location (its LocationService)";
  }
}

export interface RestorePhoneOptions {
  exec?: AdbExecutor;
  stateDir?: string;
  /** Restore even when the record's process still runs (its pid may have been reused). */
  force?: boolean;
  /** Also reset the proxy (`:0`) when there is no record. */
  resetProxy?: boolean;
  log: (line: string) => void;
}

/**
 * `phonehome restore`: undoes what a killed run left on a phone, from its restore record.
 *
 * @example
 *   await restorePhone(findDevice(loadDevices(), 'pixel-7'), { log: console.log });
 */
export async function restorePhone(
  entry: DeviceEntry,
  options: RestorePhoneOptions,
): Promise<void> {
  const exec = options.exec ?? createAdbExecutor();
  const chosen = selectDevice(await listAttachedDevices(exec), entry.serial, entry.id);
  const adb = adbFor(chosen.serial, exec);
  const path = stateFilePath(options.stateDir ?? defaultStateDir(), chosen.serial);
  const record = ChangeRecord.load(path);
  if (!record) {
    options.log(`nothing to restore on ${chosen.serial}: no run left changes (no ${path})`);
    if (options.resetProxy) {
      await setGlobalProxy(adb, ':0');
      options.log('the global HTTP proxy is reset (:0)');
    }
    return;
  }
  const owner = record.state.pid;
  if (!options.force && owner !== process.pid && processAlive(owner)) {
    throw new PhonehomeError(
      'DEVICE_BUSY',
      `the run that changed ${chosen.serial} (pid ${owner}) still runs; stop it with Ctrl-C (it restores the phone), or pass --force if that pid is not phonehome`,
    );
  }
  options.log(
    `restoring ${chosen.serial} (left by pid ${owner} at ${new Date(record.state.startedAt).toISOString()}):`,
  );
  for (const change of record.changes) options.log(`  - ${describeChange(change)}`);
  await restoreChanges(adb, record, options.log);
  options.log(`${chosen.serial} is restored`);
}

/** The raw contact with this id, as `content query` prints it (no row: "No result found."). */
async function contactRow(adb: Adb, id: number): Promise<string> {
  return shell(adb, [
    'content',
    'query',
    '--uri',
    'content://com.android.contacts/raw_contacts',
    '--projection',
    '_id',
    '--where',
    `_id=${id}`,
  ]);
}
