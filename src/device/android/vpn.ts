import { spawn, type ChildProcess } from 'node:child_process';
import type { Coverage } from '../../coverage.ts';
import { PhonehomeError } from '../../errors.ts';
import type { PacketDumpSink } from '../device.ts';
import { shell, shellResult, type Adb } from './adb-client.ts';
import { locateAdb } from './adb-locate.ts';

/** PCAPdroid's package, and the activity its documented control API is (docs/app_api.md). */
export const PCAPDROID = 'com.emanuelef.remote_capture';
const CONTROL = `${PCAPDROID}/.activities.CaptureCtrl`;
const SERVICE = `${PCAPDROID}/.CaptureService`;

/** Where PCAPdroid writes a dump named with `pcap_name` (its Download folder, since 1.6.0). */
export const DUMP_DIR = '/sdcard/Download/PCAPdroid';
/** The first PCAPdroid (versionCode) that takes `pcap_name`: a dump without a file dialog. */
export const DUMP_MIN_VERSION = 62;
/** From this versionCode `block_quic` is a mode (`always`); before, a boolean (`true`). */
const BLOCK_QUIC_MODE_VERSION = 73;

/**
 * What the vpn route sees: every TCP connection, by SOCKS5, with its destination; with
 * PCAPdroid's packet dump (`dumping`) also every DNS query and UDP flow, with the sending app.
 */
