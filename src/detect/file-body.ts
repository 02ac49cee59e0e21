import { createReadStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress as ZstdStream } from 'fzstd';
import { contentCodings, decode, MAX_DECODED, type Compression } from '../codec/compression.ts';
import { describeError } from '../errors.ts';
import type { FileBody } from '../types.ts';

/** A body that decodes to at most this much is read whole and scanned like any other body. */
export const WHOLE_BODY_LIMIT = MAX_DECODED;

/**
 * Larger bodies are scanned in windows of this size, each overlapping the one before by
 * `WINDOW_OVERLAP`: any run of at most `WINDOW_OVERLAP` bytes (an identifier in any of its forms,
 * a base64 or JWT blob of up to 1 MiB) lies whole inside at least one window, so a value across a
 * window's edge is found.
 */
export const WINDOW_SIZE = 16 * 1024 * 1024;
export const WINDOW_OVERLAP = 1024 * 1024;

/**
 * A streamed body decodes to at most this many times its size (and never less than
 * MAX_DECODED): real content-encodings compress a few times to a few dozen times; a bomb
 * compresses thousands of times.
 */
export const STREAM_DECODE_RATIO = 32;

export interface Windowing {
  whole: number;
  window: number;
  overlap: number;
}

export const DEFAULT_WINDOWING: Windowing = {
  whole: WHOLE_BODY_LIMIT,
  window: WINDOW_SIZE,
  overlap: WINDOW_OVERLAP,
};

/** A file body as the detector sees it: whole (small enough), or in overlapping windows. */
export type LoadedBody =
  | { whole: Buffer; decodeError?: string; unscanned: string[] }
  | {
      windows: AsyncGenerator<{ bytes: Buffer; start: number }>;
      /** Filled in as the windows are read: what could not be decoded or read. */
      unscanned: string[];
      decodeError?: string;
    };

/**
 * Reads a body kept in a file, undoing its content-encoding as a stream within a size and ratio
 * budget. What the budget, a broken encoding or a read error stop it from reading is told in
 * `unscanned`; nothing is skipped silently.
 *
 * @example
 *   const loaded = await loadFileBody(body, 'gzip');
 *   if ('whole' in loaded) scan(loaded.whole); else for await (const w of loaded.windows) scan(w.bytes);
 */
export async function loadFileBody(
  body: FileBody,
  contentEncoding: string | undefined,
  windowing: Windowing = DEFAULT_WINDOWING,
): Promise<LoadedBody> {
  const unscanned: string[] = [];
  const listed = contentCodings(contentEncoding);
  const unknown = listed.find(([, compression]) => !compression)?.[0];
  // As for a body in a journal line: an encoding that cannot be undone leaves the raw bytes,
  // which are scanned as they are.
  const decodeError = unknown ? `unknown content-encoding '${unknown}'` : undefined;
  const budget = Math.max(MAX_DECODED, STREAM_DECODE_RATIO * body.size);
  const steps = unknown ? [] : (listed as [string, Compression][]);
  const chunks = decodedChunks(body, steps, budget, unscanned);
  const head: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await chunks.next();
    if (next.done) {
      return { whole: Buffer.concat(head), unscanned, ...(decodeError ? { decodeError } : {}) };
    }
    head.push(next.value);
    size += next.value.length;
    if (size > windowing.whole) break;
  }
  return {
    windows: windowsOf(head, chunks, windowing),
    unscanned,
    ...(decodeError ? { decodeError } : {}),
  };
}

/** The file's bytes, content-encoding undone; stops (and says so) at the budget or an error. */
async function* decodedChunks(
  body: FileBody,
  steps: [string, Compression][],
  budget: number,
  unscanned: string[],
): AsyncGenerator<Buffer> {
  const codings = steps.map(([coding]) => coding);
  let stream: Readable = createReadStream(body.file, { highWaterMark: 1024 * 1024 });
  for (const [, compression] of steps) stream = stream.pipe(decoder(compression, budget));
  let decoded = 0;
  try {
    for await (const chunk of stream) {
      const bytes = chunk as Buffer;
      if (decoded + bytes.length > budget) {
        if (budget > decoded) yield bytes.subarray(0, budget - decoded);
        unscanned.push(
          `${codings.join(' of ')} body decoding past ${budget} bytes (${STREAM_DECODE_RATIO}× its ${body.size} bytes: a decompression bomb?): the rest was not scanned`,
        );
        return;
      }
      decoded += bytes.length;
      yield bytes;
    }
  } catch (error) {
    unscanned.push(
      error instanceof WholeBodyError
        ? error.message
        : codings.length > 0 && decoded > 0
          ? `the ${codings.join(', ')} content-encoding broke after ${decoded} decoded bytes: the rest was not scanned`
          : codings.length > 0
            ? `the ${codings.join(', ')} content-encoding could not be undone: the body was not scanned`
            : `the body file could not be read: ${describeError(error)}`,
    );
  } finally {
    stream.destroy();
  }
}

