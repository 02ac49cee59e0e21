/**
 * Opaque payloads: request-side bytes that no decoder opened and that look encrypted, or
 * compressed by a method the detector does not know. Such bytes can carry any identifier, so
 * they are reported as unscanned ("opaque: …"), never passed over.
 *
 * The test is statistical and length-aware. The byte histogram of the candidate is compared with
 * that of uniform random bytes of the same length by Pearson's chi-square over the 256 byte
 * values: for uniform bytes of length n it has mean 255 and variance 2·255·(n−1)/n, whatever n,
 * so one z-score threshold serves a 40-byte token and a 40 KB body alike (at small n it amounts
 * to counting repeated byte values, which text and structured binary have many more of). A
 * long part whose bytes are not uniform but still near 8 bits/byte (deflate without its header,
 * brotli, an unknown packer) is opaque too. The thresholds and the sizes below were chosen on the
 * measurements described in docs/detection.md ("Opaque payloads").
 */

/**
 * Fewer decoded bytes than this are never opaque: session ids, nonces, IVs, HMACs, SHA-1/SHA-256
 * digests and 16-byte ids all sit at 32 bytes or under, and random tokens of that size are
 * everywhere in ordinary traffic. Above it, AES-GCM of a 15-digit IMEI (12 + 15 + 16 = 43
 * bytes) is already caught; AES-CBC of it (32 bytes) is not, and cannot be told from a digest.
 */
export const MIN_OPAQUE_BYTES = 33;

/** Sizes of digests and signatures above the minimum (SHA-384, SHA-512, Ed25519, P-256 r‖s). */
const DIGEST_SIZES = new Set([48, 64]);

/**
 * Bytes whose chi-square lies within this many standard deviations of uniform bytes' read as
 * random. Uniform random bytes score above 5 about once in 10 000 at 64–1000 bytes and above 6
 * about once in 10 000 at 24–43 bytes (measured, 20 000 draws per length); text and protobuf of
 * those sizes score in the tens to thousands.
 */
const MAX_Z = 6;

/** A part this long with this many bits per byte is compressed or encrypted, uniform or not. */
const DENSE_MIN_BYTES = 256;
const DENSE_BITS_PER_BYTE = 7.5;

/** How a candidate was written before the detector saw its bytes. */
export type OpaqueEncoding = 'binary' | 'base64' | 'base64url' | 'hex';

/** Why bytes were judged opaque: what a report shows. */
export interface OpaqueBytes {
  bytes: number;
  /** Shannon entropy of the byte histogram. */
  bitsPerByte: number;
  /** What uniform random bytes of this length score on average (below 8 for short ones). */
  uniformBitsPerByte: number;
  encoding: OpaqueEncoding;
}

/**
 * Whether bytes no decoder opened are opaque: long enough, not a known media or archive format,
 * not a digest size, and as random as uniform bytes (or dense past 7.5 bits/byte when long).
 *
 * @example
 *   opaqueBytes(randomBytes(96), 'base64') // → { bytes: 96, bitsPerByte: 6.2, uniformBitsPerByte: 6.3, encoding: 'base64' }
 *   opaqueBytes(Buffer.from('{"imei":"356938035643809","model":"Redmi 1S"}'), 'binary') // → undefined
 */
export function opaqueBytes(bytes: Uint8Array, encoding: OpaqueEncoding): OpaqueBytes | undefined {
  const n = bytes.length;
  if (n < MIN_OPAQUE_BYTES || DIGEST_SIZES.has(n)) return undefined;
  if (knownFormat(bytes)) return undefined;
  // Every binary part of a batch comes here, each nested message too: one reused table, and the
  // chi-square as Σc²/e − n, with no logarithm unless the entropy is needed.
  const counts = COUNTS.fill(0);
  for (let i = 0; i < n; i++) counts[bytes[i] as number]! += 1;
  const expected = n / 256;
  let squares = 0;
  for (let value = 0; value < 256; value++) {
    const count = counts[value] as number;
    squares += count * count;
  }
  const chi = squares / expected - n;
  const z = (chi - 255) / Math.sqrt((510 * (n - 1)) / n);
  const random = z <= MAX_Z;
  if (!random && n < DENSE_MIN_BYTES) return undefined;
  let entropy = 0;
  for (let value = 0; value < 256; value++) {
    const count = counts[value] as number;
    if (count > 0) entropy -= (count / n) * Math.log2(count / n);
  }
  const dense = n >= DENSE_MIN_BYTES && entropy >= DENSE_BITS_PER_BYTE;
  if (!random && !dense) return undefined;
  return { bytes: n, bitsPerByte: entropy, uniformBitsPerByte: uniformEntropy(n), encoding };
}

