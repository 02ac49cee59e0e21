import type { Decoder } from '../decoder.ts';
import {
  keyStep,
  keyText,
  MAX_ITEMS,
  MAX_NESTING,
  structureChildren,
  StructureWalker,
  textKind,
  type StructureValue,
  type StructureWalk,
} from './structure-values.ts';

const MEDIA_TYPES = new Set(['application/cbor', 'application/cbor-seq']);
const BREAK = 0xff;
/** The argument of an indefinite-length head (additional information 31). */
const INDEFINITE = -2;
/** Tag 24: the byte string holds an encoded CBOR data item. */
const EMBEDDED_CBOR = 24;

/**
 * Every text and byte string of a CBOR body (RFC 8949), with its extent and path ("$.imei",
 * "$.ids[2]", "$.1" for the integer key 1), without a schema. Tags are looked through; a string
 * sent in chunks (indefinite length) is one value of its joined bytes, or the chunk itself when
 * there is one. Several top-level values (a CBOR sequence) name each value's position as `item`.
 *
 * Undeclared (`declared` false), the bytes must be CBOR beyond doubt, or the result is
 * undefined: every top-level value a map or an array (tags around it allowed), the whole part
 * parsed to its last byte, every text string valid UTF-8, every map key text or an integer, no
 * reserved encoding, at least one string. Declared, a malformed or truncated body gives what was
 * read before the fault, and `stopped` says where it stopped. Never throws; nesting (tags
 * included), value count and every declared length are checked before they are used.
 *
 * @example
 *   cborValues(Buffer.from('a164696d656963313233', 'hex'))
 *   // → { values: [{ path: '$.imei', start: 7, end: 10 }] }
 */
