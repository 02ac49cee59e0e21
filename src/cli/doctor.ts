import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../paths.ts';
import { loadOrCreateCa } from '../capture/ca.ts';
import { chooseDevice, findDevice, loadDevices } from '../config/devices.ts';
import { readEnvironment } from '../config/env.ts';
import { adbFor, createAdbExecutor, shell, type Adb } from '../device/android/adb-client.ts';
import { locateAdb } from '../device/android/adb-locate.ts';
import { listAttachedDevices, selectDevice } from '../device/android/device-list.ts';
import { phoneFacts, readProps } from '../device/android/getprop.ts';
import { detectRoot } from '../device/android/root.ts';
import { addReverse, removeReverse } from '../device/android/routing.ts';
import { androidCaFileName } from '../device/android/subject-hash.ts';
import { versionLimits } from '../device/android/versions.ts';
import {
  DUMP_MIN_VERSION,
  PCAPDROID,
  pcapdroidInstalled,
  pcapdroidVersion,
} from '../device/android/vpn.ts';
import { describeError, EXIT } from '../errors.ts';
import { onShutdown } from '../shutdown.ts';
import type { GatewaySettings } from '../config/devices.ts';
import { interfaceAddress } from '../capture/gateway/gateway.ts';
import { checkNftables } from '../capture/gateway/nftables.ts';
import { loadOriginalDestination } from '../capture/gateway/original-destination.ts';

/** One line of the doctor's report. */
export interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

/**
 * `phonehome doctor [--device id]`: checks what a phone on USB needs — Node, adb, the phone's
 * state, Android version, root, Appium and its UiAutomator2 driver, the proxy reachable from the
 * phone through `adb reverse`, and how its CA will be trusted — and prints each with a fix.
 * On a virtual device, what it needs instead (no adb). Exits 0 when nothing failed, 1 when a check
 * failed.
 *
 * @example
 *   process.exitCode = await doctorCommand(['--device', 'pixel-7']);
 */
export async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { device: { type: 'string' }, 'devices-file': { type: 'string' } },
  });
  const config = loadDevices(values['devices-file']);
  const entry = values.device ? findDevice(config, values.device) : chooseDevice(config);
  console.log(`checking ${entry.id} (${entry.kind})`);
  const checks =
    entry.kind === 'virtual'
      ? await virtualDoctor()
      : await runDoctor(entry.id, values['devices-file']);
  if (entry.gateway) checks.push(...(await gatewayChecks(entry.gateway)));
  const marks = { ok: '✓', warn: '!', fail: '✗' };
  for (const check of checks) {
    console.log(`${marks[check.status]} ${check.name}: ${check.detail}`);
    if (check.fix) console.log(`    fix: ${check.fix}`);
  }
  // A failed check is the set-up's to fix, not phonehome breaking: 1, as a failed verdict.
  return checks.some((check) => check.status === 'fail') ? EXIT.leak : EXIT.ok;
}

/**
 * What the gateway route needs on this host (docs/gateway.md): nftables it may change, libc's
 * getsockopt through koffi, and the phone's interface up with an IPv4 address.
 */
export async function gatewayChecks(settings: GatewaySettings): Promise<Check[]> {
  const checks: Check[] = [];
  const attempt = async (name: string, work: () => Promise<string>, fix: string) => {
    try {
      checks.push({ name, status: 'ok', detail: await work() });
    } catch (error) {
      checks.push({ name, status: 'fail', detail: describeError(error), fix });
    }
  };
  await attempt(
    'gateway: nftables',
    async () => {
      await checkNftables();
      return 'nft runs and may change the ruleset';
    },
    'install nftables (apt-get install nftables) and run phonehome as root',
  );
  await attempt(
    'gateway: original destinations',
    async () => {
      await loadOriginalDestination();
      return "libc's getsockopt(SO_ORIGINAL_DST) through koffi";
    },
    'reinstall with npm ci (koffi ships a prebuilt binary per platform); the gateway needs Linux',
  );
  await attempt(
    'gateway: interface',
    async () =>
      `${settings.interface} is up at ${interfaceAddress(settings.interface)}; the phone is ${settings.phoneAddress}`,
    'start the access point (docs/gateway.md), or name the interface the phone is on',
  );
  return checks;
}

/** What the built-in virtual phone needs: Node, Appium, its driver, and a usable CA. No adb. */
async function virtualDoctor(): Promise<Check[]> {
  const checks = [
    nodeCheck(),
    ...packageChecks([['virtual phone driver', 'appium-phonehome-virtual-driver']]),
  ];
  checks.push(await caCheck());
  return checks;
}