/** The byte histogram opaqueBytes fills, kept between calls (the scan is synchronous). */
const COUNTS = new Uint32Array(256);

/**
 * The `reason` of an opaque part, as `unscanned` and every report show it.
 *
 * @example
 *   opaqueReason({ bytes: 96, bitsPerByte: 6.24, uniformBitsPerByte: 6.3, encoding: 'base64' })
 *   // → 'opaque: 96 bytes (base64), 6.2 bits/byte (random bytes of this length: 6.3), no known encoding'
 */
export function opaqueReason(opaque: OpaqueBytes): string {
  const written = opaque.encoding === 'binary' ? '' : ` (${opaque.encoding})`;
  return `opaque: ${opaque.bytes} bytes${written}, ${opaque.bitsPerByte.toFixed(1)} bits/byte (random bytes of this length: ${opaque.uniformBitsPerByte.toFixed(1)}), no known encoding`;
}

/** Whether an unscanned part's reason says it was opaque (and not cut by a budget). */
export function isOpaqueReason(reason: string): boolean {
  return reason.startsWith('opaque');
}

/** A token inside a text part that is written in a text encoding of bytes, decoded. */
export interface OpaqueToken {
  start: number;
  end: number;
  opaque: OpaqueBytes;
}

const JWT = /eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;
const PERCENT = /%[0-9a-fA-F]{2}/;
/** Runs of the base64 alphabets, "=" and "%XX" escapes; in a URL, "/" separates path segments. */
const TEXT_RUN = /(?:[A-Za-z0-9+/_=-]|%[0-9a-fA-F]{2}){44,}/g;
const URL_RUN = /(?:[A-Za-z0-9+_=-]|%[0-9a-fA-F]{2}){44,}/g;
/** A base64 token this short decodes to under MIN_OPAQUE_BYTES: not worth a look. */
const MIN_BASE64_CHARS = Math.ceil((MIN_OPAQUE_BYTES * 4) / 3);

/**
 * Opaque tokens in a text part: hex, base64 or base64url strings (percent-encoded or not) whose
 * decoded bytes are opaque. Tokens overlapping `covered` (ranges a decoder already opened, like a
 * base64 blob) are left to that decoder's child, unless percent-encoding split them so that no
 * decoder saw them whole. JWTs are skipped: their signature is a signature. In a URL a token ends
 * at "/", which a path is made of and base64 in a URL is percent-encoded.
 *
 * @example
 *   opaqueTokens(Buffer.from('k=' + randomBytes(64 + 8).toString('hex')), [], false)
 *   // → [{ start: 2, end: 146, opaque: { bytes: 72, encoding: 'hex', … } }]
 */
export function opaqueTokens(
  text: Uint8Array,
  covered: readonly { start: number; end: number }[],
  url: boolean,
): OpaqueToken[] {
  const tokens: OpaqueToken[] = [];
  if (text.length < MIN_BASE64_CHARS) return tokens;
  const string = Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1');
  // Sorted by start, walked with the tokens (which come in order): a JSON body of thousands of
  // blobs must not compare every token with every blob.
  const skipped = [...covered];
  for (const jwt of string.matchAll(JWT))
    skipped.push({ start: jwt.index, end: jwt.index + jwt[0].length });
  skipped.sort((a, b) => a.start - b.start);
  // Ranges before `next` end at or before the last token's start; `reach` is how far the
  // furthest of them ends, for a range that spans later tokens too.
  let next = 0;
  let reach = -1;
  const overlaps = (start: number, end: number) => {
    while (next < skipped.length && (skipped[next] as { start: number }).start < end) {
      reach = Math.max(reach, (skipped[next] as { end: number }).end);
      next++;
    }
    return reach > start;
  };
  for (const run of string.matchAll(url ? URL_RUN : TEXT_RUN)) {
    // "=" inside a run ends a token ("key=value"); at its end it is padding.
    let from = run.index;
    for (const token of run[0].split(/(?<==)(?=[^=])/)) {
      const start = from;
      const end = start + token.length;
      from = end;
      if (token.length < MIN_BASE64_CHARS) continue;
      const percent = PERCENT.test(token);
      const covered = overlaps(start, end);
      if (!percent && covered) continue;
      const decoded = decodeToken(percent ? safeUnescape(token) : token);
      if (!decoded) continue;
      const opaque = opaqueBytes(decoded.bytes, decoded.encoding);
      if (opaque) tokens.push({ start, end, opaque });
    }
  }
  return tokens;
}

