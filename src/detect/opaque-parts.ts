import { isUtf8 } from 'node:buffer';
import { looksLikeText } from './decoders/blobs.ts';
import { jsonPathsAt } from './decoders/json-path.ts';
import {
  MIN_OPAQUE_BYTES,
  opaqueBytes,
  opaqueReason,
  opaqueTokens,
  textLooksRandom,
  type OpaqueEncoding,
} from './opaque.ts';
import type { Child, Part } from './part.ts';

/** An opaque part: where it is, as a finding would name it, and the `opaque: …` reason. */
export interface OpaquePart {
  where: string;
  reason: string;
}

/**
 * Whether a part lies on the request side: what the phone sent. A response is what a server
 * chose to send; only the phone's own bytes can carry its identifiers out.
 *
 * @example
 *   isRequestSide('cookie:deviceId') // → true
 *   isRequestSide('response-body>gzip') // → false
 */
export function isRequestSide(where: string): boolean {
  return !(
    where.startsWith('response-') ||
    where.startsWith('ws-received') ||
    where.startsWith('tcp-received') ||
    where.startsWith('dns-name')
  );
}

/**
 * Media types a sender declares for bytes that are dense by design and that other tools read:
 * an upload of a photo or a recording is not an unknown encoding.
 */
const MEDIA = /^(image|audio|video|font)\//;

/** Whether the opaque check looks at this part at all. */
function considered(part: Part): boolean {
  if (part.unscanned || part.bytes.length === 0 || !isRequestSide(part.where)) return false;
  // A credential the server issued (OAuth bearer, a session): read by the server it came from.
  if (/^header:(proxy-)?authorization($|>)/.test(part.where)) return false;
  return !(part.contentType && MEDIA.test(part.contentType));
}

/**
 * The opaque tokens of a request-side text part: hex and base64 strings that no decoder took
 * (`children`: what the decoders found inside), each judged by its decoded bytes. A token's range
 * is returned too: a decoder's child inside it (a piece of base64 between two "%2B") is part of
 * the same token and must not be told again.
 *
 * @example
 *   opaqueTokensIn({ where: 'header:x-info', bytes: Buffer.from(aesOutput.toString('hex')), depth: 0 }, [])
 *   // → [{ where: 'header:x-info>hex', reason: 'opaque: 96 bytes (hex), …', start: 0, end: 192 }]
 */
export function opaqueTokensIn(
  part: Part,
  children: readonly Child[],
): (OpaquePart & { start: number; end: number })[] {
  if (!considered(part) || !looksLikeText(part.bytes)) return [];
  const url = part.where === 'url';
  const tokens = opaqueTokens(part.bytes, children, url);
  if (tokens.length === 0) return [];
  const form = part.contentType === 'application/x-www-form-urlencoded';
  const first = part.bytes.find((byte) => byte > 0x20);
  const json = part.contentType?.includes('json') || first === 0x7b || first === 0x5b;
  const paths = json
    ? jsonPathsAt(
        part.bytes,
        tokens.map((token) => token.start),
      )
    : [];
  return tokens.map((token, index) => {
    const path = paths[index];
    const name = url || form ? parameterBefore(part.bytes, token.start) : undefined;
    const place = path ? `>json:${path}` : name ? `>param:${name}` : '';
    // Named as the decoders name base64 of either alphabet; the reason tells which.
    const written = token.opaque.encoding === 'hex' ? 'hex' : 'base64';
    return {
      where: `${part.where}${place}>${written}`,
      reason: opaqueReason(token.opaque),
      start: token.start,
      end: token.end,
    };
  });
}

/**
 * A request-side part that is opaque as a whole: no decoder decoded it (a structure's
 * slices do not count: random bytes parse as protobuf now and then) and nothing inside it was
 * opaque already (`inner`). `source` is the text a decoded part was decoded from (a base64
 * blob), which must itself look random: a long path decoded as base64 is too short a byte string
 * for its histogram to tell, but its letters tell.
 *
 * @example
 *   opaqueWhole({ where: 'request-body', bytes: aesOutput, depth: 0 }, [], false)
 *   // → { where: 'request-body', reason: 'opaque: 96 bytes, 6.3 bits/byte (…), no known encoding' }
 */
export function opaqueWhole(
  part: Part,
  children: readonly Child[],
  inner: boolean,
  source?: Uint8Array,
): OpaquePart | undefined {
  // Text is judged by its tokens, never as bytes: a 39-letter API key is as random as 39 bytes
  // drawn from 62 values can be. "Text" is strict here (UTF-8, no control bytes): the detector's
  // looser test takes about one in twenty 100-byte random strings for text.
  // Most parts of a binary batch are short fields: the length rules them out before any pass.
  if (part.bytes.length < MIN_OPAQUE_BYTES) return undefined;
  if (!considered(part) || readsAsText(part.bytes)) return undefined;
  if (inner || children.some((child) => !child.slice)) return undefined;
  let encoding: OpaqueEncoding = 'binary';
  if (source && part.where.endsWith('>base64')) {
    const text = Buffer.from(source).toString('latin1');
    if (!textLooksRandom(text, 'base64')) return undefined;
    encoding = /[-_]/.test(text) ? 'base64url' : 'base64';
  }
  const opaque = opaqueBytes(part.bytes, encoding);
  return opaque ? { where: part.where, reason: opaqueReason(opaque) } : undefined;
}

/** Whether bytes are UTF-8 text without control bytes (tabs and line breaks allowed). */
function readsAsText(bytes: Uint8Array): boolean {
  let high = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20) || byte === 0x7f) return false;
    if (byte >= 0x80) high = true;
  }
  // isUtf8 validates without building a string (a fatal TextDecoder took 11% of a binary scan).
  return !high || isUtf8(bytes);
}

/** The name of the query or form parameter whose value starts at `start`, if it is one. */
function parameterBefore(bytes: Uint8Array, start: number): string | undefined {
  if (bytes[start - 1] !== 0x3d) return undefined;
  let at = start - 1;
  while (at > 0 && bytes[at - 1] !== 0x26 && bytes[at - 1] !== 0x3f && bytes[at - 1] !== 0x3b) at--;
  const name = Buffer.from(bytes.subarray(at, start - 1)).toString('latin1');
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
