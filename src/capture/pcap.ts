/**
 * Reading a packet capture as it streams in (the classic pcap format, as PCAPdroid writes it):
 * each record's IP packet decoded to what phonehome needs — addresses, ports, the UDP payload,
 * TCP flags — and, with PCAPdroid's trailer, the sending app's Linux uid. Records split across
 * chunks are kept until they are whole.
 */

/** PCAPdroid's trailer after each packet: magic, uid, app name (20 bytes), FCS. */
const TRAILER_MAGIC = 0x01072021;
const TRAILER_SIZE = 32;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_IPV6 = 229;

/** One IP packet of the capture. */
export interface Packet {
  /** The capture's clock (the phone's), ms since the epoch. */
  at: number;
  version: 4 | 6;
  source: string;
  destination: string;
  /** The IP packet's length on the wire, headers included. */
  length: number;
  protocol: 'tcp' | 'udp' | 'other';
  sourcePort?: number;
  destinationPort?: number;
  /** UDP: the datagram's payload. */
  payload?: Buffer;
  /** TCP: a connection's first packet (SYN without ACK). */
  syn?: boolean;
  /** From PCAPdroid's trailer: the uid of the app that sent or received it (-1: unknown). */
  uid?: number;
  /** From PCAPdroid's trailer: the app's name as PCAPdroid shortened it. */
  appName?: string;
}

/** What a stream was, when it cannot be read as a capture. */
export class PcapFormatError extends Error {}

/**
 * Feeds a pcap stream in chunks; `push` returns the packets completed by that chunk.
 *
 * @example
 *   const reader = new PcapReader();
 *   for (const packet of reader.push(chunk)) console.log(packet.destination);
 */
export class PcapReader {
  private pending: Buffer = Buffer.alloc(0);
  private little = true;
  private nanoseconds = false;
  private linktype = -1;
  /** Bytes taken in so far, header included. */
  bytes = 0;

  push(chunk: Buffer): Packet[] {
    this.bytes += chunk.length;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const packets: Packet[] = [];
    let offset = 0;
    try {
      if (this.linktype < 0) {
        if (this.pending.length < 24) return packets;
        this.readHeader(this.pending);
        offset = 24;
      }
      while (this.pending.length - offset >= 16) {
        const u32 = (at: number) =>
          this.little ? this.pending.readUInt32LE(at) : this.pending.readUInt32BE(at);
        const seconds = u32(offset);
        const fraction = u32(offset + 4);
        const included = u32(offset + 8);
        if (included > 262_144) {
          throw new PcapFormatError(`a record of ${included} bytes: the stream is not a pcap file`);
        }
        if (this.pending.length - offset - 16 < included) break;
        const frame = this.pending.subarray(offset + 16, offset + 16 + included);
        const at = seconds * 1000 + (this.nanoseconds ? fraction / 1e6 : fraction / 1e3);
        // Records that are no IP packet phonehome can decode (other link types, later
        // fragments) are passed over.
        const packet = this.decode(frame, at);
        if (packet) packets.push(packet);
        offset += 16 + included;
      }
    } finally {
      this.pending = Buffer.from(this.pending.subarray(offset));
    }
    return packets;
  }

  /** Bytes read as whole records (and the header) so far: where an unreadable stream stops. */
  get read(): number {
    return this.bytes - this.pending.length;
  }

  private readHeader(header: Buffer): void {
    const magic = header.readUInt32LE(0);
    if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) this.little = true;
    else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) this.little = false;
    else {
      throw new PcapFormatError(
        `the stream starts with 0x${magic.toString(16).padStart(8, '0')}, not a pcap header (pcapng is not read)`,
      );
    }
    this.nanoseconds = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
    this.linktype = this.little ? header.readUInt32LE(20) : header.readUInt32BE(20);
  }

  private decode(frame: Buffer, at: number): Packet | undefined {
    let ip = frame;
    let trailer: { uid: number; appName: string } | undefined;
    if (this.linktype === LINKTYPE_ETHERNET) {
      if (frame.length < 14) return undefined;
      const type = frame.readUInt16BE(12);
      if (type !== 0x0800 && type !== 0x86dd) return undefined;
      ip = frame.subarray(14);
      // PCAPdroid wraps each packet in a made-up Ethernet header and appends its trailer.
      if (ip.length >= TRAILER_SIZE) {
        const tail = ip.subarray(ip.length - TRAILER_SIZE);
        if (tail.readUInt32BE(0) === TRAILER_MAGIC) {
          const name = tail.subarray(8, 28);
          const end = name.indexOf(0);
          trailer = {
            uid: tail.readInt32BE(4),
            appName: name.subarray(0, end < 0 ? 20 : end).toString('utf8'),
          };
          ip = ip.subarray(0, ip.length - TRAILER_SIZE);
        }
      }
    } else if (![LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6].includes(this.linktype)) {
      return undefined;
    }
    const packet = decodeIp(ip, at);
    if (packet && trailer) {
      packet.uid = trailer.uid;
      if (trailer.appName) packet.appName = trailer.appName;
    }
    return packet;
  }
}

/** An IPv4 or IPv6 packet, with its TCP or UDP header; undefined for what is not one. */
export function decodeIp(ip: Buffer, at: number): Packet | undefined {
  if (ip.length < 1) return undefined;
  const version = ip[0]! >> 4;
  let protocol: number;
  let body: Buffer;
  let source: string;
  let destination: string;
  let length: number;
  if (version === 4) {
    if (ip.length < 20) return undefined;
    const headerLength = (ip[0]! & 0x0f) * 4;
    length = ip.readUInt16BE(2);
    // A later fragment has no transport header of its own.
    if ((ip.readUInt16BE(6) & 0x1fff) !== 0) return undefined;
    protocol = ip[9]!;
    source = ip.subarray(12, 16).join('.');
    destination = ip.subarray(16, 20).join('.');
    body = ip.subarray(headerLength, Math.min(ip.length, length));
  } else if (version === 6) {
    if (ip.length < 40) return undefined;
    length = 40 + ip.readUInt16BE(4);
    protocol = ip[6]!;
    source = ipv6(ip.subarray(8, 24));
    destination = ipv6(ip.subarray(24, 40));
    body = ip.subarray(40, Math.min(ip.length, length));
  } else {
    return undefined;
  }
  const packet: Packet = {
    at,
    version,
    source,
    destination,
    length,
    protocol: 'other',
  };
  if (protocol === 17 && body.length >= 8) {
    packet.protocol = 'udp';
    packet.sourcePort = body.readUInt16BE(0);
    packet.destinationPort = body.readUInt16BE(2);
    packet.payload = body.subarray(8, Math.max(8, Math.min(body.length, body.readUInt16BE(4))));
  } else if (protocol === 6 && body.length >= 14) {
    packet.protocol = 'tcp';
    packet.sourcePort = body.readUInt16BE(0);
    packet.destinationPort = body.readUInt16BE(2);
    const flags = body[13]!;
    packet.syn = (flags & 0x02) !== 0 && (flags & 0x10) === 0;
  }
  return packet;
}

function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return canonicalAddress(groups.join(':'));
}

/**
 * An IP address as one text, whoever wrote it: IPv6 compressed and lower-cased as WHATWG URLs
 * write it (mockttp's SOCKS5 side writes every group), IPv4 as it is. Destinations are matched
 * by this text, so both sides must agree.
 *
 * @example
 *   canonicalAddress('2001:DB8:0:0:0:0:0:1') // → '2001:db8::1'
 */
export function canonicalAddress(address: string): string {
  if (!address.includes(':')) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
}
