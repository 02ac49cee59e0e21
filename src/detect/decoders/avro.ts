import { decompressWithin } from '../decode-budget.ts';
import type { Decoder } from '../decoder.ts';
import type { Child } from '../part.ts';
import { decodedFrom } from './make-child.ts';
import { protobufFields } from './protobuf.ts';
import {
  isTextValue,
  MAX_ITEMS,
  structureChildren,
  type StructureValue,
  type StructureWalk,
} from './structure-values.ts';
import { readVarint } from './protobuf.ts';

const MEDIA_TYPES = new Set([
  'avro/binary',
  'application/avro',
  'application/x-avro-binary',
  'application/vnd.apache.avro+binary',
]);
/** An Avro object container file starts "Obj" 1; its header names the codec of its blocks. */
const MAGIC = [0x4f, 0x62, 0x6a, 0x01];
const SYNC = 16;
/**
 * Shorter strings are not told apart from numbers: a long of 3 (zigzag 6) followed by three
 * printable bytes reads as a string as well as anything.
 */
const MIN_STRING = 3;
/** Undeclared, what share of the bytes strings must fill to be Avro rather than chance. */
const MIN_STRING_SHARE = 0.4;
const MIN_UNDECLARED_STRINGS = 2;
/** Undeclared bodies past this size are media or archives, not one telemetry record. */
const MAX_UNDECLARED = 1024 * 1024;
/** Declared Avro is walked this far: the walk keeps 4 bytes a byte of it. */
const MAX_WALK = 8 * 1024 * 1024;

/**
 * The strings of Avro binary data without its schema, in order, named by position ("[0]", "[1]":
 * Avro writes no field names). Avro writes a record's fields back to back: numbers as zigzag
 * varints, floats and doubles as 4 and 8 bytes, strings and bytes as a zigzag length and the
 * bytes. Without the schema the walk tries a string at each byte (an even zigzag length of at
 * least MIN_STRING, then that many bytes of UTF-8 text) and keeps it only where a field ends
 * after it: the data ends, a byte that is not text, another string, or one small number and then
 * one of those, or less text than the string and at most 8 bytes of it (a number or a double).
 * Where text goes on, the "length" was a byte inside other data, e.g. a protobuf length read as
 * zigzag. Bytes values are not told apart from numbers and are not named.
 *
 * Undeclared (`declared` false) the bytes must be Avro beyond reasonable doubt, or the result is
 * undefined: not text (a control byte other than whitespace in its first 128 bytes), not a protobuf
 * message, at least two strings filling at least 40% of the bytes. Declared, the strings found
 * are returned whatever they fill. Never throws; past MAX_ITEMS positions `stopped` says so.
 *
 * @example
 *   avroValues(Buffer.from('1e383635343332313031323334353634', 'hex'), { declared: true })
 *   // → { values: [{ path: '[0]', start: 1, end: 16 }] }
 */
export function avroValues(
  bytes: Uint8Array,
  options: { declared?: boolean } = {},
): StructureWalk | undefined {
  const declared = options.declared ?? false;
  if (!declared && (bytes.length > MAX_UNDECLARED || !hasControlByte(bytes))) return undefined;
  const values: StructureValue[] = [];
  const reached = walkStrings(bytes, 0, bytes.length, values);
  if (!declared) {
    const filled = values.reduce((sum, value) => sum + value.end - value.start, 0);
    if (reached < bytes.length) return undefined;
    if (values.length < MIN_UNDECLARED_STRINGS || filled < bytes.length * MIN_STRING_SHARE)
      return undefined;
    // Last, as the dearest test: the sniffed-protobuf decoder takes a well-formed message.
    if (protobufFields(bytes) !== undefined) return undefined;
  }
  if (reached < bytes.length)
    return {
      values,
      stopped: `Avro data past the walk's bounds (${MAX_WALK} bytes, ${MAX_ITEMS} strings): strings after byte ${reached} not named`,
    };
  return { values };
}

/**
 * Avro as a registry decoder: object container files (by their magic bytes; blocks compressed
 * with deflate are inflated within the budget, other codecs are said unscanned), bodies declared
 * Avro, and undeclared bodies that are Avro beyond reasonable doubt (see `avroValues`).
 */
