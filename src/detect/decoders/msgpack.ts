import type { Decoder } from '../decoder.ts';
import {
  keyStep,
  keyText,
  MAX_ITEMS,
  MAX_NESTING,
  structureChildren,
  StructureWalker,
  type StructureValue,
  type StructureWalk,
} from './structure-values.ts';

const MEDIA_TYPES = new Set([
  'application/msgpack',
  'application/x-msgpack',
  'application/vnd.msgpack',
]);

/**
 * Every string and bin value of a msgpack body, with its extent and path ("$.device.imei",
 * "$.ids[2]"), without a schema. A body of several top-level values (a msgpack stream) names each
 * value's position as `item`.
 *
 * Undeclared (`declared` false), the bytes must be msgpack beyond doubt, or the result is
 * undefined: every top-level value a map or an array, the whole part parsed to its last byte,
 * every string valid UTF-8, every map key a string or an integer, at least one string or bin.
 * Declared, a malformed or truncated body gives what was read before the fault, and `stopped`
 * says where it stopped. Never throws; nesting, value count and every declared length are
 * checked against the bytes before they are used.
 *
 * @example
 *   msgpackValues(Buffer.from('81a4696d6569a3313233', 'hex'))
 *   // → { values: [{ path: '$.imei', start: 7, end: 10 }] }
 */
export function msgpackValues(
  bytes: Uint8Array,
  options: { declared?: boolean } = {},
): StructureWalk | undefined {
  const walker = new Walker(bytes, !options.declared);
  const firsts: number[] = [];
  while (walker.at < bytes.length) {
    if (walker.strict && !isContainer(bytes[walker.at] as number)) return undefined;
    firsts.push(walker.values.length);
    if (!walker.value('$', 0)) break;
  }
  if (walker.problem !== undefined) {
    if (walker.strict) return undefined;
    const walk: StructureWalk = {
      values: walker.values,
      stopped: `msgpack ${walker.problem} at byte ${walker.started}: the rest not opened`,
    };
    return walk;
  }
  if (walker.strict && !walker.plausible()) return undefined;
  if (firsts.length > 1)
    firsts.forEach((first, item) => {
      const next = firsts[item + 1] ?? walker.values.length;
      for (let k = first; k < next; k++) (walker.values[k] as StructureValue).item = item;
    });
  return { values: walker.values };
}

/**
 * msgpack as a registry decoder: bodies declared msgpack, and undeclared bodies that are msgpack
 * beyond doubt (see `msgpackValues`).
 */
export const msgpackDecoder: Decoder = {
  name: 'msgpack',
  open(part, scope) {
    if (part.unscanned) return undefined;
    const declared = part.contentType !== undefined && MEDIA_TYPES.has(part.contentType);
    // Most parts are text or other binary: one byte tells, before any walk is set up.
    if (!declared && !isContainer(part.bytes[0] as number)) return undefined;
    const walk = msgpackValues(part.bytes, { declared });
    if (!walk) return undefined;
    if (walk.values.length === 0 && walk.stopped) {
      // Labelled msgpack but not msgpack from its first byte: leave it to the other decoders.
      scope.unscanned(`${part.where}>msgpack`, walk.stopped);
      return undefined;
    }
    return structureChildren(part, 'msgpack', walk, scope);
  },
};

/** A map or an array header: what an undeclared msgpack body must start each top-level value with. */
function isContainer(byte: number): boolean {
  return (byte >= 0x80 && byte <= 0x9f) || (byte >= 0xdc && byte <= 0xdf);
}

/** One walk over a body: the position, what was found, and the first fault. */
class Walker extends StructureWalker {
  /** A big-endian unsigned integer of `size` bytes, or -1 past the end. */
  private uint(size: number): number {
    if (this.at + size > this.bytes.length) return -1;
    let value = 0;
    for (let k = 0; k < size; k++) value = value * 256 + (this.bytes[this.at + k] as number);
    this.at += size;
    return value;
  }

  private skip(size: number): boolean {
    if (this.at + size > this.bytes.length) return this.fail('ends inside a value');
    this.at += size;
    return true;
  }

