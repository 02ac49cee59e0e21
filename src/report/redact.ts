import type { Body, Exchange, HeaderPair, Identifier } from '../types.ts';
import { maskFragment } from '../detect/mask.ts';
import type { IdentifierRange, RangeFinder } from './identifier-ranges.ts';

/** Redaction takes everything that could be an identifier: a false positive costs nothing. */
const REDACT = { loneCoordinates: true, glued: true } as const;

/**
 * What stands for an identifier in redacted text: its label, in brackets, without the spaces and
 * "#" that would break a URL or a header ("IMEI #1" → "[IMEI-1]", "phone number #1" →
 * "[phone-number-1]").
 *
 * @example
 *   redactionToken('contact number #2') // → '[contact-number-2]'
 */
export function redactionToken(label: string): string {
  return `[${label.replace(/\s*#\s*/g, '-').replace(/\s+/g, '-')}]`;
}

/**
 * Replaces every form of every identifier in a string by its token. `charset` says how the string
 * was bytes on the wire: UTF-8 for URLs and bodies, latin1 for header values (RFC 9110).
 *
 * @example
 *   redactText('deviceId=865432101234564', finder) // → 'deviceId=[IMEI-1]'
 */
export function redactText(
  text: string,
  finder: RangeFinder,
  charset: 'utf8' | 'latin1' = 'utf8',
): string {
  // A header value the proxy gave as more than latin1 would lose characters: read it as UTF-8.
  const encoding =
    charset === 'latin1' && [...text].some((c) => c.charCodeAt(0) > 0xff) ? 'utf8' : charset;
  const bytes = Buffer.from(text, encoding);
  const ranges = finder.find(bytes, REDACT);
  if (ranges.length === 0) return text;
  return splice(bytes, ranges).toString(encoding);
}

/**
 * A finding's fragment for a redacted copy: the match becomes the finding's token, other
 * identifiers in the context become theirs, and what is left of a value cut at the fragment's
 * edge is masked.
 *
 * @example
 *   redactFragment('deviceId=⟦865432101234564⟧; lang=en', 'IMEI #1', finder) // → 'deviceId=⟦[IMEI-1]⟧; lang=en'
 */
