import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { processAlive } from '../../device/android/restore-state.ts';
import { PhonehomeError, describeError } from '../../errors.ts';

const run = promisify(execFile);

/** Every table phonehome makes is named so, followed by the owning process's pid. */
export const TABLE_PREFIX = 'phonehome_';

export interface GatewayRules {
  /** The interface the phone is on (the access point's, a USB or Ethernet gateway's). */
  interface: string;
  /** The phone's IPv4 address on it: the only one whose traffic is redirected or answered. */
  phoneAddress: string;
  /** The port the TCP front listens on. */
  frontPort: number;
  /** The port the DNS server listens on. */
  dnsPort: number;
}

/** One UDP destination the phone sent to, with nftables' counts (IP packets, so with headers). */
export interface UdpFlow {
  address: string;
  port: number;
  packets: number;
  bytes: number;
}

/**
 * The ruleset for one run, in nft's own syntax. Nothing is forwarded: every TCP connection from
 * the phone goes to the front (which hands it to the capture with its destination), its DNS to
 * the DNS server; UDP/443 is rejected so QUIC falls back to TCP; other UDP is counted by
 * destination and dropped; IPv6 on the phone's interface is dropped so the phone uses IPv4. Only
 * the phone's address may reach the front and the DNS server.
 */
export function gatewayRuleset(table: string, rules: GatewayRules): string {
  const phone = `iifname ${quote(rules.interface)} ip saddr ${rules.phoneAddress}`;
  return [
    `table inet ${table} {`,
    `  set udp_flows { type ipv4_addr . inet_service; flags dynamic; counter; }`,
    `  chain phone_nat { type nat hook prerouting priority dstnat; policy accept;`,
    `    ${phone} udp dport 53 redirect to :${rules.dnsPort}`,
    `    ${phone} meta l4proto tcp redirect to :${rules.frontPort}`,
    `  }`,
    `  chain phone_watch { type filter hook prerouting priority mangle; policy accept;`,
    `    iifname ${quote(rules.interface)} meta nfproto ipv6 drop`,
    `    ${phone} udp dport != 53 update @udp_flows { ip daddr . udp dport }`,
    `  }`,
    `  chain phone_input { type filter hook input priority filter; policy accept;`,
    `    ${phone} udp dport 443 reject`,
    `    tcp dport ${rules.frontPort} ip saddr != ${rules.phoneAddress} drop`,
    `    udp dport ${rules.dnsPort} ip saddr != ${rules.phoneAddress} drop`,
    `  }`,
    `  chain phone_forward { type filter hook forward priority filter; policy accept;`,
    `    ${phone} udp dport 443 reject`,
    `    ${phone} drop`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

/** This process's table name. */
export function tableName(pid = process.pid): string {
  return `${TABLE_PREFIX}${pid}`;
}

/**
 * Checks that nft can be run and can change the ruleset (root, or CAP_NET_ADMIN), so a run
 * refuses to start rather than install rules it could not remove.
 */
export async function checkNftables(): Promise<void> {
  try {
    await run('nft', ['list', 'tables']);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PhonehomeError(
      'GATEWAY_NFTABLES',
      code === 'ENOENT'
        ? 'the gateway route needs nftables: install it (Debian: apt-get install nftables)'
        : `the gateway route cannot use nftables (${firstLine(error)}): run phonehome as root, or give node CAP_NET_ADMIN`,
      { cause: error },
    );
  }
}

/** Installs the run's table (atomically: all rules or none). */
export async function installRules(table: string, rules: GatewayRules): Promise<void> {
  await nftWithInput(gatewayRuleset(table, rules));
}

/** Removes a table; true if it was there. */
export async function removeTable(table: string): Promise<boolean> {
  if (!(await listTables()).includes(table)) return false;
  await run('nft', ['delete', 'table', 'inet', table]);
  return true;
}

/** Names of phonehome's tables in this network namespace's ruleset. */
export async function listTables(): Promise<string[]> {
  const { stdout } = await run('nft', ['-j', 'list', 'tables']);
  const parsed = JSON.parse(stdout) as { nftables: { table?: { name: string; family: string } }[] };
  return parsed.nftables
    .flatMap((item) => (item.table && item.table.family === 'inet' ? [item.table.name] : []))
    .filter((name) => name.startsWith(TABLE_PREFIX));
}

/**
 * Removes the tables of runs that are gone (a SIGKILL, a crash, a power cut): what `phonehome
 * restore` and every new gateway run do first. A table of a run still going is left alone.
 */
export async function removeStaleTables(log: (line: string) => void): Promise<string[]> {
  const removed: string[] = [];
  for (const table of await listTables()) {
    const pid = Number(table.slice(TABLE_PREFIX.length));
    if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) continue;
    try {
      await run('nft', ['delete', 'table', 'inet', table]);
    } catch (error) {
      throw new PhonehomeError(
        'GATEWAY_NFTABLES',
        `cannot remove the gateway rules a stopped run left (nft table inet ${table}): ${firstLine(error)}; remove them with: nft delete table inet ${table}`,
        { cause: error },
      );
    }
    removed.push(table);
    log(`removed the gateway rules a stopped run left (nft table inet ${table})`);
  }
  return removed;
}

/** The UDP destinations counted so far. */
export async function readUdpFlows(table: string): Promise<UdpFlow[]> {
  const { stdout } = await run('nft', ['-j', 'list', 'set', 'inet', table, 'udp_flows']);
  const parsed = JSON.parse(stdout) as {
    nftables: {
      set?: {
        elem?: {
          elem: {
            val: { concat: [string, number] };
            counter?: { packets: number; bytes: number };
          };
        }[];
      };
    }[];
  };
  const set = parsed.nftables.find((item) => item.set)?.set;
  return (set?.elem ?? []).map(({ elem }) => ({
    address: elem.val.concat[0],
    port: elem.val.concat[1],
    packets: elem.counter?.packets ?? 0,
    bytes: elem.counter?.bytes ?? 0,
  }));
}

function nftWithInput(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('nft', ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => reject(error));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new PhonehomeError(
            'GATEWAY_NFTABLES',
            `nft refused the gateway rules: ${stderr.trim().split('\n').slice(0, 3).join(' ') || `exit ${code}`}`,
          ),
        );
    });
    child.stdin.end(text);
  });
}

/** An interface name as nft takes it: quoted, and only the characters Linux allows. */
function quote(name: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(name)) {
    throw new PhonehomeError(
      'GATEWAY_INTERFACE',
      `'${name}' is not a network interface name (1–15 letters, digits, '_', '.', ':', '-')`,
    );
  }
  return `"${name}"`;
}

function firstLine(error: unknown): string {
  const stderr = (error as { stderr?: string }).stderr;
  return (stderr?.trim() || describeError(error)).split('\n')[0]!;
}
