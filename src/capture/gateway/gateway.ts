import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { SocksClient } from 'socks';
import type { GatewaySettings } from '../../config/devices.ts';
import { PhonehomeError, describeError } from '../../errors.ts';
import type { TlsFailure } from '../../types.ts';
import { lookupExchange } from '../packet-dump.ts';
import { tcpChunkExchange, type CaptureRecorder } from '../session.ts';
import { AddressPool, DnsServer } from './dns-server.ts';
import {
  checkNftables,
  installRules,
  readUdpFlows,
  removeStaleTables,
  removeTable,
  tableName,
  type UdpFlow,
} from './nftables.ts';
import { loadOriginalDestination, originalDestination } from './original-destination.ts';

export type { GatewaySettings };

/** RFC 2544's benchmarking range: never routed on the internet, rarely on a LAN. */
export const DEFAULT_ADDRESS_POOL = '198.18.0.0/15';

/** How often nftables' UDP counts are read: a flow's time is known to within this. */
const UDP_POLL_MS = 1000;
/** How long a new connection may stay silent before it is taken for a server-speaks-first one. */
const SNIFF_MS = 1500;
/** Offline, a raw stream nobody answers is closed after this long without bytes. */
const RAW_IDLE_MS = 2000;

/**
 * The gateway route: the host is the phone's network. nftables sends every TCP connection from
 * the phone to a front that reads its original destination (SO_ORIGINAL_DST), names it from the
 * DNS server's answers, and hands it to the capture's SOCKS5 listener — so the capture sees it
 * exactly as a SOCKS or CONNECT tunnel: HTTP, TLS it can open, and what it cannot (recorded
 * unreadable). The DNS server records every lookup; UDP/443 is rejected so QUIC falls back to
 * TCP; other UDP is recorded by destination and size, unreadable, and dropped. Nothing is
 * forwarded, and nothing but the phone's address is redirected or answered.
 *
 * @example
 *   const gateway = await Gateway.start({ settings, proxyPort: capture.port, journal, log });
 *   …
 *   await gateway.stop(); // the rules are gone, or this throws saying how to remove them
 */
export class Gateway {
  readonly table: string;
  readonly listenAddress: string;
  private readonly front: net.Server;
  private readonly dns: DnsServer;
  private readonly pool: AddressPool;
  private readonly options: GatewayStartOptions;
  private readonly seenFlows = new Set<string>();
  private readonly sockets = new Set<net.Socket>();
  private poller?: NodeJS.Timeout;
  private lastPoll = Date.now();
  private polling: Promise<void> = Promise.resolve();
  private stopped = false;
  private streams = 0;

  private constructor(
    options: GatewayStartOptions,
    parts: { front: net.Server; dns: DnsServer; pool: AddressPool; listenAddress: string },
  ) {
    this.options = options;
    this.front = parts.front;
    this.dns = parts.dns;
    this.pool = parts.pool;
    this.listenAddress = parts.listenAddress;
    this.table = tableName();
  }

  static async start(options: GatewayStartOptions): Promise<Gateway> {
    const { settings, log } = options;
    if (net.isIPv4(settings.phoneAddress) === false) {
      throw new PhonehomeError(
        'GATEWAY_PHONE_ADDRESS',
        `gateway.phoneAddress '${settings.phoneAddress}' is not an IPv4 address; give the phone a fixed DHCP lease and put its address here`,
      );
    }
    const pool = new AddressPool(settings.addressPool ?? DEFAULT_ADDRESS_POOL);
    const listenAddress = interfaceAddress(settings.interface);
    await checkNftables();
    await loadOriginalDestination();
    await removeStaleTables(log);

    const front = net.createServer();
    await new Promise<void>((resolve, reject) => {
      front.once('error', (error) =>
        reject(
          new PhonehomeError(
            'GATEWAY_LISTEN',
            `the gateway cannot listen on ${listenAddress}: ${error.message}`,
            { cause: error },
          ),
        ),
      );
      front.listen(0, listenAddress, () => resolve());
    });
    let dns: DnsServer;
    let lookups = 0;
    try {
      dns = await DnsServer.start({
        host: listenAddress,
        pool,
        phoneAddress: settings.phoneAddress,
        onQuery: (lookup) =>
          options.journal.append({
            type: 'exchange',
            exchange: lookupExchange({
              id: `dns-${(lookups += 1)}`,
              at: lookup.at,
              name: lookup.name,
              type: lookup.type,
              ...(lookup.answer ? { answer: lookup.answer } : {}),
            }),
          }),
        log,
      });
    } catch (error) {
      front.close();
      throw error;
    }
    const gateway = new Gateway(options, { front, dns, pool, listenAddress });
    front.on('connection', (socket) => gateway.accept(socket));
    try {
      await installRules(gateway.table, {
        interface: settings.interface,
        phoneAddress: settings.phoneAddress,
        frontPort: (front.address() as net.AddressInfo).port,
        dnsPort: dns.port,
      });
    } catch (error) {
      await gateway.closeListeners();
      throw error;
    }
    gateway.poller = setInterval(() => gateway.pollSoon(), UDP_POLL_MS);
    gateway.poller.unref();
    log(
      `gateway: every TCP connection and DNS query from ${settings.phoneAddress} on ${settings.interface} is captured (nft table inet ${gateway.table}); UDP/443 rejected, other UDP recorded and dropped`,
    );
    return gateway;
  }

