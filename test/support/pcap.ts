// Packet captures for tests, written byte by byte as the pcap format and PCAPdroid lay them out
// (checked against tcpdump in test/capture/pcap.test.ts): a global header, records, IPv4 packets
// with UDP or TCP headers, and PCAPdroid's trailer naming the app.
import dnsPacket from 'dns-packet';

/** The pcap global header: microsecond timestamps, little-endian, the given link type. */
export function pcapHeader(linktype: number): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(linktype, 20);
  return header;
}

/** One record: the frame and when it was captured (ms since the epoch). */
export function pcapRecord(at: number, frame: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32LE(Math.floor(at / 1000), 0);
  header.writeUInt32LE(Math.round((at % 1000) * 1000), 4);
  header.writeUInt32LE(frame.length, 8);
  header.writeUInt32LE(frame.length, 12);
  return Buffer.concat([header, frame]);
}

function ipv4(protocol: number, source: string, destination: string, body: Buffer): Buffer {
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header.writeUInt16BE(20 + body.length, 2);
  header[8] = 64;
  header[9] = protocol;
  Buffer.from(source.split('.').map(Number)).copy(header, 12);
  Buffer.from(destination.split('.').map(Number)).copy(header, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  header.writeUInt16BE(~sum & 0xffff, 10);
  return Buffer.concat([header, body]);
}

/** An IPv4 UDP datagram (checksum 0: none, as IPv4 allows). */
export function udp(
  source: string,
  sourcePort: number,
  destination: string,
  destinationPort: number,
  payload: Buffer,
): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(sourcePort, 0);
  header.writeUInt16BE(destinationPort, 2);
  header.writeUInt16BE(8 + payload.length, 4);
  return ipv4(17, source, destination, Buffer.concat([header, payload]));
}

/** An IPv4 TCP SYN. */
export function tcpSyn(
  source: string,
  sourcePort: number,
  destination: string,
  destinationPort: number,
): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(sourcePort, 0);
  header.writeUInt16BE(destinationPort, 2);
  header.writeUInt32BE(1, 4);
  header[12] = 5 << 4;
  header[13] = 0x02;
  header.writeUInt16BE(65535, 14);
  return ipv4(6, source, destination, header);
}

/** A DNS query for `name` (type A), as a UDP payload. */
export function dnsQuery(name: string, id = 1): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name }],
  });
}

/** A DNS answer giving `name` the address `address`. */
export function dnsAnswer(name: string, address: string, id = 1): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'A', name }],
    answers: [{ type: 'A', name, ttl: 60, data: address }],
  });
}

/**
 * A packet as PCAPdroid dumps it with its trailer on (link type Ethernet): a made-up Ethernet
 * header, the IP packet, then magic 0x01072021, the app's uid, its name (20 bytes) and an FCS.
 */
export function withTrailer(ip: Buffer, uid: number, appName: string): Buffer {
  const ethernet = Buffer.alloc(14);
  ethernet.writeUInt16BE(0x0800, 12);
  const trailer = Buffer.alloc(32);
  trailer.writeUInt32BE(0x01072021, 0);
  trailer.writeInt32BE(uid, 4);
  trailer.write(appName.slice(0, 19), 8, 'utf8');
  return Buffer.concat([ethernet, ip, trailer]);
}
