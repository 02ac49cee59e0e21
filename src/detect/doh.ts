import dnsPacket from 'dns-packet';
import type { Exchange, HeaderPair } from '../types.ts';

/**
 * The names a DNS-over-HTTPS request (RFC 8484) asks for: a POST whose body is a DNS message
 * (`application/dns-message`), or a GET with the message base64url-encoded in `dns=`. Undefined
 * for any other exchange, or a message that is not a query. A name looked up this way is a host
 * contacted, as a plain DNS query is.
 *
 * @example
 *   dohQuestions(exchange) // → ['356938035643809.beacon.vendor.example']
 */
export function dohQuestions(exchange: Exchange): string[] | undefined {
  const { request } = exchange;
  if (exchange.dns || exchange.websocket || exchange.tcp) return undefined;
  let message: Buffer | undefined;
  if (request.method === 'POST' && isDnsMessage(request.headers)) {
    if (request.body.encoding === 'file') return undefined;
    message = Buffer.from(request.body.data, request.body.encoding);
  } else if (request.method === 'GET') {
    const param = queryParam(request.url, 'dns');
    if (param && /^[A-Za-z0-9_-]+$/.test(param)) message = Buffer.from(param, 'base64url');
  }
  if (!message || message.length < 12) return undefined;
  try {
    const decoded = dnsPacket.decode(message);
    if (decoded.type !== 'query' || !decoded.questions?.length) return undefined;
    return decoded.questions.map((question) => question.name);
  } catch {
    return undefined;
  }
}

function isDnsMessage(headers: HeaderPair[]): boolean {
  return headers.some(
    ([name, value]) =>
      name.toLowerCase() === 'content-type' &&
      value.split(';')[0]!.trim().toLowerCase() === 'application/dns-message',
  );
}

function queryParam(url: string, name: string): string | undefined {
  try {
    return new URL(url).searchParams.get(name) ?? undefined;
  } catch {
    return undefined;
  }
}