function nodeCheck(): Check {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  return major > 20 || (major === 20 && minor >= 19)
    ? { name: 'Node', status: 'ok', detail: process.versions.node }
    : {
        name: 'Node',
        status: 'fail',
        detail: process.versions.node,
        fix: 'install Node 20.19 or newer',
      };
}

/** Appium, plus the driver packages named, in node_modules. */
function packageChecks(drivers: (readonly [string, string])[]): Check[] {
  return [['Appium', 'appium'] as const, ...drivers].map(([name, pkg]) =>
    existsSync(join(PROJECT_ROOT, 'node_modules', pkg, 'package.json'))
      ? { name, status: 'ok', detail: `node_modules/${pkg}` }
      : {
          name,
          status: 'fail',
          detail: 'not installed',
          fix: 'run `npm install` in the phonehome folder',
        },
  );
}

async function caCheck(): Promise<Check> {
  const dir = readEnvironment().caDir;
  try {
    const ca = await loadOrCreateCa(dir);
    return { name: 'CA', status: 'ok', detail: `${ca.certPath} (key private, 0600)` };
  } catch (error) {
    return {
      name: 'CA',
      status: 'fail',
      detail: describeError(error),
      fix: 'set PHONEHOME_CA_DIR to a folder you can write',
    };
  }
}

/** The checks, in order; stops at the first that makes the next ones meaningless. */
export async function runDoctor(deviceId?: string, devicesFile?: string): Promise<Check[]> {
  const checks: Check[] = [
    nodeCheck(),
    ...packageChecks([['UiAutomator2 driver', 'appium-uiautomator2-driver']]),
  ];
  let exec;
  try {
    const found = locateAdb();
    exec = createAdbExecutor(found.path);
    const version = (await exec(['version'])).stdout.split('\n')[0] ?? '';
    checks.push({
      name: 'adb',
      status: 'ok',
      detail: `${found.path} (via ${found.via}): ${version}`,
    });
    if (found.via === 'PATH' && !readEnvironment().variables.ANDROID_HOME) {
      checks.push({
        name: 'ANDROID_HOME',
        status: 'warn',
        detail:
          'not set; UiAutomator2 finds adb on PATH, but some of its features look for SDK tools there',
        fix: 'set ANDROID_HOME to your Android SDK if Appium reports a missing SDK tool',
      });
    }
  } catch (error) {
    checks.push({ name: 'adb', status: 'fail', detail: describeError(error) });
    return checks;
  }
  let adb: Adb;
  let entry: ReturnType<typeof findDevice> | undefined;
  try {
    entry = deviceId ? findDevice(loadDevices(devicesFile), deviceId) : undefined;
    const chosen = selectDevice(
      await listAttachedDevices(exec),
      entry?.serial,
      entry?.id ?? '(none chosen)',
    );
    adb = adbFor(chosen.serial, exec);
    checks.push({
      name: 'phone',
      status: 'ok',
      detail: `${chosen.serial} (${chosen.details.model ?? 'unknown model'})`,
    });
  } catch (error) {
    checks.push({ name: 'phone', status: 'fail', detail: describeError(error) });
    return checks;
  }
  const facts = phoneFacts(await readProps(adb), adb.serial);
  const limits = versionLimits(facts, adb.serial);
  checks.push(
    limits.reasons.length === 0
      ? {
          name: 'Android',
          status: 'ok',
          detail: `${facts.release} (API ${facts.api})${facts.emulator ? ', emulator' : ''}`,
        }
      : {
          name: 'Android',
          status: limits.reverse ? 'warn' : 'fail',
          detail: `${facts.release} (API ${facts.api}): ${limits.reasons.join('; ')}`,
        },
  );
  if (entry?.android?.route === 'vpn') checks.push(await pcapdroidCheck(adb, 'vpn'));
  if (entry?.android?.route === 'iptables' && entry.android.packetDump !== 'never') {
    // Beside the redirect PCAPdroid is optional: it adds DNS and UDP.
    const check = await pcapdroidCheck(adb, 'iptables');
    checks.push(
      check.status === 'fail'
        ? {
            name: 'PCAPdroid',
            status: 'warn',
            detail: `${PCAPDROID} is not installed: the iptables route redirects TCP only, so DNS lookups and UDP are not seen`,
            fix: 'install PCAPdroid (F-Droid or Google Play) to record them in its root mode, or set "packetDump": "never" to silence this',
          }
        : check,
    );
  }
  const root = await detectRoot(adb);
  const ca = await loadOrCreateCa(readEnvironment().caDir);
  const fileName = androidCaFileName(ca.certPem);
  if (root.method !== 'none') {
    checks.push({ name: 'root', status: 'ok', detail: `yes (${root.method})` });
    checks.push({
      name: 'CA trust',
      status: 'ok',
      detail: `each run puts ${fileName} into the system store${facts.api >= 34 ? ' and the APEX Conscrypt store' : ''}, and removes it at the end`,
    });
  } else {
    checks.push({
      name: 'root',
      status: facts.debuggable ? 'ok' : 'warn',
      detail: facts.debuggable
        ? 'no su, but `adb root` works on this build (used during runs, undone after)'
        : 'no',
      ...(facts.debuggable
        ? {}
        : {
            fix: 'HTTPS of most apps stays unreadable; use a rooted phone or an emulator image without Google Play for full visibility',
          }),
    });
    if (!facts.debuggable) {
      checks.push({
        name: 'CA trust',
        status: 'warn',
        detail: 'only apps that trust user CAs will be readable',
        fix: `install the CA as a user CA: \`adb push ${ca.certPath} /sdcard/Download/phonehome-ca.crt\`, then Settings › Security › Encryption & credentials › Install a certificate › CA certificate`,
      });
    }
  }
  checks.push(await proxyReachable(adb));
  return checks;
}

