import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { Decompress as ZstdStream } from 'fzstd';
import { lz4Frames } from './lz4.ts';
import type { Decoded } from './output.ts';
import { SNAPPY_FRAMED_MAGIC, snappyBlock, snappyFramed, startsWith } from './snappy.ts';

/**
 * The decoding budget: a body decoded past this size is not decoded further — a zip bomb (1.7 KB
 * of brotli inflating to 1 GB) must not take the capture or the scan down.
 */
export const MAX_DECODED = 64 * 1024 * 1024;

/**
 * What the detector and the capture undo. `snappy` is one raw snappy block (Prometheus
 * remote-write's `Content-Encoding: snappy`, Loki push), `snappy-framed` the snappy framing
 * format, `lz4` LZ4 frames (and the legacy frame format).
 */
export type Compression = 'gzip' | 'deflate' | 'br' | 'zstd' | 'snappy' | 'snappy-framed' | 'lz4';

const CODINGS: Record<string, Compression | undefined> = {
  gzip: 'gzip',
  'x-gzip': 'gzip',
  deflate: 'deflate',
  br: 'br',
  zstd: 'zstd',
  snappy: 'snappy',
  'x-snappy': 'snappy',
  // The framing format's own name for itself (framing_format.txt suggests x-snappy-framed).
  'x-snappy-framed': 'snappy-framed',
  'snappy-framed': 'snappy-framed',
  lz4: 'lz4',
  'x-lz4': 'lz4',
};

/**
 * A Content-Encoding list ("gzip", "deflate, gzip") in the order to undo it, last applied first;
 * each coding with the compression it names, or undefined for one this does not know.
 *
 * @example
 *   contentCodings('deflate, GZIP') // → [['gzip', 'gzip'], ['deflate', 'deflate']]
 */
export function contentCodings(header: string | undefined): [string, Compression | undefined][] {
  return (header ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity')
    .reverse()
    .map((coding) => [coding, codingNamed(coding)]);
}

/** The compression a coding names ("x-gzip" → gzip); never an Object.prototype member. */
function codingNamed(coding: string): Compression | undefined {
  return Object.hasOwn(CODINGS, coding) ? CODINGS[coding] : undefined;
}

/**
 * The compression a body declares or starts with. gzip, zlib, zstd, LZ4 frames and the snappy
 * framing format carry magic bytes; brotli and raw snappy have none, so they are only tried when
 * declared (raw snappy also where a protobuf body is snappy by convention: see the detector's
 * snappy decoder). A body declared snappy that starts with the framing format's stream
 * identifier is framed: senders name both "snappy".
 *
 * @example
 *   sniffCompression(gzipSync('hi')) // → 'gzip'
 *   sniffCompression(Buffer.from('04224d18', 'hex')) // → 'lz4'
 */
export function sniffCompression(bytes: Uint8Array, declared?: string): Compression | undefined {
  const named = declared === undefined ? undefined : codingNamed(declared);
  if (named === 'snappy' && startsWith(bytes, SNAPPY_FRAMED_MAGIC)) return 'snappy-framed';
  if (named) return named;
  const [a, b, c, d] = bytes;
  if (a === 0x1f && b === 0x8b && c === 0x08) return 'gzip';
  if (a === 0x28 && b === 0xb5 && c === 0x2f && d === 0xfd) return 'zstd';
  // LZ4 frame (04 22 4d 18) and legacy frame (02 21 4c 18) magic, little-endian.
  if (a === 0x04 && b === 0x22 && c === 0x4d && d === 0x18) return 'lz4';
  if (a === 0x02 && b === 0x21 && c === 0x4c && d === 0x18) return 'lz4';
  if (startsWith(bytes, SNAPPY_FRAMED_MAGIC)) return 'snappy-framed';
  // A zlib header: deflate method, and the two bytes a multiple of 31 (RFC 1950).
  if (
    a !== undefined &&
    b !== undefined &&
    (a & 0x0f) === 8 &&
    a >> 4 <= 7 &&
    ((a << 8) | b) % 31 === 0
  ) {
    return 'deflate';
  }
  return undefined;
}

/**
 * zlib's output buffer: with its default of 16 KB, a 300 KB JSON body took 20 calls into zlib and
 * a copy to join them; 256 KB inflated such bodies ~35% faster (CPU time, best of 15 here).
 */
const OUTPUT_CHUNK = 256 * 1024;

type ZstdSync = (buffer: Uint8Array, options?: { maxOutputLength?: number }) => Buffer;
/** Node has zstd from 22.15 on; on Node 20 the pure-JS fzstd decodes it. */
const nodeZstd = (zlib as unknown as { zstdDecompressSync?: ZstdSync }).zstdDecompressSync;

export type { Decoded } from './output.ts';

/**
 * Undoes one compression within the decoding budget: MAX_DECODED, or less when the caller has
 * less left (the detector's budget per exchange).
 *
 * @example
 *   decode(gzipSync('hi'), 'gzip') // → { bytes: <68 69> }
 */
export function decode(bytes: Uint8Array, compression: Compression, limit = MAX_DECODED): Decoded {
  const options = {
    maxOutputLength: limit,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
    chunkSize: OUTPUT_CHUNK,
  };
  try {
    switch (compression) {
      case 'gzip':
        return { bytes: gunzipSync(bytes, options) };
      case 'deflate':
        // "deflate" in HTTP is zlib-wrapped, but some servers send raw deflate.
        try {
          return { bytes: inflateSync(bytes, options) };
        } catch (error) {
          if (isOverBudget(error)) throw error;
          return { bytes: inflateRawSync(bytes, options) };
        }
      case 'br':
        return {
          bytes: brotliDecompressSync(bytes, {
            maxOutputLength: limit,
            chunkSize: OUTPUT_CHUNK,
          }),
        };
      case 'zstd':
        return {
          bytes: nodeZstd ? nodeZstd(bytes, { maxOutputLength: limit }) : zstdWithin(bytes, limit),
        };
      // Our own decoders (src/codec/snappy.ts, lz4.ts) never throw and check the budget before
      // allocating what a header declares.
      case 'snappy':
        // A body declared raw snappy may still be framed: both go by "snappy".
        return startsWith(bytes, SNAPPY_FRAMED_MAGIC)
          ? snappyFramed(bytes, limit)
          : snappyBlock(bytes, limit);
      case 'snappy-framed':
        return snappyFramed(bytes, limit);
      case 'lz4':
        return lz4Frames(bytes, limit);
    }
  } catch (error) {
    return isOverBudget(error) ? { overBudget: true } : { invalid: true };
  }
}

class OverBudget extends RangeError {
  readonly code = 'ERR_BUFFER_TOO_LARGE';
}

function isOverBudget(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ERR_BUFFER_TOO_LARGE';
}

/** fzstd's stream, counted: it stops at the budget instead of allocating what a frame claims. */
function zstdWithin(bytes: Uint8Array, limit: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const stream = new ZstdStream((chunk) => {
    size += chunk.length;
    if (size > limit) throw new OverBudget(`zstd output over ${limit} bytes`);
    chunks.push(chunk);
  });
  stream.push(bytes, true);
  return Buffer.concat(chunks);
}
