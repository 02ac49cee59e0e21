/**
 * `npm run bench:dump [-- --megabytes N]`: how fast the vpn and iptables routes' packet-dump
 * recorder takes a PCAPdroid dump (pcap with its trailer), against only writing the same bytes
 * to disk as it does first — the baseline, in the same run. The dump is the phone's whole
 * traffic, so the recorder must keep up with what adb can carry (USB 2: about 40 MB/s).
 *
 *   npm run bench:dump
 *
 * The synthetic dump: 90 % TCP segments of 1,400 bytes (a download: parsed, not recorded), 9 %
 * UDP datagrams of 1,200 bytes to 20 destinations (flows counted), 1 % DNS queries (each an
 * exchange in the journal), fed in 64 KiB chunks as `adb exec-out` hands them over. Prints
 * MB/s and packets/s for both, and the ratio. Not a timed test: it never fails on a figure.
 */
import { appendFileSync, closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PacketDumpRecorder } from '../src/capture/packet-dump.ts';
import { JournalWriter } from '../src/journal/writer.ts';
import {
  dnsQuery,
  pcapHeader,
  pcapRecord,
  tcpSyn,
  udp,
  withTrailer,
} from '../test/support/pcap.ts';

const { values } = parseArgs({ options: { megabytes: { type: 'string', default: '200' } } });
const target = Number(values.megabytes) * 1024 * 1024;

function tcpSegment(i: number): Buffer {
  // A SYN's header with 1,380 bytes of payload after it: parsed as TCP, as a download's segment.
  const syn = tcpSyn('10.215.173.1', 40000 + (i % 1000), '203.0.113.9', 443);
  const ip = Buffer.concat([syn, Buffer.alloc(1380, 0x41)]);
  ip.writeUInt16BE(ip.length, 2);
  ip[33] = 0x10; // ACK: not a connection's first packet
  return ip;
}

function build(): { bytes: Buffer; packets: number } {
  const records: Buffer[] = [pcapHeader(1)];
  let size = 24;
  let packets = 0;
  const at = Date.now();
  while (size < target) {
    const i = packets;
    const ip =
      i % 100 === 0
        ? udp(
            '10.215.173.1',
            50000 + (i % 5000),
            '10.215.173.2',
            53,
            dnsQuery(`q${i}.vendor.example`, i & 0xffff),
          )
        : i % 10 === 0
          ? udp('10.215.173.1', 41000, `198.51.100.${i % 20}`, 9000, Buffer.alloc(1200))
          : tcpSegment(i);
    const record = pcapRecord(at + i / 10, withTrailer(ip, 10123, 'com.vendor.app'));
    records.push(record);
    size += record.length;
    packets++;
  }
  return { bytes: Buffer.concat(records), packets };
}

const CHUNK = 64 * 1024;

async function timed(run: (chunk: Buffer) => void, bytes: Buffer): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < bytes.length; i += CHUNK) run(bytes.subarray(i, i + CHUNK));
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const dir = mkdtempSync(join(tmpdir(), 'phonehome-bench-dump-'));
try {
  const { bytes, packets } = build();
  const mb = bytes.length / 1024 / 1024;
  console.log(`dump: ${mb.toFixed(0)} MB, ${packets} packets, fed in 64 KiB chunks`);

  // Baseline: what the recorder does first, and all a raw capture would do: append to disk.
  const fd = openSync(join(dir, 'raw.pcap'), 'a', 0o600);
  const raw = await timed((chunk) => appendFileSync(fd, chunk), bytes);
  closeSync(fd);

  const journal = JournalWriter.open(join(dir, 'journal.ndjson'));
  const recorder = new PacketDumpRecorder({
    clockOffsetMs: 0,
    clockUncertaintyMs: 0,
    apps: { 10123: 'com.vendor.app' },
    label: 'bench',
    journal,
    file: join(dir, 'phone.pcap'),
    note: (text) => console.log(`note: ${text}`),
  });
  const recorded = await timed((chunk) => recorder.write(chunk), bytes);
  recorder.end();
  journal.close();

  const line = (name: string, seconds: number) =>
    console.log(
      `${name.padEnd(22)} ${(mb / seconds).toFixed(0).padStart(5)} MB/s  ${Math.round(
        packets / seconds,
      )
        .toString()
        .padStart(9)} packets/s`,
    );
  line('disk only (baseline)', raw);
  line('recorder', recorded);
  console.log(`recorder / baseline: ${(recorded / raw).toFixed(2)}× the time`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
