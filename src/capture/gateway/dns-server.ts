import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { PhonehomeError } from '../../errors.ts';
/** One query the phone made. */
export interface DnsLookup {
  at: number;
  name: string;
  /** A, AAAA, HTTPS… */
  type: string;
  client: string;
  answer?: string;
}

/**
 * Hands out one address per name from a range (an IPv4 CIDR), so that every connection the
 * phone makes to an address is a connection to a name: what the tun2socks family calls fake-IP
 * DNS. The range must be one the gateway host routes to itself, and that nothing else uses.
 *
 * @example
 *   const pool = new AddressPool('10.78.0.0/16');
 *   pool.addressOf('api.vendor.example') // → '10.78.0.1', the same each time
 *   pool.nameOf('10.78.0.1')            // → 'api.vendor.example'
 */
export class AddressPool {
  private readonly base: number;
  private readonly size: number;
  private readonly byName = new Map<string, string>();
  private readonly byAddress = new Map<string, string>();

  constructor(cidr: string) {
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    const octets = match ? match.slice(1, 5).map(Number) : [];
    const bits = match ? Number(match[5]) : -1;
    if (!match || octets.some((octet) => octet > 255) || bits < 8 || bits > 30) {
      throw new PhonehomeError(
        'GATEWAY_POOL',
        `address pool '${cidr}' is not an IPv4 range from /8 to /30, e.g. "10.78.0.0/16"`,
      );
    }
    const mask = (~0 << (32 - bits)) >>> 0;
    this.base = (toNumber(octets) & mask) >>> 0;
    this.size = 2 ** (32 - bits);
  }

  addressOf(name: string): string {
    const key = name.toLowerCase();
    const known = this.byName.get(key);
    if (known) return known;
    // .0 is the network's own address and the last its broadcast: neither is handed out.
    if (this.byName.size >= this.size - 2) {
      throw new Error(`the address pool is full (${this.byName.size} names)`);
    }
    const address = toAddress(this.base + this.byName.size + 1);
    this.byName.set(key, address);
    this.byAddress.set(address, key);
    return address;
  }

  nameOf(address: string): string | undefined {
    return this.byAddress.get(address);
  }
}

/**
 * The gateway's DNS server: every query the phone sends (nftables sends its port 53 here) is
 * recorded and answered from the address pool — A with the name's own address, anything else
 * (AAAA, HTTPS, TXT…) with no records, so the phone connects over IPv4 to an address the
 * gateway redirects and names. Queries from any address but the phone's are not answered.
 */
export class DnsServer {
  readonly port: number;
  private readonly socket: dgram.Socket;

  private constructor(socket: dgram.Socket) {
    this.socket = socket;
    this.port = socket.address().port;
  }

  static async start(options: {
    host: string;
    port?: number;
    pool: AddressPool;
    phoneAddress: string;
    onQuery: (query: DnsLookup) => void;
    log?: (line: string) => void;
  }): Promise<DnsServer> {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (message, from) => {
      if (from.address !== options.phoneAddress) return;
      let query: dnsPacket.Packet;
      try {
        query = dnsPacket.decode(message);
      } catch {
        options.log?.(`DNS: an unreadable query from ${from.address} (${message.length} bytes)`);
        return;
      }
      const question = query.questions?.[0];
      if (!question) return;
      const at = Date.now();
      const answers: dnsPacket.Answer[] = [];
      let answer: string | undefined;
      if (question.type === 'A' && question.class === 'IN') {
        answer = options.pool.addressOf(question.name);
        answers.push({ type: 'A', name: question.name, ttl: 60, data: answer });
      } else if (question.type === 'PTR') {
        const name = options.pool.nameOf(reverseName(question.name));
        if (name) answers.push({ type: 'PTR', name: question.name, ttl: 60, data: name });
      }
      options.onQuery({
        at,
        name: question.name.toLowerCase(),
        type: question.type,
        client: from.address,
        ...(answer ? { answer } : {}),
      });
      const reply = dnsPacket.encode({
        id: query.id,
        type: 'response',
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
        questions: [question],
        answers,
      });
      socket.send(reply, from.port, from.address);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (error) =>
        reject(
          new PhonehomeError(
            'GATEWAY_LISTEN',
            `the gateway's DNS server cannot listen on ${options.host}:${options.port ?? 0}: ${error.message}`,
            { cause: error },
          ),
        ),
      );
      socket.bind(options.port ?? 0, options.host, () => resolve());
    });
    socket.on('error', (error) => options.log?.(`DNS: ${error.message}`));
    return new DnsServer(socket);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

function toNumber(octets: number[]): number {
  return octets.reduce((value, octet) => value * 256 + octet, 0);
}

function toAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

/** "4.3.2.1.in-addr.arpa" → "1.2.3.4" */
function reverseName(name: string): string {
  return name
    .replace(/\.in-addr\.arpa$/i, '')
    .split('.')
    .reverse()
    .join('.');
}
