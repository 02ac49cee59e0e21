import type { Body, Exchange, HeaderPair, InlineBody } from '../types.ts';
import { dohQuestions } from './doh.ts';
import type { Part } from './part.ts';

/**
 * A body kept in a file, as read back for the scan: its decoded bytes, or `null` when it is
 * too large to read whole and is scanned in windows instead (detector.ts).
 */
export type LoadedBytes = { bytes: Buffer; decodeError?: string } | null;

/** File bodies read back, by the message they belong to. */
export interface LoadedBodies {
  request?: LoadedBytes;
  response?: LoadedBytes;
}

/**
 * The top-level parts of an exchange, in the order a person reads it: URL, request headers,
 * request body, response headers, response body. Response parts count: a server echoing an
 * identifier back proves it received it.
 *
 * @example
 *   exchangeParts(exchange).map((p) => p.where) // → ['url', 'header:host', 'header:cookie', 'request-body', …]
 */
export function exchangeParts(exchange: Exchange, loaded: LoadedBodies = {}): Part[] {
  // A WebSocket message is its content alone: the socket's URL and headers are its handshake's;
  // a raw TCP chunk has no more than its bytes.
  // A DNS query is its name alone.
  if (exchange.dns)
    return [{ where: 'dns-name', bytes: Buffer.from(exchange.host, 'utf8'), depth: 0 }];
  if (exchange.websocket || exchange.tcp) {
    const { direction } = exchange.websocket ?? exchange.tcp!;
    const prefix = exchange.websocket ? 'ws' : 'tcp';
    const where = `${prefix}-${direction}`;
    const message = bodyPart(exchange.request.body, [], where, loaded.request);
    return message ? [message] : [];
  }
  const parts: Part[] = [
    { where: 'url', bytes: Buffer.from(exchange.request.url, 'utf8'), depth: 0 },
  ];
  parts.push(...headerParts(exchange.request.headers, 'header'));
  const requestBody = bodyPart(
    exchange.request.body,
    exchange.request.headers,
    'request-body',
    loaded.request,
  );
  if (requestBody) parts.push(requestBody);
  if (exchange.response) {
    parts.push(...headerParts(exchange.response.headers, 'response-header'));
    const responseBody = bodyPart(
      exchange.response.body,
      exchange.response.headers,
      'response-body',
      loaded.response,
    );
    if (responseBody) parts.push(responseBody);
  }
  // DNS over HTTPS: the names asked for, as a plain DNS query's (base64url in a GET hides them).
  for (const name of dohQuestions(exchange) ?? [])
    parts.push({ where: 'dns-name', bytes: Buffer.from(name, 'utf8'), depth: 0 });
  return parts;
}

function headerParts(headers: HeaderPair[], prefix: string): Part[] {
  return headers.map(([name, value]) => ({
    where: `${prefix}:${name.toLowerCase()}`,
    // Header values are latin1 on the wire (RFC 9110); a capture gives them back as such.
    bytes: Buffer.from(value, 'latin1'),
    depth: 0,
  }));
}

function bodyPart(
  body: Body,
  headers: HeaderPair[],
  where: string,
  loaded: LoadedBytes | undefined,
): Part | undefined {
  let bytes: Buffer;
  let decodeError = body.decodeError;
  let unscanned = body.unscanned;
  if (body.encoding === 'file') {
    // Scanned in windows (null), or not read back at all: a sync scan cannot read files, and
    // says so rather than pass over the body.
    if (loaded === null) return undefined;
    if (loaded === undefined) {
      bytes = Buffer.alloc(0);
      unscanned = 'the body is kept in a file, which this scan did not read';
    } else {
      bytes = loaded.bytes;
      decodeError = loaded.decodeError;
    }
  } else {
    // A body cut off (nothing of it kept) is still a part: what it could not see must be told.
    if (body.data.length === 0 && !body.unscanned) return undefined;
    bytes = bodyBytes(body);
  }
  if (bytes.length === 0 && !unscanned) return undefined;
  const part: Part = { where, bytes, depth: 0 };
  if (unscanned) part.unscanned = unscanned;
  const type = headerValue(headers, 'content-type');
  if (type) {
    const [media, ...params] = type.split(';');
    part.contentType = (media as string).trim().toLowerCase();
    part.contentTypeParams = {};
    for (const param of params) {
      const eq = param.indexOf('=');
      if (eq < 0) continue;
      const key = param.slice(0, eq).trim().toLowerCase();
      part.contentTypeParams[key] = param
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
    }
  }
  // Only a body whose content-encoding could not be undone still carries it.
  if (decodeError) {
    const encoding = headerValue(headers, 'content-encoding');
    if (encoding) part.contentEncoding = encoding.trim().toLowerCase();
  }
  return part;
}

/**
 * A body's bytes. Most text bodies are ASCII, whose UTF-8 is their latin1: copying them as latin1
 * measured about twice as fast as encoding UTF-8, and counting the UTF-8 length first (it equals
 * the string's length only when every character is ASCII) costs less than it saves.
 */
function bodyBytes(body: InlineBody): Buffer {
  if (body.encoding === 'utf8' && Buffer.byteLength(body.data, 'utf8') === body.data.length)
    return Buffer.from(body.data, 'latin1');
  return Buffer.from(body.data, body.encoding);
}

/** The first value of a header, by case-insensitive name. */
export function headerValue(headers: HeaderPair[], name: string): string | undefined {
  const wanted = name.toLowerCase();
  return headers.find(([key]) => key.toLowerCase() === wanted)?.[1];
}