export function redactFragment(fragment: string, label: string, finder: RangeFinder): string {
  const open = fragment.indexOf('⟦');
  const close = fragment.lastIndexOf('⟧');
  // A value cut at the fragment's edge ("…China%2") is no longer a form the detector knows: the
  // cut word is dropped, and any long run of digits left in the context is masked.
  const context = (text: string) =>
    maskFragment(redactText(text, finder))
      .replace(/^…[^&=;,:"'\s{}[\]()<>/?]*/, '…')
      .replace(/[^&=;,:"'\s{}[\]()<>/?]*…$/, '…');
  if (open < 0 || close < open) return context(fragment);
  return `${context(fragment.slice(0, open))}⟦${redactionToken(label)}⟧${context(fragment.slice(close + 1))}`;
}

/** A body with every identifier form replaced by its token, kept in its own encoding. */
export function redactBody(body: Body, finder: RangeFinder): Body {
  if (body.encoding === 'file') {
    // Rewriting gigabytes in place is not what a copy to share is for: it says what was left out.
    const left = `a body of ${body.size} bytes kept in a file was left out of this redacted copy`;
    return { encoding: 'utf8', data: `[${left}]`, unscanned: left };
  }
  if (body.data.length === 0) return body;
  const bytes = Buffer.from(body.data, body.encoding);
  const ranges = finder.find(bytes, REDACT);
  if (ranges.length === 0) return body;
  return { ...body, data: splice(bytes, ranges).toString(body.encoding) };
}

/**
 * An exchange safe to show or attach: every identifier form the detector knows is replaced by its
 * token, and a part that still holds one in a form that cannot be rewritten in place (inside a
 * gzip blob, a protobuf, a base64'd JSON) is removed, saying which identifier it held. The result
 * is checked with the detector itself: nothing it could find is left.
 *
 * @example
 *   redactExchange(exchange, finder).request.headers // → [['Cookie', 'deviceId=[IMEI-1]'], …]
 */
export function redactExchange(exchange: Exchange, finder: RangeFinder): Exchange {
  const text = (value: string, charset: 'utf8' | 'latin1' = 'utf8') =>
    redactText(value, finder, charset);
  const headers = (list: HeaderPair[]): HeaderPair[] =>
    list.map(([name, value]) => [text(name, 'latin1'), text(value, 'latin1')]);
  const redacted: Exchange = {
    ...exchange,
    host: text(exchange.host),
    request: {
      ...exchange.request,
      url: text(exchange.request.url),
      headers: headers(exchange.request.headers),
      body: redactBody(exchange.request.body, finder),
    },
  };
  if (exchange.response) {
    redacted.response = {
      ...exchange.response,
      statusMessage: text(exchange.response.statusMessage),
      headers: headers(exchange.response.headers),
      body: redactBody(exchange.response.body, finder),
    };
  }
  if (exchange.error !== undefined) redacted.error = text(exchange.error);
  return removeNested(redacted, finder);
}

/**
 * Removes each top-level part in which the detector still finds something: what is left after
 * the in-place rewrite can only be nested (compressed, encoded twice, binary).
 */
function removeNested(exchange: Exchange, finder: RangeFinder): Exchange {
  if (finder.detector.scanExchange(exchange, 0).length === 0) return exchange;
  const result = structuredClone(exchange);
  const found = (probe: Exchange) => finder.detector.scanExchange(probe, 0);
  const note = (findings: { label: string; where: string }[]) =>
    `[removed by phonehome: it held ${[...new Set(findings.map((f) => `${redactionToken(f.label)} in ${f.where}`))].join(', ')}]`;

  const url = found(probe(exchange, { url: exchange.request.url }));
  if (url.length > 0) result.request.url = `${exchange.protocol}://${result.host}/${note(url)}`;
  result.request.headers = result.request.headers.map(([name, value]) => {
    const hits = found(probe(exchange, { headers: [[name, value]] }));
    return hits.length > 0 ? [name, note(hits)] : [name, value];
  });
  const requestBody = found(
    probe(exchange, { body: exchange.request.body, headers: typeOf(exchange.request.headers) }),
  );
  if (requestBody.length > 0) result.request.body = { encoding: 'utf8', data: note(requestBody) };
  if (result.response && exchange.response) {
    result.response.headers = result.response.headers.map(([name, value]) => {
      const hits = found(probe(exchange, { responseHeaders: [[name, value]] }));
      return hits.length > 0 ? [name, note(hits)] : [name, value];
    });
    const responseBody = found(
      probe(exchange, {
        responseBody: exchange.response.body,
        responseHeaders: typeOf(exchange.response.headers),
      }),
    );
    if (responseBody.length > 0)
      result.response.body = { encoding: 'utf8', data: note(responseBody) };
  }
  // A part can hold an identifier only together with another part (a location split over the
  // URL and a header): when one remains, nothing of the exchange but its host and times is kept.
  if (found(result).length > 0) {
    const all = found(result);
    result.request = {
      ...result.request,
      url: `${exchange.protocol}://${result.host}/${note(all)}`,
      headers: [],
      body: { encoding: 'utf8', data: '' },
    };
    if (result.response)
      result.response = { ...result.response, headers: [], body: { encoding: 'utf8', data: '' } };
  }
  return result;
}

/** Only the content-type header: what the detector needs to decode a body. */
function typeOf(headers: HeaderPair[]): HeaderPair[] {
  return headers.filter(([name]) => name.toLowerCase() === 'content-type');
}

/** An exchange holding only the given parts, to ask the detector about them alone. */
function probe(
  exchange: Exchange,
  parts: {
    url?: string;
    headers?: HeaderPair[];
    body?: Body;
    responseHeaders?: HeaderPair[];
    responseBody?: Body;
  },
): Exchange {
  const empty: Body = { encoding: 'utf8', data: '' };
  const result: Exchange = {
    id: exchange.id,
    startedAt: exchange.startedAt,
    completedAt: exchange.completedAt,
    protocol: exchange.protocol,
    host: 'probe.invalid',
    request: {
      method: 'GET',
      url: parts.url ?? 'http://probe.invalid/',
      httpVersion: '1.1',
      headers: parts.headers ?? [],
      body: parts.body ?? empty,
    },
  };
  if (parts.responseHeaders || parts.responseBody) {
    result.response = {
      status: 200,
      statusMessage: 'OK',
      headers: parts.responseHeaders ?? [],
      body: parts.responseBody ?? empty,
    };
  }
  return result;
}

/** The bytes with each range replaced by its identifier's token. */
function splice(bytes: Buffer, ranges: IdentifierRange[]): Buffer {
  const pieces: Buffer[] = [];
  let at = 0;
  for (const range of ranges) {
    pieces.push(bytes.subarray(at, range.start), tokenBytes(range.identifier));
    at = range.end;
  }
  pieces.push(bytes.subarray(at));
  return Buffer.concat(pieces);
}

function tokenBytes(identifier: Identifier): Buffer {
  return Buffer.from(redactionToken(identifier.label), 'latin1');
}