/** A request from the phone through `adb reverse` to a server on this host's loopback. */
async function proxyReachable(adb: Adb): Promise<Check> {
  const token = `phonehome-doctor-${process.pid}`;
  const server = createServer((_request, response) => response.end(token));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const cleanup = async () => {
    await removeReverse(adb, port);
    server.close();
  };
  const done = onShutdown('doctor: remove the test tunnel', cleanup);
  try {
    await addReverse(adb, port);
    const answer = await shell(
      adb,
      `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 127.0.0.1 ${port}`,
    );
    if (answer.includes(token))
      return {
        name: 'proxy reachable from the phone',
        status: 'ok',
        detail: `a request from the phone reached this host through adb reverse tcp:${port}`,
      };
    if (/not found/.test(answer))
      return {
        name: 'proxy reachable from the phone',
        status: 'warn',
        detail: 'cannot test: the phone has no `nc`',
        fix: 'nothing to do unless runs capture nothing; then check `adb reverse --list` during a run',
      };
    return {
      name: 'proxy reachable from the phone',
      status: 'fail',
      detail: `the phone could not reach this host through adb reverse (${answer.trim().split('\n')[0] || 'no answer'})`,
      fix: 'replug the phone; update platform-tools (adb reverse needs adb 1.0.32+ and Android 5+)',
    };
  } catch (error) {
    return { name: 'proxy reachable from the phone', status: 'fail', detail: describeError(error) };
  } finally {
    done();
    await cleanup().catch(() => {}); // best effort: the tunnel points at a closed port anyway
  }
}

/** PCAPdroid for a route that uses it: installed, and new enough to write a packet dump phonehome reads. */
async function pcapdroidCheck(adb: Adb, route: 'vpn' | 'iptables'): Promise<Check> {
  if (!(await pcapdroidInstalled(adb))) {
    return {
      name: 'PCAPdroid',
      status: 'fail',
      detail: `${PCAPDROID} is not installed, and this device's route is vpn`,
      fix: 'install PCAPdroid from F-Droid or Google Play and open it once, or set "route": "proxy"',
    };
  }
  const version = await pcapdroidVersion(adb);
  const allow =
    'allow its capture request on the phone, or grant it for good in PCAPdroid › Settings › Control permissions';
  if (version === undefined || version < DUMP_MIN_VERSION) {
    return {
      name: 'PCAPdroid',
      status: 'warn',
      detail: `${PCAPDROID} ${version === undefined ? 'did not say its versionCode' : `versionCode ${version}`} installed: it captures TCP, but cannot name a packet dump file (versionCode ${DUMP_MIN_VERSION}+), so DNS lookups and UDP are not seen (${allow})`,
      fix: 'update PCAPdroid from F-Droid or Google Play',
    };
  }
  return {
    name: 'PCAPdroid',
    status: 'ok',
    detail: `${PCAPDROID} versionCode ${version} installed: the ${route} route starts it over adb${route === 'iptables' ? ' in root mode' : ''} with a packet dump for DNS and UDP (${allow})`,
  };
}
