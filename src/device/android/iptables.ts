import type { Coverage } from '../../coverage.ts';
import { PhonehomeError } from '../../errors.ts';
import { shellResult, type Adb } from './adb-client.ts';
import { asRoot, type RootMethod } from './root.ts';

/** What the iptables route lets the capture see. */
export const IPTABLES_COVERAGE: Coverage = {
  route: 'iptables',
  sees: 'every TCP connection of every app and service, redirected on the phone into the capture; HTTP and TLS named by their Host header and SNI',
  blind: [
    'DNS lookups and UDP (`adb reverse` carries TCP only; QUIC is rejected, so apps fall back to TCP)',
    'the destination of TCP that is neither HTTP nor TLS (recorded unreadable, without it)',
    'traffic before the rules were installed (the first boot, the setup wizard)',
  ],
  qualifier: 'TCP traffic only',
};

/**
 * The iptables route with PCAPdroid's root-mode packet dump beside it: DNS queries and UDP flows
 * are recorded too, read off the phone's internet interfaces.
 */
export const IPTABLES_DUMP_COVERAGE: Coverage = {
  route: 'iptables',
  sees: `${IPTABLES_COVERAGE.sees}; every DNS query and UDP flow on the phone's internet interfaces, from PCAPdroid's packet dump (root mode)`,
  blind: [
    'the destination of TCP that is neither HTTP nor TLS (recorded unreadable, without it)',
    'traffic before the rules were installed (the first boot, the setup wizard)',
  ],
  limits: [
    'UDP recorded by destination and size, unreadable; QUIC rejected so apps fall back to TCP',
    'packets PCAPdroid had not yet written to its dump in the second before the capture stopped are not in it',
  ],
  qualifier: 'after the capture started',
};

/** The chain phonehome adds to each table it changes, and jumps to first from OUTPUT. */
export const IPTABLES_CHAIN = 'PHONEHOME';

interface ChainPlan {
  binary: 'iptables' | 'ip6tables';
  table: 'nat' | 'filter';
  rules: string[][];
}

/**
 * The iptables route's chains (a rooted phone or emulator): every TCP connection an app opens,
 * other than to loopback, is redirected to 127.0.0.1:`port` — the `adb reverse` tunnel into the
 * capture, which names it from its Host header or SNI; UDP/443 is rejected so QUIC falls back to
 * TCP; over IPv6, TCP is reset and UDP/443 rejected, so apps use IPv4. Loopback is never touched,
 * so the tunnel itself and Appium's UiAutomator2 server keep working.
 */
export function iptablesPlan(port: number): ChainPlan[] {
  return [
    {
      binary: 'iptables',
      table: 'nat',
      rules: [
        ['-o', 'lo', '-j', 'RETURN'],
        ['-d', '127.0.0.0/8', '-j', 'RETURN'],
        ['-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(port)],
      ],
    },
    {
      binary: 'iptables',
      table: 'filter',
      rules: [
        ['-o', 'lo', '-j', 'RETURN'],
        ['-p', 'udp', '--dport', '443', '-j', 'REJECT'],
      ],
    },
    {
      binary: 'ip6tables',
      table: 'filter',
      rules: [
        ['-o', 'lo', '-j', 'RETURN'],
        ['-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset'],
        ['-p', 'udp', '--dport', '443', '-j', 'REJECT'],
      ],
    },
  ];
}

/**
 * Installs the chains, each checked: a command that fails (exit code, or iptables' message on
 * phones whose adb gives no exit code) stops the install with its message. The caller records
 * the change first, so a half-made install is undone like a whole one.
 */
export async function installIptables(
  adb: Adb,
  root: RootMethod,
  port: number,
  api: number,
): Promise<void> {
  for (const plan of iptablesPlan(port)) {
    const base = command(plan, api);
    await run(adb, root, [...base, '-N', IPTABLES_CHAIN]);
    for (const rule of plan.rules) await run(adb, root, [...base, '-A', IPTABLES_CHAIN, ...rule]);
    await run(adb, root, [...base, '-I', 'OUTPUT', '1', '-j', IPTABLES_CHAIN]);
  }
}

/**
 * Removes every jump to phonehome's chain and the chain itself, in every table, then checks that
 * no chain is left. Safe to run when nothing (or half) was installed.
 */
export async function removeIptables(adb: Adb, root: RootMethod, api: number): Promise<void> {
  const left: string[] = [];
  for (const plan of iptablesPlan(0)) {
    const base = command(plan, api);
    // A jump added twice (a run killed between two installs) is removed as often as it is there.
    for (let i = 0; i < 8; i++) {
      const result = await shellResult(
        adb,
        asRoot(root, [...base, '-D', 'OUTPUT', '-j', IPTABLES_CHAIN].join(' ')),
      );
      if (result.code !== 0 || failed(result.stdout + result.stderr)) break;
    }
    await shellResult(adb, asRoot(root, [...base, '-F', IPTABLES_CHAIN].join(' ')));
    await shellResult(adb, asRoot(root, [...base, '-X', IPTABLES_CHAIN].join(' ')));
    const check = await shellResult(adb, asRoot(root, [...base, '-S', IPTABLES_CHAIN].join(' ')));
    if (check.code === 0 && !failed(check.stdout + check.stderr)) {
      left.push(`${plan.binary} -t ${plan.table}`);
    }
  }
  if (left.length > 0) {
    throw new PhonehomeError(
      'IPTABLES_NOT_RESTORED',
      `phonehome's ${IPTABLES_CHAIN} chain is still in ${left.join(' and ')} on ${adb.serial}; remove it as root: ${left.map((where) => `${where} -D OUTPUT -j ${IPTABLES_CHAIN}; ${where} -F ${IPTABLES_CHAIN}; ${where} -X ${IPTABLES_CHAIN}`).join('; ')}`,
    );
  }
}

/** `iptables -w -t nat`: `-w` waits for netd's xtables lock (iptables on Android 7 and later). */
function command(plan: ChainPlan, api: number): string[] {
  return [plan.binary, ...(api >= 24 ? ['-w'] : []), '-t', plan.table];
}

async function run(adb: Adb, root: RootMethod, words: string[]): Promise<void> {
  const line = words.join(' ');
  const result = await shellResult(adb, asRoot(root, line));
  const output = (result.stdout + result.stderr).trim();
  if (result.code !== 0 || failed(output)) {
    throw new PhonehomeError(
      'IPTABLES_FAILED',
      `\`${line}\` failed on ${adb.serial}: ${output || `exit code ${result.code}`}`,
    );
  }
}

/** iptables' own words for failure, for phones whose adb shell returns no exit code. */
function failed(output: string): boolean {
  return /(?:^|\n)(?:ip6?tables|iptables-restore)(?: v[\d.]+[^:]*)?: |Permission denied|not found|No chain/i.test(
    output,
  );
}