export const avroDecoder: Decoder = {
  name: 'avro',
  open(part, scope) {
    if (part.unscanned) return undefined;
    const declared = part.contentType !== undefined && MEDIA_TYPES.has(part.contentType);
    // Text is by far the most common part, and never Avro nor an Avro file.
    if (!declared && !hasControlByte(part.bytes)) return undefined;
    const container = containerBlocks(part.bytes);
    if (container) {
      const where = `${part.where}>avro`;
      if (container.stopped) scope.unscanned(where, container.stopped);
      if (container.codec === 'null') {
        const values: StructureValue[] = [];
        for (const block of container.blocks)
          if (walkStrings(part.bytes, block.start, block.end, values) < block.end)
            scope.unscanned(
              where,
              `a block past the walk's bounds: strings after its byte ${block.start} not named`,
            );
        return structureChildren(part, 'avro', { values }, scope);
      }
      if (container.codec !== 'deflate') {
        scope.unscanned(where, `blocks compressed with ${container.codec}: not opened`);
        return [];
      }
      return container.blocks.flatMap((block, index): Child[] => {
        const suffix = `>avro-block[${index}]>deflate`;
        const raw = part.bytes.subarray(block.start, block.end);
        const bytes = decompressWithin(part, raw, 'deflate', scope, `${part.where}${suffix}`);
        if (!bytes) return [];
        return [decodedFrom(part, suffix, bytes, block.start, block.end, 'avro/binary')];
      });
    }
    const walk = avroValues(part.bytes, { declared });
    if (!walk) return undefined;
    return structureChildren(part, 'avro', walk, scope);
  },
};

/**
 * Walks `bytes[from, to)` as Avro data, appending the strings it finds to `values` (their
 * position counting on from those already there). Returns how far it read: `to` unless a bound
 * stopped it (MAX_WALK bytes, MAX_ITEMS strings, or text checked over and over: long UTF-8 text
 * whose bytes read as long lengths at every position).
 */
function walkStrings(
  bytes: Uint8Array,
  from: number,
  end: number,
  values: StructureValue[],
): number {
  const walk = new AvroWalk(bytes, from, Math.min(end, from + MAX_WALK));
  let at = from;
  while (at < walk.to) {
    if (values.length >= MAX_ITEMS || walk.work > walk.budget) return at;
    const start = walk.stringAt(at);
    if (start >= 0) {
      const stop = walk.end;
      // The last byte of a number may read as the length of a string that swallows the real
      // length byte after it: when the string's own first byte starts a string that stands,
      // that one is the field.
      if (walk.stands(start, stop) && !walk.innerStands(start)) {
        values.push({ path: `[${values.length}]`, start, end: stop });
        at = stop;
        continue;
      }
    }
    // Not a string: one byte on. Doubles and floats are fixed-width and their bytes do not end
    // like varints, so stepping whole varints would lose the next string's length to them.
    at++;
  }
  return at;
}

/**
 * One walk's state, its tests as methods: a walk runs over every decoded base64 blob and bytes
 * field, so it allocates nothing per position (not even a table per walk: a typed array costs
 * more than walking 64 bytes).
 */
class AvroWalk {
  /** Bytes of text checked so far, and how many a walk of this size may check. */
  work = 0;
  readonly budget: number;
  /** The end of the last string `stringAt` found. */
  end = 0;

  constructor(
    private readonly bytes: Uint8Array,
    from: number,
    readonly to: number,
  ) {
    this.budget = 16 * (to - from) + 4096;
  }

  /**
   * Where the text of a string whose zigzag length is at `at` starts (its end in `end`), or -1:
   * an even length of at least MIN_STRING, all of it UTF-8 text before `to`.
   */
  stringAt(at: number): number {
    const { bytes, to } = this;
    let value = 0;
    let scale = 1;
    let next = -1;
    for (let i = at; i < to && i < at + 10; i++) {
      const byte = bytes[i] as number;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) {
        next = i + 1;
        break;
      }
    }
    if (next < 0 || value % 2 === 1) return -1;
    const length = value / 2;
    const end = next + length;
    if (length < MIN_STRING || end > to) return -1;
    // ASCII first, byte by byte, so a candidate in binary costs the few bytes up to its first
    // non-text byte; UTF-8 is checked whole once a byte past ASCII shows up.
    for (let i = next; i < end; i++) {
      const byte = bytes[i] as number;
      if (byte >= 0x80) {
        this.work += end - next;
        if (!isTextValue(bytes, i, end)) return -1;
        break;
      }
      if (!isText(byte) && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) {
        this.work += i - next + 1;
        return -1;
      }
      if (i === end - 1) this.work += length;
    }
    this.end = end;
    return next;
  }

  /**
   * Whether a string [start, end) is a field: one ends after it (the data ends, a byte that is
   * not text, another string, or one small number and then one of those), or less text than the
   * string and at most 8 bytes of it follow (a number or a double whose bytes happen to be text).
   * A protobuf string read as Avro has a zigzag length of half its own: as much text again
   * follows the half. `end` of the walk is left as it was.
   */
  stands(start: number, end: number): boolean {
    const saved = this.end;
    const ends = this.fieldEnds(end);
    this.end = saved;
    if (ends) return true;
    const limit = Math.min(end - start, 8);
    let after = 0;
    while (after < limit && end + after < this.to && isText(this.bytes[end + after])) after++;
    return after < limit;
  }

  /** Whether a string starts at `at` and stands. */
  innerStands(at: number): boolean {
    const start = this.stringAt(at);
    return start >= 0 && this.stands(start, this.end);
  }

  private fieldEnds(at: number): boolean {
    const { bytes, to } = this;
    if (at === to || !isText(bytes[at]) || this.stringAt(at) >= 0) return true;
    const next = at + 1;
    return next === to || !isText(bytes[next]) || this.stringAt(next) >= 0;
  }
}

