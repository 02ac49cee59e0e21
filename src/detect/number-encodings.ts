/**
 * Numbers sent as numbers: the byte encodings binary formats give an integer or a float, and how
 * the matcher finds one by value. A location rounded differently, or read back through a float,
 * is not one byte string but a range of them; the high-order bytes of every number in the range
 * take only a few values, so those bytes are the automaton's anchor and the whole number is
 * decoded and compared at the candidate (matcher.ts, `verify`).
 */

/**
 * How a number is written: IEEE-754 floats in either byte order (protobuf `double`, Avro and
 * OTLP are little-endian; msgpack `0xcb` and CBOR `0xfb` big-endian), protobuf's base-128
 * varint (negative numbers as 64-bit two's complement, 10 bytes) and its zigzag form (`sint`,
 * Avro `int`/`long`), and fixed-width integers (protobuf `fixed`/`sfixed`, Java's DataOutput).
 */
export type NumberEncoding =
  | 'float64-le'
  | 'float64-be'
  | 'float32-le'
  | 'float32-be'
  | 'varint'
  | 'zigzag-varint'
  | 'fixed32-le'
  | 'int32-be'
  | 'fixed64-le'
  | 'int64-be';

/** Every encoding a location's coordinates are looked for in, floats first. */
export const FLOAT_ENCODINGS: readonly NumberEncoding[] = [
  'float64-le',
  'float64-be',
  'float32-le',
  'float32-be',
];
export const FIXED_POINT_ENCODINGS: readonly NumberEncoding[] = [
  'varint',
  'zigzag-varint',
  'fixed32-le',
  'int32-be',
];

/** The width in bytes of a fixed-width encoding; varints have none. */
function widthOf(encoding: NumberEncoding): number | undefined {
  if (encoding === 'varint' || encoding === 'zigzag-varint') return undefined;
  return encoding.startsWith('float64') || encoding.includes('64') ? 8 : 4;
}

function bigEndian(encoding: NumberEncoding): boolean {
  return encoding.endsWith('-be');
}

/**
 * The bytes of an integer (bigint, signed) or a float in an encoding. Undefined when the number
 * does not fit (a 33-bit integer in 4 bytes).
 *
 * @example
 *   encodeNumber(488566100n, 'varint')   // → <Buffer d4 da fb e8 01>
 *   encodeNumber(48.85661, 'float64-be') // → <Buffer 40 48 6d a5 65 7f b6 9a>
 */
export function encodeNumber(value: number | bigint, encoding: NumberEncoding): Buffer | undefined {
  switch (encoding) {
    case 'float64-le':
    case 'float64-be':
    case 'float32-le':
    case 'float32-be': {
      const width = widthOf(encoding) as number;
      const out = Buffer.alloc(width);
      const number = Number(value);
      if (width === 8) {
        if (bigEndian(encoding)) out.writeDoubleBE(number);
        else out.writeDoubleLE(number);
      } else if (bigEndian(encoding)) out.writeFloatBE(number);
      else out.writeFloatLE(number);
      return out;
    }
    default: {
      const unsigned = unsignedOf(BigInt(value), encoding);
      return unsigned === undefined ? undefined : unsignedBytes(unsigned, encoding);
    }
  }
}

/**
 * The unsigned integer an encoding writes for a signed one: two's complement in the width
 * (64 bits for a plain varint, as protobuf writes a negative int32), zigzag for `zigzag-varint`.
 */
function unsignedOf(value: bigint, encoding: NumberEncoding): bigint | undefined {
  const bits =
    encoding === 'zigzag-varint' ? 64 : encoding === 'varint' ? 64 : widthOf(encoding)! * 8;
  const limit = 1n << BigInt(bits);
  if (encoding === 'zigzag-varint') {
    const zigzag = value >= 0n ? value * 2n : -value * 2n - 1n;
    return zigzag < limit ? zigzag : undefined;
  }
  // Signed or unsigned, as the field's type says: both read back the same bytes.
  if (value >= limit || value < -(limit >> 1n)) return undefined;
  return value < 0n ? limit + value : value;
}

function unsignedBytes(unsigned: bigint, encoding: NumberEncoding): Buffer {
  const width = widthOf(encoding);
  if (width === undefined) {
    const out: number[] = [];
    let rest = unsigned;
    do {
      const low = Number(rest & 0x7fn);
      rest >>= 7n;
      out.push(rest > 0n ? low | 0x80 : low);
    } while (rest > 0n);
    return Buffer.from(out);
  }
  const out = Buffer.alloc(width);
  for (let i = 0; i < width; i++) {
    const byte = Number((unsigned >> BigInt(8 * i)) & 0xffn);
    out[bigEndian(encoding) ? width - 1 - i : i] = byte;
  }
  return out;
}

/**
 * The number encoded at `start`, as a JavaScript number (integers signed as the encoding's
 * signed type reads them), and where it ends. Undefined when the bytes run out or a varint is
 * longer than 10 bytes. Never throws.
 *
 * @example
 *   decodeNumber(Buffer.from([0xd4, 0xda, 0xfb, 0xe8, 0x01]), 0, 'varint') // → { value: 488566100, end: 5 }
 */