function safeUnescape(token: string): string {
  try {
    return decodeURIComponent(token);
  } catch {
    return token;
  }
}

/**
 * The bytes a token stands for: hex (dashes between groups allowed: a UUID is 16 bytes), or
 * base64 of either alphabet when it mixes upper case, lower case and digits as random base64
 * does. Either way the characters themselves must be as random as the alphabet allows: decoded
 * as base64, a long path or identifier ("registerDeviceForPushNotifications") gives bytes too
 * short for their histogram to tell, but its letters are far from uniform.
 */
function decodeToken(token: string): { bytes: Buffer; encoding: OpaqueEncoding } | undefined {
  const bare = token.replace(/=+$/, '');
  if (/^[0-9a-fA-F-]+$/.test(bare)) {
    const hex = bare.replace(/-/g, '');
    if (hex.length % 2 === 1 || !textLooksRandom(hex, 'hex')) return undefined;
    return { bytes: Buffer.from(hex, 'hex'), encoding: 'hex' };
  }
  if (!/^[A-Za-z0-9+/_-]+$/.test(bare) || bare.length % 4 === 1) return undefined;
  if (!(/[A-Z]/.test(bare) && /[a-z]/.test(bare) && /[0-9]/.test(bare))) return undefined;
  const url = /[-_]/.test(bare);
  if (url && /[+/]/.test(bare)) return undefined;
  if (!textLooksRandom(bare, 'base64')) return undefined;
  return {
    bytes: Buffer.from(bare, url ? 'base64url' : 'base64'),
    encoding: url ? 'base64url' : 'base64',
  };
}

/** A character's symbol in the alphabet, or -1: hex either case, base64 either alphabet. */
const HEX_SYMBOL = new Int8Array(256).fill(-1);
const BASE64_SYMBOL = new Int8Array(256).fill(-1);
[...'0123456789abcdef'].forEach((char, index) => {
  HEX_SYMBOL[char.charCodeAt(0)] = index;
  HEX_SYMBOL[char.toUpperCase().charCodeAt(0)] = index;
});
[...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].forEach((char, index) => {
  BASE64_SYMBOL[char.charCodeAt(0)] = index;
});
BASE64_SYMBOL[0x2d] = 62; // "-" of base64url
BASE64_SYMBOL[0x5f] = 63; // "_" of base64url

/**
 * Whether the characters of a hex or base64 string are as evenly spread over their alphabet as
 * random bytes' encoding is: the same chi-square test as for bytes, over 16 or 64 symbols.
 * Padding and anything outside the alphabet are left out.
 *
 * @example
 *   textLooksRandom(randomBytes(48).toString('base64'), 'base64') // → true
 *   textLooksRandom('registerDeviceForPushNotifications2AndroidDevices', 'base64') // → false
 */
export function textLooksRandom(text: string, alphabet: 'hex' | 'base64'): boolean {
  const symbols = alphabet === 'hex' ? HEX_SYMBOL : BASE64_SYMBOL;
  const size = alphabet === 'hex' ? 16 : 64;
  const counts = new Float64Array(size);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const at = symbols[text.charCodeAt(i) & 0xff] as number;
    if (at < 0 || text.charCodeAt(i) > 0xff) continue;
    counts[at]! += 1;
    n++;
  }
  if (n < 2) return false;
  let chi = 0;
  for (const count of counts) chi += ((count - n / size) * (count - n / size)) / (n / size);
  return (chi - (size - 1)) / Math.sqrt((2 * (size - 1) * (n - 1)) / n) <= MAX_Z;
}