  /**
   * Reads the last UDP counts, removes the rules, and closes the listeners. Throws, saying how
   * to remove them by hand, if the rules could not be removed.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.poller);
    await this.polling;
    await this.poll().catch((error: unknown) =>
      this.options.log(`gateway: could not read the last UDP counts: ${describeError(error)}`),
    );
    let removeError: unknown;
    try {
      await removeTable(this.table);
    } catch (error) {
      removeError = error;
    }
    await this.closeListeners();
    if (removeError !== undefined) {
      throw new PhonehomeError(
        'GATEWAY_NFTABLES',
        `cannot remove the gateway rules (nft table inet ${this.table}): ${describeError(removeError)}; remove them with: nft delete table inet ${this.table} (or run phonehome restore)`,
        { cause: removeError },
      );
    }
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const from = socket.remoteAddress?.replace(/^::ffff:/, '');
    const destination = originalDestination(socket);
    const local = this.front.address() as net.AddressInfo;
    if (
      from !== this.options.settings.phoneAddress ||
      !destination ||
      (destination.address === this.listenAddress && destination.port === local.port)
    ) {
      // Not the phone, or not redirected: the front serves only the phone's redirected traffic.
      socket.destroy();
      return;
    }
    const host = this.pool.nameOf(destination.address) ?? destination.address;
    // Online, everything goes to the capture, which passes raw streams on and records them.
    if (this.options.passThrough) {
      socket.pause();
      this.handOver(socket, host, destination.port);
      return;
    }
    void firstBytes(socket, SNIFF_MS).then((first) => {
      if (socket.destroyed) return;
      // Offline, HTTP and TLS go to the capture, which answers them; nobody can answer another
      // protocol, so its bytes are recorded here, as the phone sends them.
      if (first && isHttpOrTls(first)) this.handOver(socket, host, destination.port, first);
      else this.recordRaw(socket, host, destination.port, first);
    });
  }

  private handOver(socket: net.Socket, host: string, port: number, first?: Buffer): void {
    SocksClient.createConnection({
      proxy: { host: this.options.proxyHost ?? '127.0.0.1', port: this.options.proxyPort, type: 5 },
      command: 'connect',
      destination: { host, port },
      timeout: 10_000,
    }).then(
      ({ socket: tunnel }) => {
        this.sockets.add(tunnel);
        tunnel.once('close', () => {
          this.sockets.delete(tunnel);
          socket.destroy();
        });
        tunnel.on('error', () => tunnel.destroy());
        socket.once('close', () => tunnel.destroy());
        if (first) tunnel.write(first);
        socket.pipe(tunnel).pipe(socket);
        socket.resume();
      },
      (error: unknown) => {
        this.options.log(`gateway: the capture refused ${host}:${port}: ${describeError(error)}`);
        socket.destroy();
      },
    );
  }

  /**
   * A connection in a protocol that is neither HTTP nor TLS, offline: each chunk the phone sends
   * is journaled as it arrives, and scanned like any body. One that sends nothing (a protocol
   * where the server speaks first) is recorded as unreadable: nobody here can speak first.
   */
  private recordRaw(socket: net.Socket, host: string, port: number, first?: Buffer): void {
    this.streams += 1;
    const stream = `gw-tcp-${this.streams}`;
    if (!first) {
      this.options.journal.append({
        type: 'tls-failure',
        failure: {
          at: Date.now() - SNIFF_MS,
          host,
          port,
          cause: 'not-http',
          remoteAddress: this.options.settings.phoneAddress,
        },
      });
      socket.destroy();
      return;
    }
    let index = 0;
    const record = (bytes: Buffer) => {
      index += 1;
      this.options.journal.append({
        type: 'exchange',
        exchange: tcpChunkExchange({
          stream,
          index,
          host,
          port,
          direction: 'sent',
          at: Date.now(),
          bytes,
        }),
      });
    };
    record(first);
    socket.setTimeout(RAW_IDLE_MS, () => socket.destroy());
    socket.on('data', record);
    socket.on('end', () => socket.destroy());
    socket.resume();
  }