export function decodeNumber(
  bytes: Uint8Array,
  start: number,
  encoding: NumberEncoding,
): { value: number; end: number } | undefined {
  const width = widthOf(encoding);
  if (width === undefined) {
    let unsigned = 0n;
    for (let i = 0; i < 10; i++) {
      const byte = bytes[start + i];
      if (byte === undefined) return undefined;
      unsigned |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if (byte < 0x80) {
        const value =
          encoding === 'zigzag-varint'
            ? unsigned & 1n
              ? -(unsigned >> 1n) - 1n
              : unsigned >> 1n
            : BigInt.asIntN(64, unsigned);
        return { value: Number(value), end: start + i + 1 };
      }
    }
    return undefined;
  }
  if (start < 0 || start + width > bytes.length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, width);
  const little = !bigEndian(encoding);
  let value: number;
  if (encoding.startsWith('float64')) value = view.getFloat64(0, little);
  else if (encoding.startsWith('float32')) value = view.getFloat32(0, little);
  else if (width === 4) value = view.getInt32(0, little);
  else value = Number(view.getBigInt64(0, little));
  return { value, end: start + width };
}

/** The high-order bytes of the numbers of one range, and where the varying low ones are. */
export interface NumberAnchor {
  /** The bytes every number of the range shares: what the automaton looks for. */
  anchor: Buffer;
  /** Bytes of the number before the anchor (little-endian forms and varints). */
  lead: number;
  /** Bytes after it (big-endian forms). */
  trail: number;
}

/** At most this many anchors per number and encoding: more would flood the automaton. */
const MAX_ANCHORS = 16;
/**
 * Fewer anchor bytes than this find candidates everywhere in binary: with 2-byte anchors the
 * automaton alone ran 30 MB/s over the benchmark's binary capture, against 149 MB/s with 3+.
 */
const MIN_ANCHOR = 3;

/**
 * The anchors that cover every number in [low, high] (floats, or integers for the integer
 * encodings) in an encoding: as few as possible, each as long as possible. Empty when the range
 * leaves fewer than MIN_ANCHOR bytes fixed, or only sign bytes (0x00, 0xff) that any small
 * number has: such a value is not looked for in that encoding.
 *
 * @example
 *   numberAnchors(48.8556, 48.8576, 'float64-be') // → [{ anchor: <40 48 6d>, lead: 0, trail: 5 }]
 */
export function numberAnchors(low: number, high: number, encoding: NumberEncoding): NumberAnchor[] {
  const intervals = unsignedIntervals(low, high, encoding);
  if (intervals.length === 0) return [];
  const width = widthOf(encoding);
  const unit = width === undefined ? 7n : 8n;
  const maxLow = width ?? 10;
  for (let low = 0; low < maxLow; low++) {
    const shift = unit * BigInt(low);
    let count = 0n;
    for (const [from, to] of intervals) count += (to >> shift) - (from >> shift) + 1n;
    if (count > BigInt(MAX_ANCHORS)) continue;
    const anchors: NumberAnchor[] = [];
    for (const [from, to] of intervals) {
      for (let chunk = from >> shift; chunk <= to >> shift; chunk++) {
        const first = chunk << shift > from ? chunk << shift : from;
        const bytes = unsignedBytes(first, encoding);
        if (bytes.length - low < MIN_ANCHOR) return [];
        const anchor =
          width !== undefined && bigEndian(encoding)
            ? bytes.subarray(0, bytes.length - low)
            : bytes.subarray(low);
        if (anchor.every((byte) => byte === 0 || byte === 0xff)) return [];
        anchors.push({
          anchor: Buffer.from(anchor),
          lead: width !== undefined && bigEndian(encoding) ? 0 : low,
          trail: width !== undefined && bigEndian(encoding) ? low : 0,
        });
      }
    }
    return anchors;
  }
  return [];
}

/**
 * The unsigned integers (bit patterns for floats) that encode the numbers of [low, high],
 * as increasing intervals: a range across zero is two, since a negative number's pattern is
 * not next to a positive one's.
 */
function unsignedIntervals(
  low: number,
  high: number,
  encoding: NumberEncoding,
): [bigint, bigint][] {
  const float = encoding.startsWith('float');
  const parts: [number, number][] =
    low < 0 && high >= 0
      ? [
          [low, float ? -0 : -1],
          [0, high],
        ]
      : [[low, high]];
  const intervals: [bigint, bigint][] = [];
  for (const [from, to] of parts) {
    if (float) {
      const a = floatBits(from, encoding);
      const b = floatBits(to, encoding);
      // A float32 rounds the ends: one more unit each side keeps them in.
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      intervals.push([lo > 0n ? lo - 1n : lo, hi + 1n]);
      continue;
    }
    const a = unsignedOf(BigInt(Math.ceil(from)), encoding);
    const b = unsignedOf(BigInt(Math.floor(to)), encoding);
    if (a === undefined || b === undefined) continue;
    intervals.push(a <= b ? [a, b] : [b, a]);
  }
  return intervals;
}

function floatBits(value: number, encoding: NumberEncoding): bigint {
  const bytes = encodeNumber(value, encoding.startsWith('float64') ? 'float64-be' : 'float32-be');
  return BigInt(`0x${(bytes as Buffer).toString('hex')}`);
}