function isText(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x20 && byte < 0x7f;
}

/**
 * Whether the first 128 bytes hold a control byte other than whitespace: text never does, Avro
 * data almost always within a few bytes (a short string's length, a boolean, a union's branch,
 * the end of an array; the container file's magic "Obj" 1). Only a prefix is read, so a large
 * text body costs nothing here.
 */
function hasControlByte(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, 128);
  for (let i = 0; i < end; i++) {
    const byte = bytes[i] as number;
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20)) return true;
  }
  return false;
}

/** A zigzag long: 0 → 0, 1 → -1, 2 → 1, 3 → -2. */
function zigzag(
  bytes: Uint8Array,
  at: number,
  to: number,
): { value: number; next: number } | undefined {
  const raw = readVarint(bytes, at, to);
  if (!raw) return undefined;
  return { value: raw.value % 2 === 0 ? raw.value / 2 : -(raw.value + 1) / 2, next: raw.next };
}

/**
 * The data blocks of an Avro object container file and its codec, or undefined when the bytes
 * are not one. `stopped` says when the file ends inside a block or a block's sync marker is wrong.
 */
function containerBlocks(
  bytes: Uint8Array,
): { codec: string; blocks: { start: number; end: number }[]; stopped?: string } | undefined {
  if (bytes.length < MAGIC.length + 1 + SYNC) return undefined;
  if (MAGIC.some((byte, k) => bytes[k] !== byte)) return undefined;
  let at = MAGIC.length;
  let codec = 'null';
  // The header's metadata: a map of string keys to bytes values, in blocks of entries.
  for (let rounds = 0; ; rounds++) {
    const count = zigzag(bytes, at, bytes.length);
    if (!count || rounds > 1000) return undefined;
    at = count.next;
    if (count.value === 0) break;
    if (count.value < 0) {
      const size = zigzag(bytes, at, bytes.length);
      if (!size) return undefined;
      at = size.next;
    }
    for (let entry = 0; entry < Math.abs(count.value); entry++) {
      const key = zigzag(bytes, at, bytes.length);
      if (!key || key.value < 0 || key.next + key.value > bytes.length) return undefined;
      const name = Buffer.from(bytes.subarray(key.next, key.next + key.value)).toString('utf8');
      at = key.next + key.value;
      const value = zigzag(bytes, at, bytes.length);
      if (!value || value.value < 0 || value.next + value.value > bytes.length) return undefined;
      if (name === 'avro.codec')
        codec = Buffer.from(bytes.subarray(value.next, value.next + value.value)).toString('utf8');
      at = value.next + value.value;
    }
  }
  if (at + SYNC > bytes.length) return undefined;
  const sync = bytes.subarray(at, at + SYNC);
  at += SYNC;
  const blocks: { start: number; end: number }[] = [];
  while (at < bytes.length) {
    const count = zigzag(bytes, at, bytes.length);
    const size = count && zigzag(bytes, count.next, bytes.length);
    if (!count || !size || count.value < 0 || size.value < 0)
      return { codec, blocks, stopped: `Avro container: a malformed block header at byte ${at}` };
    const start = size.next;
    const end = start + size.value;
    if (end + SYNC > bytes.length)
      return {
        codec,
        blocks,
        stopped: `Avro container: the block at byte ${at} runs past the end`,
      };
    if (Buffer.compare(bytes.subarray(end, end + SYNC), sync) !== 0)
      return { codec, blocks, stopped: `Avro container: a wrong sync marker at byte ${end}` };
    blocks.push({ start, end });
    at = end + SYNC;
  }
  return { codec, blocks };
}
