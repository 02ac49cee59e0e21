import { createHash } from 'node:crypto';

/**
 * Text transforms that put a value on the wire. Each returns the encoded text (or bytes), or
 * undefined when the transform leaves the value unchanged or cannot apply.
 */

/** `encodeURIComponent`, as a query string or form body carries a value. */
export function urlEncoded(text: string): string | undefined {
  const encoded = encodeURIComponent(text);
  return encoded === text ? undefined : encoded;
}

/** Form encoding (`application/x-www-form-urlencoded`): like urlEncoded but space is `+`. */
export function formEncoded(text: string): string | undefined {
  if (!text.includes(' ')) return undefined;
  return encodeURIComponent(text).replace(/%20/g, '+');
}

/** Encoded twice, as a value that went through a redirect or a nested query string. */
export function doubleUrlEncoded(text: string): string | undefined {
  const once = urlEncoded(text);
  return once === undefined ? undefined : encodeURIComponent(once);
}

/** Every character as a JSON `\uXXXX` escape: some encoders escape everything. */
export function jsonEscapedAll(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++)
    out += `\\u${text.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/** Only non-ASCII characters escaped, as Python's `json.dumps` and Java's Gson write them. */
export function jsonEscapedNonAscii(text: string): string | undefined {
  if (!/[^\x20-\x7e]/.test(text)) return undefined;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    out += code >= 0x20 && code <= 0x7e ? text[i] : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return out;
}

/** Hex of the UTF-8 bytes, lower case (the matcher accepts either case). */
export function hexOf(text: string): string {
  return Buffer.from(text, 'utf8').toString('hex');
}

/**
 * The base64 characters that encode `bytes` wherever they sit in a longer blob. Base64 works in
 * 3-byte groups, so a value starting at byte offset 0, 1 or 2 (mod 3) of a blob gives three
 * different texts; each window keeps only the characters made of the value's bits alone.
 *
 * @example
 *   base64Windows(Buffer.from('356938035643809'))[0] // → 'MzU2OTM4MDM1NjQzODA5' (offset 0)
 */
export function base64Windows(bytes: Uint8Array): [string, string, string] {
  const windows: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const text = padded.toString('base64');
    // Characters before `first` mix in the unknown bytes before the value; from `last` on,
    // the unknown bytes after it.
    const first = offset === 0 ? 0 : offset === 1 ? 2 : 3;
    const last = Math.floor((8 * padded.length) / 6);
    windows.push(text.slice(first, last));
  }
  return windows as [string, string, string];
}

/** Base64 with the URL alphabet (`-` and `_`), unpadded, as JWTs and URLs carry it. */
export function toBase64Url(base64: string): string {
  return base64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export type DigestName = 'md5' | 'sha1' | 'sha256';
export const DIGESTS: readonly DigestName[] = ['md5', 'sha1', 'sha256'];

export function digestOf(name: DigestName, text: string): Buffer {
  return createHash(name).update(text, 'utf8').digest();
}

/**
 * Protobuf's varint of a non-negative integer given as decimal digits: an IMEI sent as an int64
 * field. Undefined when the number does not fit 64 bits.
 *
 * @example
 *   varintOf('300') // → <Buffer ac 02>
 */
export function varintOf(digits: string): Buffer | undefined {
  if (!/^\d+$/.test(digits)) return undefined;
  let value = BigInt(digits);
  if (value >= 1n << 64n) return undefined;
  const out: number[] = [];
  do {
    const low = Number(value & 0x7fn);
    value >>= 7n;
    out.push(value > 0n ? low | 0x80 : low);
  } while (value > 0n);
  return Buffer.from(out);
}
