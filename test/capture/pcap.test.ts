import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PacketDumpRecorder } from '../../src/capture/packet-dump.ts';
import { canonicalAddress, decodeIp, PcapReader } from '../../src/capture/pcap.ts';
import type { Exchange, TlsFailure } from '../../src/types.ts';
import {
  dnsAnswer,
  dnsQuery,
  pcapHeader,
  pcapRecord,
  tcpSyn,
  udp,
  withTrailer,
} from '../support/pcap.ts';
import { command, missingNeed, skipForSystem } from '../support/system-tools.ts';
import { tempDir } from '../support/temp.ts';

const PHONE = '10.215.173.1';
const VPN_DNS = '10.215.173.2';
const IMEI = '356938035643809';
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0, 250);

/** What PCAPdroid dumps of a phone whose vendor daemon (uid 1000) leaks its IMEI in a name. */
function dump(): Buffer {
  return Buffer.concat([
    pcapHeader(1),
    pcapRecord(
      T0,
      withTrailer(
        udp(PHONE, 40000, VPN_DNS, 53, dnsQuery(`${IMEI}.beacon.vendor.example`, 7)),
        1000,
        'android',
      ),
    ),
    pcapRecord(
      T0 + 20,
      withTrailer(
        udp(
          VPN_DNS,
          53,
          PHONE,
          40000,
          dnsAnswer(`${IMEI}.beacon.vendor.example`, '203.0.113.9', 7),
        ),
        1000,
        'android',
      ),
    ),
    pcapRecord(
      T0 + 40,
      withTrailer(udp(PHONE, 40001, '203.0.113.9', 9999, Buffer.from('hi')), 1000, 'android'),
    ),
    pcapRecord(
      T0 + 60,
      withTrailer(udp(PHONE, 40001, '203.0.113.9', 9999, Buffer.alloc(100)), 1000, 'android'),
    ),
    // The server's reply is not the phone sending.
    pcapRecord(
      T0 + 70,
      withTrailer(udp('203.0.113.9', 9999, PHONE, 40001, Buffer.alloc(50)), 1000, 'android'),
    ),
    pcapRecord(
      T0 + 80,
      withTrailer(
        udp(PHONE, 40002, '198.51.100.4', 443, Buffer.alloc(1200)),
        10123,
        'com.vendor.app',
      ),
    ),
    pcapRecord(
      T0 + 90,
      withTrailer(tcpSyn(PHONE, 40003, '198.51.100.4', 443), 10123, 'com.vendor.app'),
    ),
  ]);
}

/** tcpdump, a pcap reader no one here wrote, is the oracle for the captures the tests build. */
function tcpdumpMissing(): string | undefined {
  return missingNeed('the pcap layout checks', [
    command('tcpdump', ['--version'], 'apt-get install tcpdump'),
  ]);
}

