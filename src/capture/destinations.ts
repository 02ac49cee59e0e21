import { lookup } from 'node:dns/promises';
import { BlockList, isIP, isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { PhonehomeError, describeError } from '../errors.ts';

/** Who may be reached online besides the internet (see `DestinationPolicy`). */
export interface DestinationOptions {
  /**
   * Addresses and networks the tester allows although they would be refused
   * (`capture --allow-destination`): "192.168.1.40", "10.0.0.0/8", "127.0.0.1".
   */
  allow?: string[];
  /** The phone's own addresses: the network each is on (an interface of this host) is allowed. */
  phoneAddresses?: string[];
}

/** The host's loopback, "this host" and link-local ranges (the cloud metadata address is in 169.254/16). */
const HOST_RANGES: [string, number, 'ipv4' | 'ipv6'][] = [
  ['127.0.0.0', 8, 'ipv4'],
  ['0.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['::1', 128, 'ipv6'],
  ['::', 128, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
];

/** Networks not on the internet: someone's LAN, a carrier's NAT, a unique-local IPv6 network. */
const PRIVATE_RANGES: [string, number, 'ipv4' | 'ipv6'][] = [
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
];

/**
 * Which destinations the phone may reach through the capture online. The capture records a
 * phone; it must not be the phone's way into the tester's machine or network: the host's own
 * addresses (loopback, every interface's address, link-local and so the metadata address
 * 169.254.169.254) are always refused, and private networks other than the phone's own are
 * refused too, unless the tester allowed them (`allow`). A name is resolved and refused when any
 * of its addresses is.
 *
 * @example
 *   const policy = new DestinationPolicy({ phoneAddresses: ['192.168.1.57'] });
 *   await policy.refusal('127.0.0.1'); // "127.0.0.1 is this host's loopback or link-local…"
 *   await policy.refusal('example.com'); // undefined: it may be reached
 */
export class DestinationPolicy {
  private readonly allowed = new BlockList();
  private readonly host = new BlockList();
  private readonly hostAddresses = new BlockList();
  private readonly private = new BlockList();
  private readonly phone = new BlockList();

  constructor(options: DestinationOptions = {}) {
    for (const entry of options.allow ?? []) addEntry(this.allowed, entry);
    for (const [address, prefix, family] of HOST_RANGES)
      this.host.addSubnet(address, prefix, family);
    for (const [address, prefix, family] of PRIVATE_RANGES)
      this.private.addSubnet(address, prefix, family);
    for (const address of ownAddresses())
      this.hostAddresses.addAddress(address.address, address.family);
    for (const phone of options.phoneAddresses ?? []) {
      const network = networkOf(phone);
      if (network) this.phone.addSubnet(network.address, network.prefix, network.family);
      else if (isIP(phone)) this.phone.addAddress(phone, isIPv4(phone) ? 'ipv4' : 'ipv6');
    }
  }

  /**
   * Why the phone may not reach `host` (a name or an address), or undefined when it may. A name
   * that does not resolve is left to the upstream connection, which fails on its own.
   */
  async refusal(host: string): Promise<string | undefined> {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    let addresses: string[];
    if (isIP(bare)) addresses = [bare];
    else {
      try {
        addresses = (await lookup(bare, { all: true, verbatim: true })).map((a) => a.address);
      } catch {
        return undefined;
      }
    }
    for (const address of addresses) {
      const why = this.refusalOf(address);
      if (why) return bare === address ? why : `${bare} resolves to ${why}`;
    }
    return undefined;
  }

  private refusalOf(address: string): string | undefined {
    const family = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (this.allowed.check(address, family)) return undefined;
    if (this.host.check(address, family))
      return `${address}, this host's loopback, unspecified or link-local address`;
    if (this.hostAddresses.check(address, family)) return `${address}, an address of this host`;
    if (this.private.check(address, family) && !this.phone.check(address, family))
      return `${address}, a private network other than the phone's`;
    return undefined;
  }
}

/** How a refused destination is explained to the tester: what was refused and how to allow it. */
export function blockedDestination(target: string, why: string): string {
  return `blocked destination ${target}: ${why} (the phone may not reach it through the capture; allow it with phonehome capture --allow-destination <address or cidr>)`;
}

function addEntry(list: BlockList, entry: string): void {
  const [address = '', prefixText] = entry.split('/', 2);
  const family = isIP(address);
  const prefix = prefixText === undefined ? undefined : Number(prefixText);
  const max = family === 4 ? 32 : 128;
  if (
    family === 0 ||
    (prefix !== undefined && (!Number.isInteger(prefix) || prefix < 0 || prefix > max))
  ) {
    throw new PhonehomeError(
      'USAGE',
      `--allow-destination ${entry} is not an IP address or network; give e.g. 192.168.1.40 or 10.0.0.0/8`,
    );
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  try {
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, prefix, type);
  } catch (error) {
    throw new PhonehomeError('USAGE', `--allow-destination ${entry}: ${describeError(error)}`, {
      cause: error,
    });
  }
}

function ownAddresses(): { address: string; family: 'ipv4' | 'ipv6' }[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((info) => ({
      address: info.address.replace(/%.*$/, ''),
      family: info.family === 'IPv4' ? ('ipv4' as const) : ('ipv6' as const),
    }));
}

/** The network of this host's interface that `address` is on, if any. */
function networkOf(
  address: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  if (!isIP(address)) return undefined;
  const family = isIPv4(address) ? 'ipv4' : 'ipv6';
  for (const info of Object.values(networkInterfaces()).flatMap((list) => list ?? [])) {
    if (!info.cidr || (info.family === 'IPv4') !== (family === 'ipv4')) continue;
    const [base = '', prefixText = ''] = info.cidr.split('/');
    const prefix = Number(prefixText);
    const subnet = new BlockList();
    subnet.addSubnet(base.replace(/%.*$/, ''), prefix, family);
    if (subnet.check(address, family)) return { address: base.replace(/%.*$/, ''), prefix, family };
  }
  return undefined;
}
