import { appendFileSync, closeSync, openSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import type { PacketDumpSink, PacketDumpSource } from '../device/device.ts';
import type { Exchange, TlsFailure } from '../types.ts';
import { describeError } from '../errors.ts';
import { PcapFormatError, PcapReader, type Packet } from './pcap.ts';
import type { CaptureRecorder } from './session.ts';

/** The packet dump's file in a run folder (a pcap: open it in Wireshark). */
export const PACKET_DUMP_FILE = 'phone.pcap';

/** How often UDP flows seen in the dump are journalled (each once, with its counts by then). */
const FLOW_FLUSH_MS = 1000;

export interface PacketDumpOptions extends PacketDumpSource {
  journal: CaptureRecorder;
  /** The file the raw dump is kept in (created 0600: it holds the phone's traffic). */
  file: string;
  /** Where it says what went wrong; a dump it cannot read never stops the run. */
  note: (text: string) => void;
}

interface Flow {
  at: number;
  host: string;
  port: number;
  app?: string;
  packets: number;
  bytes: number;
  recorded: boolean;
}

/**
 * Records what a phone's packet dump shows that the capture cannot: every DNS query (an
 * exchange `dns://name`, as on the gateway route) and every UDP flow by destination and size
 * (unreadable), each with the app that sent it when the dump names it (PCAPdroid's trailer). TCP
 * is left to the capture, which has the connections themselves: of each, the dump journals only
 * which app opened it to where (`connection` records). Times are moved onto the run's
 * clock and taken as early as the clock offset allows, so nothing is judged later than it was.
 *
 * @example
 *   const dump = new PacketDumpRecorder({ ...source, journal, file, note });
 *   tail.stdout.on('data', (chunk) => dump.write(chunk));
 */
export class PacketDumpRecorder implements PacketDumpSink {
  private readonly reader = new PcapReader();
  private readonly fd: number;
  private readonly flows = new Map<string, Flow>();
  /** Each UDP conversation's two ends, by the end that spoke first (the phone's). */
  private readonly conversations = new Map<string, string>();
  /** Names the phone's DNS answers gave addresses, so flows can carry names. */
  private readonly names = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private lookups = 0;
  private broken = false;
  private unsaved = false;
  private ended = false;

  constructor(private readonly options: PacketDumpOptions) {
    this.fd = openSync(options.file, 'a', 0o600);
    this.timer = setInterval(() => this.flush(), FLOW_FLUSH_MS);
    this.timer.unref();
  }

  write(chunk: Buffer): void {
    if (this.ended) return;
    // The raw dump first: whatever happens next, what the phone sent is on disk.
    if (!this.unsaved) {
      try {
        appendFileSync(this.fd, chunk);
      } catch (error) {
        this.unsaved = true;
        this.note(
          `${this.options.label}: its packet dump could not be written to ${this.options.file} (${describeError(error)}); what follows is still read, but not kept`,
        );
      }
    }
    if (this.broken) return;
    // A dump phonehome cannot read never stops the run: it is said, and the rest is skipped.
    try {
      for (const packet of this.reader.push(chunk)) this.take(packet);
    } catch (error) {
      this.broken = true;
      const why = error instanceof PcapFormatError ? error.message : describeError(error);
      this.note(
        `${this.options.label}: its packet dump could not be read from byte ${this.reader.read} on (${why}); DNS lookups and UDP flows after that are not recorded, the raw dump is kept in ${this.options.file}`,
      );
    }
  }

  note(text: string): void {
    this.options.note(text);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    this.flush();
    closeSync(this.fd);
  }

  /** The run's time of a packet: the earliest it can have been on the run's clock. */
  private hostTime(at: number): number {
    return Math.round(at - this.options.clockOffsetMs - this.options.clockUncertaintyMs);
  }

  private appOf(packet: Packet): string | undefined {
    if (packet.uid === undefined || packet.uid < 0) return undefined;
    return this.options.apps[packet.uid] ?? packet.appName ?? `uid ${packet.uid}`;
  }

  private take(packet: Packet): void {
    if (packet.protocol === 'tcp') {
      // A connection's first packet: which app opened it, to where. The capture has the
      // connection itself (by SOCKS5, with this address); readers tie the two by destination.
      const app = this.appOf(packet);
      if (packet.syn && app) {
        this.options.journal.append({
          type: 'connection',
          connection: {
            at: this.hostTime(packet.at),
            address: packet.destination,
            port: packet.destinationPort!,
            app,
          },
        });
      }
      return;
    }
    if (packet.protocol !== 'udp') return;
    const here = `${packet.source}|${packet.sourcePort}`;
    const there = `${packet.destination}|${packet.destinationPort}`;
    const known =
      this.conversations.get(`${here}>${there}`) ?? this.conversations.get(`${there}>${here}`);
    const sent = known === undefined || known === here;
    if (known === undefined) this.conversations.set(`${here}>${there}`, here);
    if (!sent) {
      if (packet.sourcePort === 53) this.learnNames(packet.payload!);
      return;
    }
    if (packet.destinationPort === 53 && this.recordLookups(packet)) return;
    this.count(packet);
  }

  /** A DNS query, each question an exchange; false when the datagram is no DNS query. */
  private recordLookups(packet: Packet): boolean {
    let message: dnsPacket.Packet;
    try {
      message = dnsPacket.decode(packet.payload!);
    } catch {
      return false;
    }
    if (message.type !== 'query' || !message.questions?.length) return false;
    const app = this.appOf(packet);
    for (const question of message.questions) {
      this.options.journal.append({
        type: 'exchange',
        exchange: lookupExchange({
          id: `vpn-dns-${++this.lookups}`,
          at: this.hostTime(packet.at),
          name: question.name,
          type: question.type,
          ...(app ? { app } : {}),
        }),
      });
    }
    return true;
  }

  private learnNames(payload: Buffer): void {
    try {
      const message = dnsPacket.decode(payload);
      for (const answer of message.answers ?? []) {
        if ((answer.type === 'A' || answer.type === 'AAAA') && typeof answer.data === 'string')
          this.names.set(answer.data, answer.name);
      }
    } catch {
      // Not DNS after all: a reply on port 53 phonehome cannot read says no name.
    }
  }

  private count(packet: Packet): void {
    const app = this.appOf(packet);
    const key = `${app ?? ''}|${packet.destination}|${packet.destinationPort}`;
    let flow = this.flows.get(key);
    if (!flow) {
      flow = {
        at: this.hostTime(packet.at),
        host: this.names.get(packet.destination) ?? packet.destination,
        port: packet.destinationPort!,
        ...(app ? { app } : {}),
        packets: 0,
        bytes: 0,
        recorded: false,
      };
      this.flows.set(key, flow);
    }
    flow.packets++;
    flow.bytes += packet.length;
  }

  private flush(): void {
    for (const flow of this.flows.values()) {
      if (flow.recorded) continue;
      flow.recorded = true;
      const failure: TlsFailure = {
        at: flow.at,
        host: flow.host,
        port: flow.port,
        cause: flow.port === 443 ? 'udp-quic' : 'udp',
        packets: flow.packets,
        bytes: flow.bytes,
        ...(flow.app ? { app: flow.app } : {}),
      };
      this.options.journal.append({ type: 'tls-failure', failure });
    }
  }
}

/** A DNS query as an exchange of its own: a contact with its name, and the name scanned. */
export function lookupExchange(lookup: {
  id: string;
  at: number;
  name: string;
  type: string;
  answer?: string;
  app?: string;
}): Exchange {
  return {
    id: lookup.id,
    startedAt: lookup.at,
    completedAt: lookup.at,
    protocol: 'dns',
    host: lookup.name,
    request: {
      method: 'DNS',
      url: `dns://${lookup.name}`,
      httpVersion: '',
      headers: [],
      body: { encoding: 'utf8', data: '' },
    },
    dns: { type: lookup.type, ...(lookup.answer ? { answer: lookup.answer } : {}) },
    ...(lookup.app ? { app: lookup.app } : {}),
  };
}