// The vpn route's packet dump (PCAPdroid's pcap with its trailer), read as it streams in. The
// captures are built byte by byte (test/support/pcap.ts), and tcpdump, reading the same bytes,
// says they are what the pcap format and PCAPdroid's layout are.
describe('packet dumps (pcap, PCAPdroid trailer)', () => {
  const dirs = tempDir();
  after(() => dirs.remove());

  it('builds captures tcpdump reads the same way: the DNS name, the ports, the SYN', function () {
    const why = tcpdumpMissing();
    if (why) skipForSystem(this, why);
    const file = join(dirs.path, 'oracle.pcap');
    writeFileSync(file, dump());
    const lines = execFileSync('tcpdump', ['-nn', '-tt', '-r', file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .trim()
      .split('\n');
    expect(lines).to.have.length(7);
    expect(lines[0]).to.match(
      new RegExp(
        `^${Math.floor(T0 / 1000)}\\.250000 IP 10\\.215\\.173\\.1\\.40000 > 10\\.215\\.173\\.2\\.53: 7\\+ A\\? ${IMEI}\\.beacon\\.vendor\\.example\\.`,
      ),
    );
    expect(lines[1]).to.match(
      /10\.215\.173\.2\.53 > 10\.215\.173\.1\.40000: 7 1\/0\/0 A 203\.0\.113\.9/,
    );
    expect(lines[2]).to.match(/10\.215\.173\.1\.40001 > 203\.0\.113\.9\.9999: UDP, length 2$/);
    expect(lines[6]).to.match(/10\.215\.173\.1\.40003 > 198\.51\.100\.4\.443: Flags \[S\]/);
  });

  it("reads records split anywhere across chunks, with each packet's app from the trailer", () => {
    const bytes = dump();
    const reader = new PcapReader();
    const packets = [];
    for (let i = 0; i < bytes.length; i += 7)
      packets.push(...reader.push(bytes.subarray(i, i + 7)));
    expect(
      packets.map((p) => [
        p.at,
        p.protocol,
        `${p.source}:${p.sourcePort}`,
        `${p.destination}:${p.destinationPort}`,
        p.uid,
        p.appName,
      ]),
    ).to.deep.equal([
      [T0, 'udp', `${PHONE}:40000`, `${VPN_DNS}:53`, 1000, 'android'],
      [T0 + 20, 'udp', `${VPN_DNS}:53`, `${PHONE}:40000`, 1000, 'android'],
      [T0 + 40, 'udp', `${PHONE}:40001`, '203.0.113.9:9999', 1000, 'android'],
      [T0 + 60, 'udp', `${PHONE}:40001`, '203.0.113.9:9999', 1000, 'android'],
      [T0 + 70, 'udp', '203.0.113.9:9999', `${PHONE}:40001`, 1000, 'android'],
      [T0 + 80, 'udp', `${PHONE}:40002`, '198.51.100.4:443', 10123, 'com.vendor.app'],
      [T0 + 90, 'tcp', `${PHONE}:40003`, '198.51.100.4:443', 10123, 'com.vendor.app'],
    ]);
    expect(packets[2]!.payload!.toString()).to.equal('hi');
    expect(packets[2]!.length).to.equal(20 + 8 + 2);
    expect(packets[6]!.syn).to.equal(true);
    expect(reader.bytes).to.equal(bytes.length);
  });

  it("records each DNS query and UDP flow by app, on the run's clock, and keeps the raw dump private", () => {
    const records: ({ exchange: Exchange } | { failure: TlsFailure } | { connection: unknown })[] =
      [];
    const notes: string[] = [];
    const file = join(dirs.path, 'phone.pcap');
    // The phone's clock is 3 s ahead of the host's, known to within 40 ms.
    const recorder = new PacketDumpRecorder({
      clockOffsetMs: 3000,
      clockUncertaintyMs: 40,
      apps: { 1000: 'android,com.android.settings', 10123: 'com.vendor.app' },
      label: 'PCAPdroid on R58M12345',
      journal: {
        append: (record) => {
          if (record.type === 'exchange') records.push({ exchange: record.exchange });
          if (record.type === 'tls-failure') records.push({ failure: record.failure });
          if (record.type === 'connection') records.push({ connection: record.connection });
        },
      },
      file,
      note: (text) => notes.push(text),
    });
    const bytes = dump();
    recorder.write(bytes.subarray(0, 100));
    recorder.write(bytes.subarray(100));
    recorder.end();
    const earliest = (at: number) => at - 3000 - 40;
    expect(records).to.deep.equal([
      {
        exchange: {
          id: 'vpn-dns-1',
          startedAt: earliest(T0),
          completedAt: earliest(T0),
          protocol: 'dns',
          host: `${IMEI}.beacon.vendor.example`,
          request: {
            method: 'DNS',
            url: `dns://${IMEI}.beacon.vendor.example`,
            httpVersion: '',
            headers: [],
            body: { encoding: 'utf8', data: '' },
          },
          dns: { type: 'A' },
          app: 'android,com.android.settings',
        },
      },
      // The TCP connection's SYN, at once: only which app opened it, to where (the capture has
      // the rest). UDP flows follow, each once, with its counts by the next flush.
      {
        connection: {
          at: earliest(T0 + 90),
          address: '198.51.100.4',
          port: 443,
          app: 'com.vendor.app',
        },
      },
      {
        failure: {
          at: earliest(T0 + 40),
          host: `${IMEI}.beacon.vendor.example`,
          port: 9999,
          cause: 'udp',
          packets: 2,
          bytes: 30 + 128,
          app: 'android,com.android.settings',
        },
      },
      {
        failure: {
          at: earliest(T0 + 80),
          host: '198.51.100.4',
          port: 443,
          cause: 'udp-quic',
          packets: 1,
          bytes: 1228,
          app: 'com.vendor.app',
        },
      },
    ]);
    expect(notes).to.deep.equal([]);
    expect(readFileSync(file).equals(bytes)).to.equal(true);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
  });

  it('keeps a dump it cannot read on disk and says from where on it recorded nothing', () => {
    const notes: string[] = [];
    const file = join(dirs.path, 'broken.pcap');
    const recorder = new PacketDumpRecorder({
      clockOffsetMs: 0,
      clockUncertaintyMs: 0,
      apps: {},
      label: 'PCAPdroid on R58M12345',
      journal: { append: () => undefined },
      file,
      note: (text) => notes.push(text),
    });
    const garbage = Buffer.from('<html>not a capture, but long enough to be read as one</html>');
    recorder.write(garbage);
    recorder.write(Buffer.from('more'));
    recorder.end();
    expect(notes).to.have.length(1);
    expect(notes[0]).to.match(
      /^PCAPdroid on R58M12345: its packet dump could not be read from byte 0 on \(the stream starts with 0x.*not a pcap header.*\); DNS lookups and UDP flows after that are not recorded, the raw dump is kept in .*broken\.pcap$/,
    );
    expect(readFileSync(file, 'utf8')).to.equal(`${garbage.toString()}more`);
  });

  it('writes IPv6 addresses as the SOCKS5 side does, so connections and exchanges meet', () => {
    const ip = Buffer.alloc(48);
    ip[0] = 0x60;
    ip.writeUInt16BE(8, 4);
    ip[6] = 17;
    Buffer.from('fd000002fd000001fd000001fd000001', 'hex').copy(ip, 8);
    Buffer.from('20010db8000000000000000000000001', 'hex').copy(ip, 24);
    ip.writeUInt16BE(40000, 40);
    ip.writeUInt16BE(443, 42);
    ip.writeUInt16BE(8, 44);
    const packet = decodeIp(ip, 0)!;
    expect([packet.source, packet.destination]).to.deep.equal([
      'fd00:2:fd00:1:fd00:1:fd00:1',
      '2001:db8::1',
    ]);
    // mockttp names a SOCKS5 IPv6 destination with every group written out.
    expect(canonicalAddress('2001:DB8:0:0:0:0:0:1')).to.equal('2001:db8::1');
    expect(canonicalAddress('203.0.113.9')).to.equal('203.0.113.9');
  });
});
