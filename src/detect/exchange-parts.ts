import type { Body, Exchange, HeaderPair } from '../types.ts';
import type { Part } from './part.ts';

/**
 * The top-level parts of an exchange, in the order a person reads it: URL, request headers,
 * request body, response headers, response body. Response parts count: a server echoing an
 * identifier back proves it received it.
 *
 * @example
 *   exchangeParts(exchange).map((p) => p.where) // → ['url', 'header:host', 'header:cookie', 'request-body', …]
 */
export function exchangeParts(exchange: Exchange): Part[] {
  const parts: Part[] = [
    { where: 'url', bytes: Buffer.from(exchange.request.url, 'utf8'), depth: 0 },
  ];
  parts.push(...headerParts(exchange.request.headers, 'header'));
  const requestBody = bodyPart(exchange.request.body, exchange.request.headers, 'request-body');
  if (requestBody) parts.push(requestBody);
  if (exchange.response) {
    parts.push(...headerParts(exchange.response.headers, 'response-header'));
    const responseBody = bodyPart(
      exchange.response.body,
      exchange.response.headers,
      'response-body',
    );
    if (responseBody) parts.push(responseBody);
  }
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

function bodyPart(body: Body, headers: HeaderPair[], where: string): Part | undefined {
  // A body cut off (nothing of it kept) is still a part: what it could not see must be told.
  if (body.data.length === 0 && !body.unscanned) return undefined;
  const bytes = bodyBytes(body);
  const part: Part = { where, bytes, depth: 0 };
  if (body.unscanned) part.unscanned = body.unscanned;
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
  if (body.decodeError) {
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
function bodyBytes(body: Body): Buffer {
  if (body.encoding === 'utf8' && Buffer.byteLength(body.data, 'utf8') === body.data.length)
    return Buffer.from(body.data, 'latin1');
  return Buffer.from(body.data, body.encoding);
}

/** The first value of a header, by case-insensitive name. */
export function headerValue(headers: HeaderPair[], name: string): string | undefined {
  const wanted = name.toLowerCase();
  return headers.find(([key]) => key.toLowerCase() === wanted)?.[1];
}