  /** Reads one value at `at`, recording the strings and bins in it under `path`. */
  value(path: string, depth: number): boolean {
    this.started = this.at;
    if (++this.items > MAX_ITEMS) return this.fail(`holds more than ${MAX_ITEMS} values`);
    if (this.at >= this.bytes.length) return this.fail('ends inside a value');
    const byte = this.bytes[this.at++] as number;
    if (byte <= 0x7f || byte >= 0xe0) return true;
    if (byte <= 0x8f) return this.map(byte & 0x0f, path, depth);
    if (byte <= 0x9f) return this.array(byte & 0x0f, path, depth);
    if (byte <= 0xbf) return this.payload(byte & 0x1f, path, true);
    switch (byte) {
      case 0xc0:
      case 0xc2:
      case 0xc3:
        return true;
      case 0xc4:
      case 0xc5:
      case 0xc6:
        return this.payload(this.uint(1 << (byte - 0xc4)), path, false);
      case 0xc7:
      case 0xc8:
      case 0xc9: {
        // An extension (a timestamp, an app's own type): its type byte, then opaque bytes.
        const length = this.uint(1 << (byte - 0xc7));
        return length >= 0 ? this.skip(1 + length) : this.fail('ends inside a length');
      }
      case 0xca:
      case 0xce:
      case 0xd2:
        return this.skip(4);
      case 0xcb:
      case 0xcf:
      case 0xd3:
        return this.skip(8);
      case 0xcc:
      case 0xd0:
        return this.skip(1);
      case 0xcd:
      case 0xd1:
        return this.skip(2);
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        return this.skip(1 + (1 << (byte - 0xd4)));
      case 0xd9:
      case 0xda:
      case 0xdb:
        return this.payload(this.uint(1 << (byte - 0xd9)), path, true);
      case 0xdc:
      case 0xdd:
        return this.array(this.uint(2 << (byte - 0xdc)), path, depth);
      case 0xde:
      case 0xdf:
        return this.map(this.uint(2 << (byte - 0xde)), path, depth);
      default:
        // 0xc1 is reserved: no encoder writes it.
        return this.fail(`has the unused byte 0x${byte.toString(16)}`);
    }
  }

  private payload(length: number, path: string, text: boolean): boolean {
    if (length < 0) return this.fail('ends inside a length');
    const start = this.at;
    const end = start + length;
    if (end > this.bytes.length)
      return this.fail(
        `declares a ${length}-byte value past the end of its ${this.bytes.length} bytes`,
      );
    if (text && !this.text(start, end)) return this.fail('has a string that is not UTF-8');
    this.at = end;
    if (length > 0) this.values.push({ path, start, end });
    return true;
  }

  private array(count: number, path: string, depth: number): boolean {
    if (count < 0) return this.fail('ends inside a length');
    if (depth >= MAX_NESTING) return this.fail(`nests deeper than ${MAX_NESTING} levels`);
    // Every item takes at least a byte: a count beyond the bytes left is a lie.
    if (count > this.bytes.length - this.at)
      return this.fail(`declares ${count} items in ${this.bytes.length - this.at} bytes`);
    for (let index = 0; index < count; index++)
      if (!this.value(`${path}[${index}]`, depth + 1)) return false;
    return true;
  }

  private map(count: number, path: string, depth: number): boolean {
    if (count < 0) return this.fail('ends inside a length');
    if (depth >= MAX_NESTING) return this.fail(`nests deeper than ${MAX_NESTING} levels`);
    if (count * 2 > this.bytes.length - this.at)
      return this.fail(`declares ${count} entries in ${this.bytes.length - this.at} bytes`);
    for (let index = 0; index < count; index++) {
      const key = this.key(depth);
      if (key === false) return false;
      if (!this.value(`${path}${keyStep(key)}`, depth + 1)) return false;
    }
    return true;
  }

  /**
   * A map key: its text or integer value, undefined for another type (read past, not named), or
   * false on a fault. Undeclared, a key of another type means the bytes are not msgpack.
   */
  private key(depth: number): string | number | undefined | false {
    if (this.at >= this.bytes.length) return this.fail('ends inside a map');
    const byte = this.bytes[this.at] as number;
    if (byte <= 0x7f) {
      this.at++;
      return byte;
    }
    if (byte >= 0xe0) {
      this.at++;
      return byte - 0x100;
    }
    const text = (byte >= 0xa0 && byte <= 0xbf) || (byte >= 0xd9 && byte <= 0xdb);
    const integer = byte >= 0xcc && byte <= 0xd3;
    if (!text && !integer) {
      if (this.strict) return this.fail('has a map key that is neither text nor a number');
      const values = this.values.length;
      if (!this.value('[?]', depth + 1)) return false;
      // Strings inside an odd key are not values: the raw scan still sees their bytes.
      this.values.length = values;
      return undefined;
    }
    this.at++;
    if (integer) {
      const size = 1 << ((byte - 0xcc) & 3);
      const start = this.at;
      if (this.uint(size) < 0) return this.fail('ends inside a map key');
      return readInteger(this.bytes, start, size, byte >= 0xd0);
    }
    const length = byte <= 0xbf ? byte & 0x1f : this.uint(1 << (byte - 0xd9));
    if (length < 0 || this.at + length > this.bytes.length)
      return this.fail('has a map key past the end');
    const start = this.at;
    this.at += length;
    if (!this.text(start, this.at)) return this.fail('has a map key that is not UTF-8');
    return keyText(this.bytes, start, this.at);
  }
}

/** A big-endian integer key, as a number (64-bit keys past 2^53 lose precision: only a name). */
function readInteger(bytes: Uint8Array, start: number, size: number, signed: boolean): number {
  let value = 0;
  for (let k = 0; k < size; k++) value = value * 256 + (bytes[start + k] as number);
  if (signed && (bytes[start] as number) >= 0x80) value -= 2 ** (8 * size);
  return value;
}