function decoder(compression: Compression, budget: number): Transform {
  switch (compression) {
    case 'gzip':
      return zlib.createGunzip();
    case 'deflate':
      return inflateEitherWay();
    case 'br':
      return zlib.createBrotliDecompress();
    case 'zstd':
      return zstdStream();
    case 'snappy':
    case 'snappy-framed':
    case 'lz4':
      return decodedWhole(compression, budget);
  }
}

/**
 * Snappy and LZ4 bodies this large are rare (remote-write and log batches are kilobytes): they
 * are read whole, up to this much, and decoded in one go within the budget, rather than through
 * a streaming decoder of their own. A raw snappy block cannot be streamed anyway: a copy may
 * reach back to any byte before it.
 */
export const WHOLE_DECODE_INPUT_MAX = MAX_DECODED;

/** What `decodedWhole` could not do, said as it goes into the body's unscanned notes. */
class WholeBodyError extends Error {}

/** Collects the body, then decodes it whole (see WHOLE_DECODE_INPUT_MAX). */
function decodedWhole(compression: Compression, budget: number): Transform {
  const chunks: Buffer[] = [];
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > WHOLE_DECODE_INPUT_MAX) {
        done(
          new WholeBodyError(
            `${compression} body over ${WHOLE_DECODE_INPUT_MAX} bytes is not decoded: the body was not scanned`,
          ),
        );
        return;
      }
      chunks.push(chunk);
      done();
    },
    flush(done) {
      const result = decode(Buffer.concat(chunks, size), compression, budget);
      if ('invalid' in result) {
        done(
          new WholeBodyError(
            `the ${compression} content-encoding could not be undone: the body was not scanned`,
          ),
        );
        return;
      }
      if ('overBudget' in result) {
        done(
          new WholeBodyError(
            `${compression} body decoding past ${budget} bytes (a decompression bomb?): the body was not scanned`,
          ),
        );
        return;
      }
      const bytes = result.bytes;
      const piece = 1024 * 1024;
      for (let at = 0; at < bytes.length; at += piece) {
        this.push(
          Buffer.from(bytes.buffer, bytes.byteOffset + at, Math.min(piece, bytes.length - at)),
        );
      }
      done();
    },
  });
}

/** "deflate" in HTTP is zlib-wrapped, but some servers send raw deflate: the first byte tells. */
function inflateEitherWay(): Transform {
  let inner: zlib.Inflate | zlib.InflateRaw | undefined;
  const outer = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (!inner) {
        const first = chunk[0] ?? 0;
        inner = (first & 0x0f) === 8 ? zlib.createInflate() : zlib.createInflateRaw();
        inner.on('data', (data: Buffer) => outer.push(data));
        inner.on('error', (error) => outer.destroy(error));
      }
      if (inner.write(chunk)) done();
      else inner.once('drain', () => done());
    },
    flush(done) {
      if (!inner) return done();
      inner.once('end', () => done());
      inner.end();
    },
  });
  return outer;
}

/** fzstd's push decoder as a stream (Node 20 has no zstd of its own). */
function zstdStream(): Transform {
  let push: (chunk: Uint8Array) => void = () => undefined;
  const zstd = new ZstdStream((chunk) => push(chunk));
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      push = (data) => this.push(Buffer.from(data.buffer, data.byteOffset, data.length));
      try {
        zstd.push(chunk);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done) {
      push = (data) => this.push(Buffer.from(data.buffer, data.byteOffset, data.length));
      try {
        zstd.push(new Uint8Array(0), true);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
}

/**
 * Overlapping windows over a stream of chunks: each `window` bytes long (the last may be
 * shorter), each starting `window - overlap` bytes after the one before.
 */
export async function* windowsOf(
  head: Buffer[],
  rest: AsyncIterator<Buffer>,
  { window, overlap }: Windowing,
): AsyncGenerator<{ bytes: Buffer; start: number }> {
  if (overlap >= window) throw new RangeError(`window overlap ${overlap} must be under ${window}`);
  let held: Buffer[] = [...head];
  let heldSize = held.reduce((sum, chunk) => sum + chunk.length, 0);
  let start = 0;
  /** Bytes at the front of `held` that a window yielded already (the overlap carried over). */
  let seen = 0;
  for (;;) {
    while (heldSize >= window) {
      const all = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held, heldSize);
      yield { bytes: all.subarray(0, window), start };
      start += window - overlap;
      held = [all.subarray(window - overlap)];
      heldSize = heldSize - (window - overlap);
      seen = overlap;
    }
    const next = await rest.next();
    if (next.done) break;
    held.push(next.value);
    heldSize += next.value.length;
  }
  if (heldSize > seen) yield { bytes: Buffer.concat(held, heldSize), start };
}
