import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { describeError } from '../errors.ts';

/**
 * A body at most this large (as it arrived) is kept in memory and then in its journal line;
 * a larger one is streamed to a file of its own as it arrives. mockttp is told the same limit
 * (`maxBodySize`), so neither holds more than this of any body.
 */
export const INLINE_BODY_LIMIT = 1024 * 1024;

/** Where large bodies are written: `<run folder>/bodies/`, created on first use (0700). */
export interface BodyStore {
  /** Creates `bodies/<name>` (0600) and returns its descriptor and its path relative to the run folder. */
  create(name: string): { fd: number; file: string };
}

/**
 * A body store in `folder` (the run folder: the journal's folder, so journal lines name body
 * files relative to it).
 *
 * @example
 *   const store = bodyStore('reports/latest');
 *   store.create('3f…-request') // → { fd: 23, file: 'bodies/3f…-request' }
 */
export function bodyStore(folder: string): BodyStore {
  const dir = join(folder, 'bodies');
  let made = false;
  return {
    create(name) {
      if (!made) {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        made = true;
      }
      return { fd: openSync(join(dir, name), 'wx', 0o600), file: `bodies/${name}` };
    },
  };
}

/** What a body came to once its stream ended. */
export type TappedBody =
  | { bytes: Buffer; complete: boolean; problem?: string }
  | { file: string; size: number; complete: boolean; problem?: string };

/**
 * One body as it streams by: held in memory up to `limit` bytes, then spilled to a file in the
 * store and appended there, so memory stays bounded whatever its size. A write that fails (a full
 * disk) is told as the body's `problem`, and the capture goes on.
 */
export class BodySink {
  private readonly store: BodyStore;
  private readonly name: string;
  private readonly limit: number;
  private chunks: Buffer[] = [];
  private size = 0;
  private fd: number | undefined;
  private file: string | undefined;
  private problem: string | undefined;
  private result: TappedBody | undefined;
  private readonly waiting: ((body: TappedBody) => void)[] = [];

  constructor(store: BodyStore, name: string, limit = INLINE_BODY_LIMIT) {
    this.store = store;
    this.name = name;
    this.limit = limit;
  }

  /** What the body came to, once it ended. */
  get outcome(): TappedBody | undefined {
    return this.result;
  }

  /** Why the body could not be (fully) kept, if it could not. */
  get trouble(): string | undefined {
    return this.problem;
  }

  /** Bytes seen so far. */
  get received(): number {
    return this.size;
  }

  write(chunk: Buffer): void {
    if (this.result || chunk.length === 0) return;
    this.size += chunk.length;
    if (this.problem) return;
    if (this.fd === undefined && this.size <= this.limit) {
      this.chunks.push(chunk);
      return;
    }
    this.spill();
    this.append(chunk);
  }

  /** The body ended (`complete`) or its stream closed before it did. Later calls change nothing. */
  end(complete: boolean): void {
    if (this.result) return;
    if (this.fd !== undefined) {
      try {
        fsyncSync(this.fd);
      } catch (error) {
        this.problem ??= `the body file could not be flushed: ${describeError(error)}`;
      }
      closeSync(this.fd);
      this.fd = undefined;
    }
    const problem = this.problem ? { problem: this.problem } : {};
    this.result =
      this.file !== undefined
        ? { file: this.file, size: this.size, complete, ...problem }
        : { bytes: Buffer.concat(this.chunks), complete, ...problem };
    this.chunks = [];
    for (const resolve of this.waiting.splice(0)) resolve(this.result);
  }

  /** Resolves once the body ended. */
  finished(): Promise<TappedBody> {
    if (this.result) return Promise.resolve(this.result);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /**
   * Where the body stands now, for a request journaled while its body still arrives (a
   * pass-through upload): what is held so far goes to its file, which the body goes on filling.
   */
  sofar(): { file: string; size: number } | undefined {
    if (this.result || this.problem) return undefined;
    this.spill();
    return this.file === undefined ? undefined : { file: this.file, size: this.size };
  }

  private spill(): void {
    if (this.fd !== undefined || this.problem) return;
    try {
      const created = this.store.create(this.name);
      this.fd = created.fd;
      this.file = created.file;
    } catch (error) {
      this.problem = `the body could not be written to a file: ${describeError(error)}`;
      this.chunks = [];
      return;
    }
    const held = this.chunks;
    this.chunks = [];
    for (const chunk of held) this.append(chunk);
  }

  private append(chunk: Buffer): void {
    if (this.fd === undefined) return;
    try {
      let written = 0;
      while (written < chunk.length) written += writeSync(this.fd, chunk, written);
    } catch (error) {
      this.problem = `the body file stopped being written after a write failed: ${describeError(error)}`;
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

type Emit = (event: string | symbol, ...args: unknown[]) => boolean;
type Write = (chunk: unknown, ...rest: unknown[]) => boolean;

/**
 * Records a request's body and its response's body as they stream through mockttp, without
 * changing how mockttp reads or writes them:
 * - the request's `emit` is wrapped, so each `data` chunk is seen exactly as mockttp's own
 *   readers see it (adding a `data` listener instead would start the stream flowing before
 *   mockttp's readers are attached, and they would miss its first bytes);
 * - the response's `write` and `end` are wrapped outside mockttp's own wrappers, so what a
 *   handler writes (a canned answer, a pass-through download) is seen on its way to the phone.
 *
 * @example
 *   tapExchange(request, response, sinkFor(id, 'request'), sinkFor(id, 'response'));
 */
export function tapExchange(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  requestSink: BodySink,
  responseSink: BodySink,
): void {
  const request = incoming as unknown as { emit: Emit };
  const response = outgoing as unknown as { write: Write; end: Write };
  const emit = request.emit;
  request.emit = function (this: unknown, event, ...args) {
    try {
      if (event === 'data') requestSink.write(asBuffer(args[0], undefined));
      else if (event === 'end') requestSink.end(true);
      else if (event === 'aborted' || event === 'error' || event === 'close')
        requestSink.end(false);
    } catch {
      // Recording never gets in the way of the traffic itself.
    }
    return emit.call(this, event, ...args);
  };
  const write = response.write;
  const end = response.end;
  response.write = function (this: unknown, chunk, ...rest) {
    record(chunk, rest[0]);
    return write.call(this, chunk, ...rest);
  };
  response.end = function (this: unknown, chunk, ...rest) {
    if (typeof chunk !== 'function') record(chunk, rest[0]);
    const result = end.call(this, chunk, ...rest);
    responseSink.end(true);
    return result;
  };
  outgoing.once('close', () => responseSink.end(false));
  function record(chunk: unknown, encoding: unknown) {
    try {
      if (chunk !== undefined && chunk !== null) responseSink.write(asBuffer(chunk, encoding));
    } catch {
      // As above: a chunk that cannot be read as bytes is the handler's problem, not ours.
    }
  }
}

function asBuffer(chunk: unknown, encoding: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string')
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  return Buffer.alloc(0);
}
