import { Output, type Decoded } from './output.ts';

// Our own decoder, not snappyjs's: snappyjs trusts the stream (it writes past a short output
// buffer silently, never checks that the output fills the length the preamble declared, and
// reads that length with 32-bit shifts that turn negative). A hostile body must come out as
// `invalid` or `overBudget`, never as bytes that only look decoded. snappyjs is kept as the
// real compressor the tests check this decoder against.

/**
 * Snappy's most expansive element is a 3-byte copy of 64 bytes: no valid block decodes to more
 * than 64/3 of its size, so a preamble declaring more is a lie, caught before allocating.
 */
const MAX_EXPANSION = 64 / 3;

/** A framed stream's chunks each hold at most 64 KiB of data (the framing format's limit). */
const FRAMED_CHUNK_MAX = 65536;

/** The framing format's stream identifier: chunk 0xff, length 6, "sNaPpY". */
export const SNAPPY_FRAMED_MAGIC = Uint8Array.of(
  0xff,
  0x06,
  0x00,
  0x00,
  0x73,
  0x4e,
  0x61,
  0x50,
  0x70,
  0x59,
);

const INVALID: Decoded = { invalid: true };
const OVER_BUDGET: Decoded = { overBudget: true };

/**
 * Undoes one raw snappy block (what Prometheus remote-write and Loki push send), strictly: the
 * preamble's length is checked against `limit` before anything is allocated, and the block is
 * taken only when it decodes to exactly that length, every copy within what was written before
 * it, every byte of the input used.
 *
 * @example
 *   snappyBlock(Uint8Array.of(0x02, 0x04, 0x68, 0x69), 100) // → { bytes: <68 69> }
 */
export function snappyBlock(input: Uint8Array, limit: number): Decoded {
  const preamble = readLength(input);
  if (!preamble) return INVALID;
  const [length, start] = preamble;
  if (length > limit) return OVER_BUDGET;
  if (length > (input.length - start) * MAX_EXPANSION) return INVALID;
  const out = Buffer.allocUnsafe(length);
  return decodeElements(input, start, out, 0, length) ? { bytes: out } : INVALID;
}

/**
 * Undoes a snappy framing-format stream: the stream identifier, then compressed (0x00) and
 * uncompressed (0x01) chunks of at most 64 KiB each, skippable chunks (0x80–0xfe) passed over,
 * reserved unskippable ones (0x02–0x7f) refused. The masked CRC-32C each data chunk carries is
 * not checked: a capture reads what the phone sent, and a body whose checksum is wrong still
 * says what it says (checking would also halve the speed).
 *
 * @example
 *   snappyFramed(Buffer.from('ff060000734e61507059' + '0106000000000000' + '6869', 'hex'), 100) // → { bytes: <68 69> }
 */
export function snappyFramed(input: Uint8Array, limit: number): Decoded {
  if (!startsWith(input, SNAPPY_FRAMED_MAGIC)) return INVALID;
  const out = new Output(limit, input.length);
  let at = 0;
  while (at < input.length) {
    if (at + 4 > input.length) return INVALID;
    const type = input[at] as number;
    const length =
      (input[at + 1] as number) |
      ((input[at + 2] as number) << 8) |
      ((input[at + 3] as number) << 16);
    const body = at + 4;
    at = body + length;
    if (at > input.length) return INVALID;
    if (type === 0xff) {
      if (!startsWith(input.subarray(body - 4), SNAPPY_FRAMED_MAGIC)) return INVALID;
      continue;
    }
    if (type >= 0x80) continue; // skippable, and 0xfe padding
    if (type > 0x01 || length < 4) return INVALID;
    // The data after the chunk's masked CRC-32C, which is not checked.
    const data = input.subarray(body + 4, at);
    if (type === 0x01) {
      if (data.length > FRAMED_CHUNK_MAX) return INVALID;
      if (!out.reserve(data.length)) return OVER_BUDGET;
      out.buffer.set(data, out.size);
      out.size += data.length;
      continue;
    }
    // Each chunk is a block of its own: its copies reach back only into its own output.
    const preamble = readLength(data);
    if (!preamble || preamble[0] > FRAMED_CHUNK_MAX) return INVALID;
    const [size, start] = preamble;
    if (!out.reserve(size)) return OVER_BUDGET;
    if (!decodeElements(data, start, out.buffer, out.size, size)) return INVALID;
    out.size += size;
  }
  return { bytes: out.result() };
}

