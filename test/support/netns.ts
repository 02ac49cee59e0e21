import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.ts';
import type { CliResult } from './cli.ts';
import { command, missingNeed, ROOT } from './system-tools.ts';

/**
 * A small network of the test's own, in Linux network namespaces (iproute2, veth pairs):
 * - `gateway`, where phonehome runs: the phone's access point, with the address pool routed to
 *   itself, so every address the phone is handed exists only here;
 * - `phone`, where the virtual phone's network is: its only route out is the gateway;
 * - `intruder`, another host on another interface of the gateway, which must be refused.
 * No address used here leaves these namespaces: they have no link to the host's own network.
 */
export interface TestNetwork {
  gateway: string;
  phone: string;
  intruder: string;
  /** The gateway's interface towards the phone, and the addresses on it. */
  phoneInterface: string;
  gatewayAddress: string;
  phoneAddress: string;
  intruderGatewayAddress: string;
  addressPool: string;
  remove(): void;
}

/**
 * Why the namespace tests cannot run here, or undefined when they can: they make network
 * namespaces and nftables rules, which needs root, iproute2 and nftables.
 */
export function namespaceTestsBlocked(): string | undefined {
  return missingNeed('the gateway tests (network namespaces, nftables)', [
    ROOT,
    command('ip', ['-V'], 'apt-get install iproute2', 'ip (iproute2)'),
    command('nft', ['--version'], 'apt-get install nftables', 'nft (nftables)'),
  ]);
}

export function createTestNetwork(): TestNetwork {
  const tag = `ph${process.pid % 100000}`;
  const network: TestNetwork = {
    gateway: `${tag}-gw`,
    phone: `${tag}-phone`,
    intruder: `${tag}-other`,
    phoneInterface: `${tag}g0`,
    gatewayAddress: '10.77.0.1',
    phoneAddress: '10.77.0.2',
    intruderGatewayAddress: '10.79.0.1',
    addressPool: '10.78.0.0/16',
    remove: () => {
      for (const name of [network.gateway, network.phone, network.intruder]) {
        try {
          ip('netns', 'del', name);
        } catch {
          // Not made (a failed setup): nothing to remove.
        }
      }
    },
  };
  network.remove();
  try {
    ip('netns', 'add', network.gateway);
    ip('netns', 'add', network.phone);
    ip('netns', 'add', network.intruder);
    const veth = (a: string, nsA: string, b: string, nsB: string) =>
      ip('link', 'add', a, 'netns', nsA, 'type', 'veth', 'peer', 'name', b, 'netns', nsB);
    veth(network.phoneInterface, network.gateway, 'eth0', network.phone);
    veth(`${tag}g1`, network.gateway, 'eth0', network.intruder);
    const inside = (ns: string, ...args: string[]) => ip('-n', ns, ...args);
    inside(
      network.gateway,
      'addr',
      'add',
      `${network.gatewayAddress}/24`,
      'dev',
      network.phoneInterface,
    );
    inside(
      network.gateway,
      'addr',
      'add',
      `${network.intruderGatewayAddress}/24`,
      'dev',
      `${tag}g1`,
    );
    inside(network.phone, 'addr', 'add', `${network.phoneAddress}/24`, 'dev', 'eth0');
    inside(network.intruder, 'addr', 'add', '10.79.0.2/24', 'dev', 'eth0');
    for (const [ns, links] of [
      [network.gateway, ['lo', network.phoneInterface, `${tag}g1`]],
      [network.phone, ['lo', 'eth0']],
      [network.intruder, ['lo', 'eth0']],
    ] as const) {
      for (const link of links) inside(ns, 'link', 'set', link, 'up');
    }
    inside(network.phone, 'route', 'add', 'default', 'via', network.gatewayAddress);
    inside(network.intruder, 'route', 'add', 'default', 'via', network.intruderGatewayAddress);
    // The pool's addresses are the gateway's own: a connection a rule failed to redirect still
    // ends here, never anywhere else.
    inside(network.gateway, 'route', 'add', 'local', network.addressPool, 'dev', 'lo');
  } catch (error) {
    network.remove();
    throw error;
  }
  return network;
}

/** Runs the real `phonehome` command inside a namespace. */
export function runCliIn(
  namespace: string,
  args: string[],
  env: Record<string, string>,
): Promise<CliResult> {
  const child = spawnCliIn(namespace, args, env);
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function spawnCliIn(
  namespace: string,
  args: string[],
  env: Record<string, string>,
): ChildProcessWithoutNullStreams {
  return spawn(
    'ip',
    [
      'netns',
      'exec',
      namespace,
      process.execPath,
      join(PROJECT_ROOT, 'bin', 'phonehome.js'),
      ...args,
    ],
    { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
}

/** Runs a short Node script inside a namespace and returns what it printed. */
export function nodeIn(namespace: string, script: string): string {
  return execFileSync('ip', ['netns', 'exec', namespace, process.execPath, '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
}

/** The nftables tables in a namespace. */
export function tablesIn(namespace: string): string[] {
  const out = execFileSync('ip', ['netns', 'exec', namespace, 'nft', '-j', 'list', 'tables'], {
    encoding: 'utf8',
  });
  const parsed = JSON.parse(out) as { nftables: { table?: { name: string } }[] };
  return parsed.nftables.flatMap((item) => (item.table ? [item.table.name] : []));
}

export function rulesetIn(namespace: string): string {
  return execFileSync('ip', ['netns', 'exec', namespace, 'nft', 'list', 'ruleset'], {
    encoding: 'utf8',
  });
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