export function vpnCoverage(appFilter: string | undefined, dumping = false): Coverage {
  const whose = appFilter ? `of ${appFilter}` : 'of every app and service';
  const after = 'traffic before the capture started (the first boot, the setup wizard)';
  const others = appFilter ? [`apps other than ${appFilter}`] : [];
  if (dumping) {
    return {
      route: 'vpn',
      sees: `every TCP connection ${whose} after the capture started, handed over by PCAPdroid's VPN over SOCKS5 with its destination; every DNS query, UDP flow and TCP connection in PCAPdroid's packet dump, with the app that sent it`,
      blind: [...others, after],
      limits: [
        'UDP recorded by destination and size, unreadable; QUIC blocked so apps fall back to TCP; DNS over TLS blocked so Android falls back to plain DNS where its Private DNS setting allows',
        'packets PCAPdroid had not yet written to its dump in the second before the capture stopped are not in it',
      ],
      qualifier: appFilter ? `${appFilter} only` : 'after the capture started',
    };
  }
  return {
    route: 'vpn',
    sees: `every TCP connection ${whose} after the capture started, handed over by PCAPdroid's VPN over SOCKS5 with its destination`,
    blind: [
      `UDP, and DNS lookups (PCAPdroid forwards TCP only, and this PCAPdroid is older than versionCode ${DUMP_MIN_VERSION}, so it writes no packet dump phonehome can read; QUIC is blocked, so apps fall back to TCP)`,
      ...others,
      after,
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
  /**
   * The phone port that `adb reverse` takes to the capture (its SOCKS5 listener): PCAPdroid's
   * VPN hands every TCP connection over there. Absent with `root`.
   */
  port?: number;
  /**
   * PCAPdroid's root mode instead of its VPN (the iptables route: TCP is redirected by iptables):
   * packets read off the phone's internet interfaces for the dump only, nothing handed over.
   */
  root?: boolean;
  /** Only this app's traffic (PCAPdroid's `app_filter`), or every app's. */
  appFilter?: string;
  /** PCAPdroid's versionCode, which decides how some extras are spelt (unknown: the newest). */
  version?: number;
  /**
   * Also write a packet dump with PCAPdroid's trailer (the app of each packet) to
   * `DUMP_DIR/<dumpName>`; in the VPN, DNS over TLS is blocked so queries show in it.
   */
  dumpName?: string;
  /** How long to wait for the user to allow the capture on the phone. */
  consentTimeoutMs?: number;
  pollMs?: number;
  log: (line: string) => void;
}

/** The control intent's extras (`-e name value`) for a start with these options. */
function startExtras(options: VpnStart): string[][] {
  const extras: string[][] = [['action', 'start']];
  if (options.dumpName) {
    extras.push(['pcap_dump_mode', 'pcap_file'], ['pcap_name', options.dumpName]);
    extras.push(['pcapdroid_trailer', 'true']);
    if (!options.root) extras.push(['auto_block_private_dns', 'true']);
  } else extras.push(['pcap_dump_mode', 'none']);
  if (options.root) {
    extras.push(['root_capture', 'true'], ['capture_interface', '@inet']);
  } else {
    extras.push(['socks5_enabled', 'true'], ['socks5_proxy_ip_address', '127.0.0.1']);
    // A version that reads `block_quic` as a mode takes anything but `always` for "never".
    const quic =
      options.version !== undefined && options.version < BLOCK_QUIC_MODE_VERSION
        ? 'true'
        : 'always';
    extras.push(['socks5_proxy_port', String(options.port)], ['block_quic', quic]);
  }
  if (options.appFilter) extras.push(['app_filter', options.appFilter]);
  return extras;
}

/** PCAPdroid's versionCode (`dumpsys package`), or undefined when it does not say. */
export async function pcapdroidVersion(adb: Adb): Promise<number | undefined> {
  const match = /versionCode=(\d+)/.exec(await shell(adb, ['dumpsys', 'package', PCAPDROID]));
  return match ? Number(match[1]) : undefined;
}

/**
 * The phone's clock against the host's: `date +%s%N` between two host readings (toybox's date
 * prints nanoseconds; one that cannot gives whole seconds, and the uncertainty says so).
 */
export async function readPhoneClock(
  adb: Adb,
): Promise<{ clockOffsetMs: number; clockUncertaintyMs: number }> {
  const before = Date.now();
  const out = (await shell(adb, ['date', '+%s%N'])).trim();
  const after = Date.now();
  const middle = (before + after) / 2;
  const half = (after - before) / 2;
  if (/^\d{19}$/.test(out)) {
    return {
      clockOffsetMs: Math.round(Number(BigInt(out) / 1000n) / 1000 - middle),
      clockUncertaintyMs: Math.ceil(half) + 1,
    };
  }
  const seconds = /^(\d{10})/.exec(out);
  if (!seconds) {
    throw new PhonehomeError(
      'PHONE_CLOCK',
      `\`date +%s%N\` on ${adb.serial} printed '${out.slice(0, 40)}', not the time: phonehome cannot put PCAPdroid's packets on the run's clock`,
    );
  }
  // Whole seconds: the phone's time lies anywhere in the second it printed.
  return {
    clockOffsetMs: Math.round(Number(seconds[1]) * 1000 + 500 - middle),
    clockUncertaintyMs: Math.ceil(half) + 500,
  };
}

/** The installed packages by Linux uid (`pm list packages -U`), shared uids joined with ','. */
export async function readAppUids(adb: Adb): Promise<Record<number, string>> {
  const apps: Record<number, string[]> = {};
  for (const match of (await shell(adb, ['pm', 'list', 'packages', '-U'])).matchAll(
    /^package:(\S+) uid:(\d+)/gm,
  )) {
    (apps[Number(match[2])] ??= []).push(match[1]!);
  }
  return Object.fromEntries(
    Object.entries(apps).map(([uid, names]) => [uid, names.sort().join(',')]),
  );
}

/**
 * Starts PCAPdroid's VPN capture through its documented control intent: every TCP
 * connection to 127.0.0.1:`port` over SOCKS5 (`adb reverse` takes it to phonehome), QUIC
 * blocked so apps fall back to TCP, and a packet dump when asked (`dumpName`). PCAPdroid asks
 * the user to allow a capture it was not asked for by a known app (and Android asks once to allow its VPN): phonehome says so and waits, and
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
    ...startExtras(options).flatMap(([name, value]) => ['-e', name!, value!]),
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
 * Its packet dump (`dump`, a path on the phone) holds the phone's traffic: it is deleted, and
 * checked gone.
 */
export async function stopVpnCapture(adb: Adb, dump?: string): Promise<void> {
  try {
    await shell(adb, ['am', 'force-stop', PCAPDROID]);
    if (await vpnCaptureRunning(adb)) {
      throw new PhonehomeError(
        'VPN_NOT_STOPPED',
        `PCAPdroid's capture still runs on ${adb.serial} after \`am force-stop ${PCAPDROID}\`: stop it in PCAPdroid`,
      );
    }
  } finally {
    // The dump holds the phone's traffic: it goes even when PCAPdroid would not stop.
    if (dump) await removeDump(adb, dump);
  }
}

async function removeDump(adb: Adb, dump: string): Promise<void> {
  await shell(adb, ['rm', '-f', dump]);
  if ((await shellResult(adb, ['ls', dump])).code === 0) {
    throw new PhonehomeError(
      'VPN_DUMP_LEFT',
      `PCAPdroid's packet dump ${dump} is still on ${adb.serial} (it holds the phone's traffic): \`adb shell rm ${dump}\`, or delete it in Files › Download › PCAPdroid`,
    );
  }
}

/**
 * Streams PCAPdroid's dump off the phone as it is written (`adb exec-out tail -c +N -f`), into
 * a sink; a stream adb drops (a replugged cable) is picked up again where it stopped.
 *
 * @example
 *   const stream = DumpStream.start(adb, `${DUMP_DIR}/run.pcap`, sink, log);
 *   …
 *   await stream.finish();
 */
export class DumpStream {
  private child?: ChildProcess;
  /** Resolves when the current child has closed (its stdout fully read). */
  private closed: Promise<void> = Promise.resolve();
  private received = 0;
  private finishing = false;
  private restart?: NodeJS.Timeout;

  private constructor(
    private readonly adb: Adb,
    private readonly path: string,
    private readonly sink: PacketDumpSink,
    private readonly log: (line: string) => void,
    private readonly adbPath: string,
  ) {}

  static start(
    adb: Adb,
    path: string,
    sink: PacketDumpSink,
    log: (line: string) => void,
  ): DumpStream {
    const stream = new DumpStream(adb, path, sink, log, locateAdb().path);
    stream.follow();
    return stream;
  }

  private follow(): void {
    const child = spawn(
      this.adbPath,
      ['-s', this.adb.serial, 'exec-out', 'tail', '-c', `+${this.received + 1}`, '-f', this.path],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.sink.write(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => (stderr += error.message));
    child.on('close', (code) => {
      if (this.finishing || this.child !== child) return;
      this.log(
        `  android: the packet dump stream from ${this.adb.serial} stopped (${stderr.trim() || `exit ${code}`}); picking it up again at byte ${this.received}`,
      );
      this.restart = setTimeout(() => this.follow(), 1000);
    });
  }

  /**
   * Takes what PCAPdroid still writes (it writes its dump about once a second) until the stream
   * has the whole file, then stops streaming and ends the sink. Call before stopping PCAPdroid.
   */
  async finish(options: { flushMs?: number; timeoutMs?: number } = {}): Promise<void> {
    let size = 0;
    try {
      await delay(options.flushMs ?? 1500);
      const deadline = Date.now() + (options.timeoutMs ?? 5000);
      while (Date.now() < deadline) {
        const out = await shellResult(this.adb, ['stat', '-c', '%s', this.path]);
        // No file: PCAPdroid wrote nothing, so there is nothing to wait for.
        if (out.code !== 0) break;
        size = Number(out.stdout.trim());
        if (this.received >= size) break;
        await delay(100);
      }
    } finally {
      // Whatever happened on the phone, the stream stops and what arrived is recorded.
      this.finishing = true;
      clearTimeout(this.restart);
      // 'close' comes once stdout is read to its end: only then is every byte in the sink. An
      // adb that does not go on SIGTERM gets SIGKILL; restore never waits on it for long.
      this.child?.kill();
      const kill = setTimeout(() => this.child?.kill('SIGKILL'), 3000);
      await this.closed;
      clearTimeout(kill);
      this.sink.end();
    }
    const label = `PCAPdroid's packet dump on ${this.adb.serial}`;
    if (this.received < size) {
      this.sink.note(
        `${label}: only ${this.received} of its ${size} bytes arrived before the capture stopped; the packets in the rest (the last moments of the run) are not recorded`,
      );
    } else if (this.received === 0) {
      this.sink.note(
        `${label}: PCAPdroid wrote no packet, so no DNS query or UDP flow could be recorded; check that its capture ran (the notification) and that the dump mode is PCAP file`,
      );
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
