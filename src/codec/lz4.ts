import { Output, type Decoded } from './output.ts';
import { copyBack } from './snappy.ts';

// Our own decoder, not lz4js's: lz4js reads a block without bounds (a literal run or a copy past
// the input or before the output reads `undefined` as 0 and goes on), allocates what its bound
// estimate says, and skips the content size. A hostile frame must come out as `invalid` or
// `overBudget`. lz4js is kept as the real compressor the tests check this decoder against.

const FRAME_MAGIC = 0x184d2204;
const LEGACY_MAGIC = 0x184c2102;
/** Skippable frames use the 16 magic numbers 0x184D2A50–0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

/** A legacy frame's blocks each decode to at most 8 MiB; compressed, to at most its bound. */
const LEGACY_BLOCK_MAX = 8 * 1024 * 1024;
const LEGACY_COMPRESSED_MAX = LEGACY_BLOCK_MAX + LEGACY_BLOCK_MAX / 255 + 16;

/** Every match is at least this long; the token stores the length minus it. */
const MIN_MATCH = 4;

const INVALID: Decoded = { invalid: true };
const OVER_BUDGET: Decoded = { overBudget: true };

/**
 * Undoes LZ4 frames (magic 04 22 4d 18), legacy frames (02 21 4c 18) and skippable frames, one
 * after another as the lz4 tool writes them. A declared content size is checked against `limit`
 * before anything is decoded, and must match what the frame decodes to; every block must stay
 * within the frame's block size, every match within the block (independent blocks) or the frame.
 * The header, block and content checksums are not checked: a body whose checksum is wrong still
 * says what it says, and a leak is reported either way.
 *
 * @example
 *   lz4Frames(Buffer.from('04224d18' + '6040' + '82' + '00000000', 'hex'), 100) // → { bytes: <> } (an empty frame)
 */
export function lz4Frames(input: Uint8Array, limit: number): Decoded {
  const out = new Output(limit, input.length);
  let at = 0;
  while (at < input.length) {
    if (at + 4 > input.length) return INVALID;
    const magic = readU32(input, at);
    let next: number | Decoded;
    if (magic === FRAME_MAGIC) next = frame(input, at + 4, out);
    else if (magic === LEGACY_MAGIC) next = legacyFrame(input, at + 4, out);
    else if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (at + 8 > input.length) return INVALID;
      next = at + 8 + readU32(input, at + 4);
      if (next > input.length) return INVALID;
    } else return INVALID;
    if (typeof next !== 'number') return next;
    at = next;
  }
  return { bytes: out.result() };
}

/** One frame after its magic; the position after it, or why it cannot be decoded. */
function frame(input: Uint8Array, start: number, out: Output): number | Decoded {
  if (start + 3 > input.length) return INVALID;
  const flags = input[start] as number;
  const descriptor = input[start + 1] as number;
  // Version 01, reserved bits zero, a block size of 64 KiB (4) to 4 MiB (7).
  if (flags >>> 6 !== 1 || (flags & 0x02) !== 0 || (descriptor & 0x8f) !== 0) return INVALID;
  const sizeId = (descriptor >>> 4) & 0x07;
  if (sizeId < 4) return INVALID;
  const blockMax = 1 << (8 + 2 * sizeId);
  const independent = (flags & 0x20) !== 0;
  const blockChecksum = (flags & 0x10) !== 0;
  const hasContentSize = (flags & 0x08) !== 0;
  const contentChecksum = (flags & 0x04) !== 0;
  // A dictionary's bytes are not in the body: matches into it cannot be undone.
  if ((flags & 0x01) !== 0) return INVALID;
  let at = start + 2;
  let contentSize: number | undefined;
  if (hasContentSize) {
    if (at + 9 > input.length) return INVALID;
    contentSize = readU32(input, at) + readU32(input, at + 4) * 2 ** 32;
    if (contentSize > out.limit - out.size) return OVER_BUDGET;
    at += 8;
  }
  at += 1; // the header checksum
  const frameStart = out.size;
  for (;;) {
    if (at + 4 > input.length) return INVALID;
    const word = readU32(input, at);
    at += 4;
    if (word === 0) break;
    const stored = word >>> 31 === 1;
    const length = word & 0x7fffffff;
    if (length > blockMax || at + length > input.length) return INVALID;
    const blockStart = out.size;
    if (stored) {
      if (!out.reserve(length)) return OVER_BUDGET;
      out.buffer.set(input.subarray(at, at + length), out.size);
      out.size += length;
    } else {
      const result = block(
        input,
        at,
        at + length,
        out,
        independent ? blockStart : frameStart,
        blockStart + blockMax,
      );
      if (result) return result;
    }
    at += length + (blockChecksum ? 4 : 0);
  }
  if (contentChecksum) at += 4;
  if (at > input.length) return INVALID;
  if (contentSize !== undefined && out.size - frameStart !== contentSize) return INVALID;
  return at;
}

/** A legacy frame's blocks: each a 32-bit size and an independent block, until a magic or the end. */
function legacyFrame(input: Uint8Array, start: number, out: Output): number | Decoded {
  let at = start;
  while (at < input.length) {
    if (at + 4 > input.length) return INVALID;
    const length = readU32(input, at);
    if (
      length === FRAME_MAGIC ||
      length === LEGACY_MAGIC ||
      (length & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC
    ) {
      return at;
    }
    at += 4;
    if (length > LEGACY_COMPRESSED_MAX || at + length > input.length) return INVALID;
    const blockStart = out.size;
    const result = block(input, at, at + length, out, blockStart, blockStart + LEGACY_BLOCK_MAX);
    if (result) return result;
    at += length;
  }
  return at;
}

/**
 * One compressed block into `out`: sequences of literals and a match, the last one literals
 * only. Matches reach back no further than `history`; the block ends no later than `ceiling`.
 * Undefined when it decoded, else why not.
 */
function block(
  input: Uint8Array,
  start: number,
  end: number,
  out: Output,
  history: number,
  ceiling: number,
): Decoded | undefined {
  let at = start;
  for (;;) {
    if (at >= end) return INVALID;
    const token = input[at++] as number;
    let literals = token >>> 4;
    if (literals === 15) {
      let byte: number;
      do {
        if (at >= end) return INVALID;
        byte = input[at++] as number;
        literals += byte;
      } while (byte === 255);
    }
    if (at + literals > end || out.size + literals > ceiling) return INVALID;
    if (!out.reserve(literals)) return OVER_BUDGET;
    const buffer = out.buffer;
    if (literals < 16) {
      for (let i = 0; i < literals; i++) buffer[out.size + i] = input[at + i] as number;
    } else {
      buffer.set(input.subarray(at, at + literals), out.size);
    }
    out.size += literals;
    at += literals;
    if (at === end) return undefined;
    if (at + 2 > end) return INVALID;
    const offset = (input[at] as number) | ((input[at + 1] as number) << 8);
    at += 2;
    if (offset === 0 || offset > out.size - history) return INVALID;
    let length = token & 0x0f;
    if (length === 15) {
      let byte: number;
      do {
        if (at >= end) return INVALID;
        byte = input[at++] as number;
        length += byte;
      } while (byte === 255);
    }
    length += MIN_MATCH;
    if (out.size + length > ceiling) return INVALID;
    if (!out.reserve(length)) return OVER_BUDGET;
    copyBack(out.buffer, out.size, offset, length);
    out.size += length;
  }
}

function readU32(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] as number) |
      ((bytes[at + 1] as number) << 8) |
      ((bytes[at + 2] as number) << 16) |
      ((bytes[at + 3] as number) << 24)) >>>
    0
  );
}