/**
 * Media, archive and key formats, by magic number: their bytes are dense by design and other
 * tools read them. Compressions the detector decodes (gzip, zlib, zstd) never reach here.
 */
const MAGIC: { at: number; bytes: number[] }[] = [
  { at: 0, bytes: [0x89, 0x50, 0x4e, 0x47] }, // PNG
  { at: 0, bytes: [0xff, 0xd8, 0xff] }, // JPEG
  { at: 0, bytes: [0x47, 0x49, 0x46, 0x38] }, // GIF8
  { at: 0, bytes: [0x52, 0x49, 0x46, 0x46] }, // RIFF: WebP, WAV, AVI
  { at: 4, bytes: [0x66, 0x74, 0x79, 0x70] }, // ftyp: MP4, MOV, HEIC, 3GP
  { at: 0, bytes: [0x1a, 0x45, 0xdf, 0xa3] }, // Matroska, WebM
  { at: 0, bytes: [0x4f, 0x67, 0x67, 0x53] }, // Ogg
  { at: 0, bytes: [0x66, 0x4c, 0x61, 0x43] }, // FLAC
  { at: 0, bytes: [0x49, 0x44, 0x33] }, // MP3 with ID3
  { at: 0, bytes: [0x23, 0x21, 0x41, 0x4d, 0x52] }, // AMR
  { at: 0, bytes: [0x50, 0x4b, 0x03, 0x04] }, // zip, APK, JAR, docx
  { at: 0, bytes: [0x50, 0x4b, 0x05, 0x06] }, // empty zip
  { at: 0, bytes: [0x25, 0x50, 0x44, 0x46] }, // PDF
  { at: 0, bytes: [0x42, 0x5a, 0x68] }, // bzip2
  { at: 0, bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] }, // xz
  { at: 0, bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] }, // 7z
  { at: 0, bytes: [0x49, 0x49, 0x2a, 0x00] }, // TIFF, little-endian
  { at: 0, bytes: [0x4d, 0x4d, 0x00, 0x2a] }, // TIFF, big-endian
  { at: 0, bytes: [0x77, 0x4f, 0x46, 0x46] }, // WOFF
  { at: 0, bytes: [0x77, 0x4f, 0x46, 0x32] }, // WOFF2
  { at: 0, bytes: [0x00, 0x61, 0x73, 0x6d] }, // WebAssembly
  { at: 0, bytes: [0x64, 0x65, 0x78, 0x0a] }, // Android DEX
];

function knownFormat(bytes: Uint8Array): boolean {
  if (MAGIC.some(({ at, bytes: magic }) => magic.every((byte, i) => bytes[at + i] === byte)))
    return true;
  return derSequence(bytes);
}

/**
 * A DER SEQUENCE that spans the bytes exactly: a certificate, a public key, a PKCS#7 signature.
 * The length must match, so random bytes starting with 0x30 do not pass.
 */
function derSequence(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x30) return false;
  const first = bytes[1] as number;
  if (first < 0x80) return first + 2 === bytes.length;
  const size = first & 0x7f;
  if (size === 0 || size > 4) return false;
  let length = 0;
  for (let i = 0; i < size; i++) length = length * 256 + (bytes[2 + i] as number);
  return length + 2 + size === bytes.length;
}

const uniformCache = new Map<number, number>();

/**
 * The mean Shannon entropy of n uniform random bytes' histogram, exactly: each byte value's
 * count is Binomial(n, 1/256). Past 64 KiB, the Miller–Madow approximation, within 0.001 there.
 */
function uniformEntropy(n: number): number {
  if (n > 65536) return 8 - 255 / (2 * n * Math.LN2);
  const cached = uniformCache.get(n);
  if (cached !== undefined) return cached;
  const p = 1 / 256;
  let probability = Math.pow(1 - p, n);
  let sum = 0;
  for (let k = 1; k <= n; k++) {
    probability *= ((n - k + 1) / k) * (p / (1 - p));
    if (probability < 1e-300 && k > n * p) break;
    const share = k / n;
    sum -= probability * share * Math.log2(share);
  }
  const entropy = 256 * sum;
  uniformCache.set(n, entropy);
  return entropy;
}
