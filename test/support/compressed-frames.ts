// Snappy framing-format streams and LZ4 frames with every header option, built around the real
// block compressors (snappyjs, lz4js) the way the reference tools lay them out: lz4js writes
// only one kind of frame, and snappyjs no framing at all.
import { compress as snappyBlock } from 'snappyjs';
import { compressBlock, compressBound } from 'lz4js';
import { hash as xxh32 } from 'lz4js/xxh32.js';

/** CRC-32C (Castagnoli), which the snappy framing format masks into every data chunk. */
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function maskedCrc(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

function chunk(type: number, body: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header[0] = type;
  header.writeUIntLE(body.length, 1, 3);
  return Buffer.concat([header, body]);
}

export const SNAPPY_STREAM_IDENTIFIER = Buffer.from('ff060000734e61507059', 'hex');

/**
 * A snappy framing-format stream: the stream identifier, then one chunk per 64 KiB of data,
 * compressed with snappyjs, or stored when `stored` says so or compressing does not pay.
 */
export function snappyFramed(
  data: Uint8Array,
  options: { stored?: boolean; padding?: boolean } = {},
): Buffer {
  const chunks: Buffer[] = [SNAPPY_STREAM_IDENTIFIER];
  for (let at = 0; at < data.length; at += 65536) {
    const piece = data.subarray(at, at + 65536);
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(maskedCrc(piece));
    const compressed = snappyBlock(Buffer.from(piece));
    const store = options.stored || compressed.length >= piece.length;
    chunks.push(chunk(store ? 0x01 : 0x00, Buffer.concat([crc, store ? piece : compressed])));
    if (options.padding) chunks.push(chunk(0xfe, Buffer.alloc(7)));
  }
  return Buffer.concat(chunks);
}

export interface Lz4Options {
  /** 4 (64 KiB) to 7 (4 MiB), as in the frame descriptor. */
  blockSizeId?: 4 | 5 | 6 | 7;
  independent?: boolean;
  contentSize?: boolean;
  blockChecksum?: boolean;
  contentChecksum?: boolean;
}

/** An LZ4 frame of `data` with the given header options; blocks by lz4js's compressor. */
export function lz4Frame(data: Uint8Array, options: Lz4Options = {}): Buffer {
  const sizeId = options.blockSizeId ?? 4;
  const blockMax = 1 << (8 + 2 * sizeId);
  const flags =
    0x40 |
    (options.independent ? 0x20 : 0) |
    (options.blockChecksum ? 0x10 : 0) |
    (options.contentSize ? 0x08 : 0) |
    (options.contentChecksum ? 0x04 : 0);
  const descriptor = [flags, sizeId << 4];
  if (options.contentSize) {
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(data.length));
    descriptor.push(...size);
  }
  const header = Buffer.from(descriptor);
  const parts: Buffer[] = [
    Buffer.from('04224d18', 'hex'),
    header,
    Buffer.of((xxh32(0, header, 0, header.length) >>> 8) & 0xff),
  ];
  // One hash table over the whole input lets lz4js match into earlier blocks: linked blocks.
  let table = new Uint32Array(1 << 16);
  const scratch = new Uint8Array(compressBound(blockMax));
  for (let at = 0; at < data.length; at += blockMax) {
    const length = Math.min(blockMax, data.length - at);
    if (options.independent) table = new Uint32Array(1 << 16);
    const size = compressBlock(data, scratch, at, length, table);
    const stored = size === 0 || size >= length;
    const body = stored ? data.subarray(at, at + length) : scratch.subarray(0, size);
    const word = Buffer.alloc(4);
    word.writeUInt32LE(((stored ? 0x80000000 : 0) | body.length) >>> 0);
    parts.push(word, Buffer.from(body));
    if (options.blockChecksum) {
      const sum = Buffer.alloc(4);
      sum.writeUInt32LE(xxh32(0, body, 0, body.length));
      parts.push(sum);
    }
  }
  parts.push(Buffer.alloc(4));
  if (options.contentChecksum) {
    const sum = Buffer.alloc(4);
    sum.writeUInt32LE(xxh32(0, data, 0, data.length));
    parts.push(sum);
  }
  return Buffer.concat(parts);
}

/** A legacy LZ4 frame (`lz4 -l`): 8 MiB independent blocks, each after its 32-bit size. */
export function lz4LegacyFrame(data: Uint8Array): Buffer {
  const parts: Buffer[] = [Buffer.from('02214c18', 'hex')];
  const blockMax = 8 * 1024 * 1024;
  const scratch = new Uint8Array(compressBound(blockMax));
  for (let at = 0; at < data.length; at += blockMax) {
    const length = Math.min(blockMax, data.length - at);
    const size = compressBlock(data, scratch, at, length, new Uint32Array(1 << 16));
    // lz4js gives up (0) on bytes it cannot compress; the legacy format has no stored blocks, so
    // such a block is one run of literals, as the lz4 tool writes it.
    const body =
      size > 0 ? scratch.subarray(0, size) : literalsOnly(data.subarray(at, at + length));
    const word = Buffer.alloc(4);
    word.writeUInt32LE(body.length);
    parts.push(word, Buffer.from(body));
  }
  return Buffer.concat(parts);
}

/** An LZ4 block of one sequence: all of `data` as literals. */
function literalsOnly(data: Uint8Array): Buffer {
  if (data.length < 15) return Buffer.concat([Buffer.of(data.length << 4), data]);
  const length: number[] = [];
  let rest = data.length - 15;
  for (; rest >= 255; rest -= 255) length.push(255);
  length.push(rest);
  return Buffer.concat([Buffer.of(0xf0, ...length), data]);
}

/**
 * An LZ4 frame of `blocks` × 4 MiB of zeros, each block the same ~16 KB compressed block:
 * 80 MiB in ~330 KB for 20 (a bomb), without compressing 80 MiB in the test.
 */
export function lz4ZeroBomb(blocks: number): Buffer {
  const zeros = new Uint8Array(4 * 1024 * 1024);
  const scratch = new Uint8Array(compressBound(zeros.length));
  const size = compressBlock(zeros, scratch, 0, zeros.length, new Uint32Array(1 << 16));
  const word = Buffer.alloc(4);
  word.writeUInt32LE(size);
  const block = Buffer.concat([word, scratch.subarray(0, size)]);
  const header = Buffer.of(0x60, 0x70);
  const check = Buffer.of((xxh32(0, header, 0, header.length) >>> 8) & 0xff);
  return Buffer.concat([
    Buffer.from('04224d18', 'hex'),
    header,
    check,
    ...Array<Buffer>(blocks).fill(block),
    Buffer.alloc(4),
  ]);
}