  private pollSoon(): void {
    this.polling = this.polling.then(() =>
      this.poll().catch((error: unknown) =>
        this.options.log(`gateway: could not read the UDP counts: ${describeError(error)}`),
      ),
    );
  }

  /**
   * Records each UDP destination the first time nftables has counted it. Its time is the poll
   * before: the earliest it can have been sent, so a flow is never judged later than it was.
   */
  private async poll(): Promise<void> {
    const since = this.lastPoll;
    const now = Date.now();
    const flows = await readUdpFlows(this.table);
    this.lastPoll = now;
    for (const flow of flows) {
      const key = `${flow.address}:${flow.port}`;
      if (this.seenFlows.has(key)) continue;
      this.seenFlows.add(key);
      this.options.journal.append({ type: 'tls-failure', failure: this.udpFailure(flow, since) });
    }
  }

  private udpFailure(flow: UdpFlow, at: number): TlsFailure {
    return {
      at,
      host: this.pool.nameOf(flow.address) ?? flow.address,
      port: flow.port,
      cause: flow.port === 443 ? 'udp-quic' : 'udp',
      remoteAddress: this.options.settings.phoneAddress,
      packets: flow.packets,
      bytes: flow.bytes,
    };
  }

  private async closeListeners(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.front.close(() => resolve())),
      this.dns.stop(),
    ]);
  }
}

export interface GatewayStartOptions {
  settings: GatewaySettings;
  /** The capture passes traffic on to the real servers (else it answers itself). */
  passThrough: boolean;
  /** The capture's port: the front hands every connection to its SOCKS5 listener there. */
  proxyPort: number;
  /** The capture's address (default loopback, where a run's capture listens). */
  proxyHost?: string;
  /** Where it journals what it sees, as the capture does (lookups, raw chunks, UDP flows). */
  journal: CaptureRecorder;
  log: (line: string) => void;
}

/** The first bytes the phone sends on a connection, or undefined if it sends none in time. */
function firstBytes(socket: net.Socket, waitMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const done = (bytes?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      resolve(bytes);
    };
    const onData = (bytes: Buffer) => done(bytes);
    const onClose = () => done();
    const timer = setTimeout(() => done(), waitMs);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** TLS (a handshake record) or HTTP/1 and HTTP/2 (a request line, the preface): the capture's. */
function isHttpOrTls(first: Buffer): boolean {
  if (first[0] === 0x16) return true;
  return /^(?:[A-Z]{3,12} \S|PRI \* HTTP\/2)/.test(first.subarray(0, 24).toString('latin1'));
}

/** The interface's IPv4 address: where nftables' redirect delivers, so where the front listens. */
export function interfaceAddress(name: string): string {
  const addresses = networkInterfaces()[name];
  if (!addresses) {
    const known = Object.keys(networkInterfaces()).join(', ');
    throw new PhonehomeError(
      'GATEWAY_INTERFACE',
      `gateway.interface '${name}' is not a network interface here (known: ${known}); start the access point first, or name the interface the phone is on`,
    );
  }
  const v4 = addresses.find((address) => address.family === 'IPv4');
  if (!v4) {
    throw new PhonehomeError(
      'GATEWAY_INTERFACE',
      `gateway.interface '${name}' has no IPv4 address; give it one (the access point's address, e.g. 192.168.12.1/24)`,
    );
  }
  return v4.address;
}
