import type { Socket } from 'node:net';
import { PhonehomeError } from '../../errors.ts';

/** Where a redirected connection was going before nftables' `redirect` sent it to us. */
export interface Destination {
  address: string;
  port: number;
}

type GetSockOpt = (
  fd: number,
  level: number,
  name: number,
  value: Buffer,
  length: number[],
) => number;

// linux/netfilter_ipv4.h: SO_ORIGINAL_DST on SOL_IP answers a struct sockaddr_in.
const SOL_IP = 0;
const SO_ORIGINAL_DST = 80;
const SOCKADDR_IN = 16;

let getsockopt: GetSockOpt | undefined;

/**
 * Loads libc's getsockopt through koffi (an FFI with prebuilt binaries). Node has no API for
 * SO_ORIGINAL_DST, and TPROXY would need IP_TRANSPARENT on the listener, which Node cannot set
 * either; both were tried on this kind of machine, and this one works (docs/gateway.md).
 */
export async function loadOriginalDestination(): Promise<void> {
  if (getsockopt) return;
  if (process.platform !== 'linux') {
    throw new PhonehomeError(
      'GATEWAY_UNSUPPORTED',
      `the gateway route needs Linux (nftables and SO_ORIGINAL_DST); this is ${process.platform}`,
    );
  }
  const { default: koffi } = await import('koffi');
  const libc = koffi.load('libc.so.6');
  getsockopt = libc.func(
    'int getsockopt(int fd, int level, int name, _Out_ uint8_t *value, _Inout_ uint32_t *length)',
  ) as GetSockOpt;
}

/**
 * The original IPv4 destination of a connection that nftables redirected to our listener, or
 * undefined for one that came to the listener itself (no NAT entry).
 *
 * @example
 *   server.on('connection', (socket) => originalDestination(socket)) // → { address: '10.78.0.3', port: 443 }
 */
export function originalDestination(socket: Socket): Destination | undefined {
  if (!getsockopt) throw new Error('call loadOriginalDestination() first');
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  const value = Buffer.alloc(SOCKADDR_IN);
  const length = [SOCKADDR_IN];
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, value, length) !== 0) return undefined;
  return { address: [...value.subarray(4, 8)].join('.'), port: value.readUInt16BE(2) };
}