export function cborValues(
  bytes: Uint8Array,
  options: { declared?: boolean } = {},
): StructureWalk | undefined {
  const walker = new Walker(bytes, !options.declared);
  const firsts: number[] = [];
  while (walker.at < bytes.length) {
    if (walker.strict && !walker.containerAhead()) return undefined;
    firsts.push(walker.values.length);
    if (!walker.value('$', 0)) break;
  }
  if (walker.problem !== undefined) {
    if (walker.strict) return undefined;
    return {
      values: walker.values,
      stopped: `CBOR ${walker.problem} at byte ${walker.started}: the rest not opened`,
    };
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
 * CBOR as a registry decoder: bodies declared CBOR, and undeclared bodies that are CBOR beyond
 * doubt (see `cborValues`).
 */
export const cborDecoder: Decoder = {
  name: 'cbor',
  open(part, scope) {
    if (part.unscanned) return undefined;
    const declared = part.contentType !== undefined && MEDIA_TYPES.has(part.contentType);
    // Most parts are text or other binary: the first byte tells (a map, an array or a tag),
    // before any walk is set up.
    if (!declared && ((part.bytes[0] as number) < 0x80 || (part.bytes[0] as number) > 0xdb))
      return undefined;
    const walk = cborValues(part.bytes, { declared });
    if (!walk) return undefined;
    if (walk.values.length === 0 && walk.stopped) {
      // Labelled CBOR but not CBOR from its first byte: leave it to the other decoders.
      scope.unscanned(`${part.where}>cbor`, walk.stopped);
      return undefined;
    }
    return structureChildren(part, 'cbor', walk, scope);
  },
};

/** One walk over a body: the position, what was found, and the first fault. */
class Walker extends StructureWalker {
  /** Whether the value at `at` is a map or an array, behind at most a few tags. */
  containerAhead(): boolean {
    let at = this.at;
    for (let tags = 0; tags <= 3 && at < this.bytes.length; tags++) {
      const byte = this.bytes[at] as number;
      const major = byte >> 5;
      if (major === 4 || major === 5) return true;
      const info = byte & 0x1f;
      if (major !== 6 || info > 27) return false;
      at += 1 + (info < 24 ? 0 : 1 << (info - 24));
    }
    return false;
  }

  /**
   * The major type and argument of the head at `at`: the argument is a length, a count, a tag
   * number or an integer; INDEFINITE for additional information 31; undefined on a fault.
   */
  private head(): { major: number; argument: number } | undefined {
    if (this.at >= this.bytes.length) return void this.fail('ends inside a value');
    const byte = this.bytes[this.at++] as number;
    const major = byte >> 5;
    const info = byte & 0x1f;
    if (info < 24) return { major, argument: info };
    if (info === 31) return { major, argument: INDEFINITE };
    if (info > 27) return void this.fail(`has the reserved head 0x${byte.toString(16)}`);
    const size = 1 << (info - 24);
    if (this.at + size > this.bytes.length) return void this.fail('ends inside a head');
    let argument = 0;
    for (let k = 0; k < size; k++) argument = argument * 256 + (this.bytes[this.at + k] as number);
    this.at += size;
    return { major, argument };
  }

  /** Reads one data item at `at`, recording its strings under `path`. */
  value(path: string, depth: number, contentType?: string): boolean {
    this.started = this.at;
    if (++this.items > MAX_ITEMS) return this.fail(`holds more than ${MAX_ITEMS} values`);
    const head = this.head();
    if (!head) return false;
    const { major, argument } = head;
    switch (major) {
      case 0:
      case 1:
        return argument === INDEFINITE ? this.fail('has an integer of indefinite length') : true;
      case 2:
      case 3:
        return argument === INDEFINITE
          ? this.chunks(major, path, contentType)
          : this.payload(argument, major === 3, path, contentType);
      case 4:
        return this.array(argument, path, depth);
      case 5:
        return this.map(argument, path, depth);
      case 6:
        if (argument === INDEFINITE) return this.fail('has a tag of indefinite length');
        if (depth >= MAX_NESTING) return this.fail(`nests deeper than ${MAX_NESTING} levels`);
        return this.value(
          path,
          depth + 1,
          argument === EMBEDDED_CBOR ? 'application/cbor' : contentType,
        );
      default:
        return this.simple(head.argument, this.bytes[this.at - 1] as number);
    }
  }

  /** Major type 7: false, true, null, undefined, floats, other simple values; never a break. */
  private simple(argument: number, byte: number): boolean {
    if (argument === INDEFINITE) return this.fail('has a break outside an indefinite-length item');
    // A one-byte simple value below 32 has a shorter encoding: RFC 8949 makes it malformed.
    if (byte === 0xf8 && argument < 32) return this.fail('has a malformed simple value');
    return true;
  }

  private payload(length: number, text: boolean, path: string, contentType?: string): boolean {
    const start = this.at;
    const end = start + length;
    if (end > this.bytes.length)
      return this.fail(
        `declares a ${length}-byte string past the end of its ${this.bytes.length} bytes`,
      );
    if (text && !this.text(start, end)) return this.fail('has a text string that is not UTF-8');
    this.at = end;
    if (length > 0) {
      const value: StructureValue = { path, start, end };
      if (contentType && !text) value.contentType = contentType;
      this.values.push(value);
    }
    return true;
  }

  /** An indefinite-length string: definite chunks of the same major type up to a break. */
  private chunks(major: number, path: string, contentType?: string): boolean {
    const start = this.at;
    const pieces: [number, number][] = [];
    for (;;) {
      if (this.at >= this.bytes.length) return this.fail('ends inside a string sent in chunks');
      if (this.bytes[this.at] === BREAK) break;
      if (++this.items > MAX_ITEMS) return this.fail(`holds more than ${MAX_ITEMS} values`);
      const head = this.head();
      if (!head) return false;
      if (head.major !== major || head.argument === INDEFINITE)
        return this.fail('has a chunk of another type inside a string sent in chunks');
      const end = this.at + head.argument;
      if (end > this.bytes.length) return this.fail('has a chunk past the end');
      if (head.argument > 0) pieces.push([this.at, end]);
      this.at = end;
    }
    this.at++;
    if (pieces.length === 0) return true;
    const text = major === 3;
    if (pieces.length === 1) {
      const [from, to] = pieces[0] as [number, number];
      const after = this.at;
      this.at = from;
      const ok = this.payload(to - from, text, path, contentType);
      this.at = after;
      return ok;
    }
    const joined = Buffer.concat(pieces.map(([from, to]) => this.bytes.subarray(from, to)));
    if (text) {
      const kind = textKind(joined, 0, joined.length);
      if (kind < 0 && this.strict) return this.fail('has a text string that is not UTF-8');
      if (kind === 1) {
        this.texts++;
        this.textBytes += joined.length;
      }
    }
    const value: StructureValue = { path, start, end: this.at, joined };
    if (contentType && !text) value.contentType = contentType;
    this.values.push(value);
    return true;
  }

  private array(count: number, path: string, depth: number): boolean {
    if (depth >= MAX_NESTING) return this.fail(`nests deeper than ${MAX_NESTING} levels`);
    if (count === INDEFINITE) {
      for (let index = 0; ; index++) {
        if (this.at >= this.bytes.length) return this.fail('ends inside an array');
        if (this.bytes[this.at] === BREAK) break;
        if (!this.value(`${path}[${index}]`, depth + 1)) return false;
      }
      this.at++;
      return true;
    }
    // Every item takes at least a byte: a count beyond the bytes left is a lie.
    if (count > this.bytes.length - this.at)
      return this.fail(`declares ${count} items in ${this.bytes.length - this.at} bytes`);
    for (let index = 0; index < count; index++)
      if (!this.value(`${path}[${index}]`, depth + 1)) return false;
    return true;
  }

  private map(count: number, path: string, depth: number): boolean {
    if (depth >= MAX_NESTING) return this.fail(`nests deeper than ${MAX_NESTING} levels`);
    const indefinite = count === INDEFINITE;
    if (!indefinite && count * 2 > this.bytes.length - this.at)
      return this.fail(`declares ${count} entries in ${this.bytes.length - this.at} bytes`);
    for (let index = 0; indefinite || index < count; index++) {
      if (indefinite) {
        if (this.at >= this.bytes.length) return this.fail('ends inside a map');
        if (this.bytes[this.at] === BREAK) {
          this.at++;
          break;
        }
      }
      const key = this.key(depth);
      if (key === false) return false;
      if (!this.value(`${path}${keyStep(key)}`, depth + 1)) return false;
    }
    return true;
  }

  /**
   * A map key: its text or integer value, undefined for another type (read past, not named), or
   * false on a fault. Undeclared, a key of another type means the bytes are not CBOR.
   */
  private key(depth: number): string | number | undefined | false {
    if (this.at >= this.bytes.length) return this.fail('ends inside a map');
    const byte = this.bytes[this.at] as number;
    const major = byte >> 5;
    const info = byte & 0x1f;
    if (major <= 1 && info < 28) {
      const head = this.head();
      if (!head) return false;
      return major === 0 ? head.argument : -1 - head.argument;
    }
    if (major === 3 && info < 28) {
      const head = this.head();
      if (!head) return false;
      const start = this.at;
      if (start + head.argument > this.bytes.length) return this.fail('has a map key past the end');
      this.at += head.argument;
      if (!this.text(start, this.at)) return this.fail('has a map key that is not UTF-8');
      return keyText(this.bytes, start, this.at);
    }
    if (this.strict) return this.fail('has a map key that is neither text nor an integer');
    const values = this.values.length;
    if (!this.value('[?]', depth + 1)) return false;
    // Strings inside an odd key are not values: the raw scan still sees their bytes.
    this.values.length = values;
    return undefined;
  }
}