/**
 * The length a raw snappy block declares, when it could be true of a block this size (a
 * detector that guesses a body is snappy must not report a bomb on a length no block could
 * have); undefined otherwise.
 *
 * @example
 *   plausibleSnappyLength(Uint8Array.of(0x02, 0x04, 0x68, 0x69)) // → 2
 */
export function plausibleSnappyLength(input: Uint8Array): number | undefined {
  const preamble = readLength(input);
  if (!preamble) return undefined;
  const [length, start] = preamble;
  return length > (input.length - start) * MAX_EXPANSION ? undefined : length;
}

/** The preamble: the uncompressed length as a little-endian base-128 varint below 2^32. */
function readLength(input: Uint8Array): [number, number] | undefined {
  let value = 0;
  for (let i = 0; i < 5 && i < input.length; i++) {
    const byte = input[i] as number;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return value < 2 ** 32 ? [value, i + 1] : undefined;
  }
  return undefined;
}

/** Writes the block's elements into `out[base, base + size)`; false unless they fill it exactly. */
function decodeElements(
  input: Uint8Array,
  start: number,
  out: Uint8Array,
  base: number,
  size: number,
): boolean {
  const end = input.length;
  let at = start;
  let written = 0;
  while (at < end) {
    const tag = input[at++] as number;
    const kind = tag & 0x03;
    if (kind === 0) {
      let length = (tag >>> 2) + 1;
      if (length > 60) {
        // 61–64: the length minus one follows in 1–4 little-endian bytes.
        const bytes = length - 60;
        if (at + bytes > end) return false;
        length = 0;
        for (let i = bytes - 1; i >= 0; i--) length = length * 256 + (input[at + i] as number);
        length += 1;
        at += bytes;
      }
      if (at + length > end || written + length > size) return false;
      const to = base + written;
      if (length < 16) {
        for (let i = 0; i < length; i++) out[to + i] = input[at + i] as number;
      } else {
        out.set(input.subarray(at, at + length), to);
      }
      at += length;
      written += length;
      continue;
    }
    let length: number;
    let offset: number;
    if (kind === 1) {
      if (at + 1 > end) return false;
      length = ((tag >>> 2) & 0x07) + 4;
      offset = ((tag >>> 5) << 8) | (input[at] as number);
      at += 1;
    } else if (kind === 2) {
      if (at + 2 > end) return false;
      length = (tag >>> 2) + 1;
      offset = (input[at] as number) | ((input[at + 1] as number) << 8);
      at += 2;
    } else {
      if (at + 4 > end) return false;
      length = (tag >>> 2) + 1;
      offset =
        (input[at] as number) +
        (input[at + 1] as number) * 0x100 +
        (input[at + 2] as number) * 0x10000 +
        (input[at + 3] as number) * 0x1000000;
      at += 4;
    }
    if (offset === 0 || offset > written || written + length > size) return false;
    copyBack(out, base + written, offset, length);
    written += length;
  }
  return written === size;
}

/**
 * Copies `length` bytes from `offset` back. Short copies go byte by byte (a call would cost
 * more); a long copy that overlaps itself repeats a pattern, copied in moves that double as the
 * pattern written grows (a run of 4 MiB of zeros is 22 moves, not 4 million byte copies).
 */
export function copyBack(out: Uint8Array, at: number, offset: number, length: number): void {
  const from = at - offset;
  if (length < 32) {
    for (let i = 0; i < length; i++) out[at + i] = out[from + i] as number;
    return;
  }
  let written = 0;
  while (written < length) {
    const step = Math.min(offset + written, length - written);
    out.copyWithin(at + written, from, from + step);
    written += step;
  }
}

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}
