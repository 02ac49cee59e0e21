import type { Child, DecodeScope, Part } from '../part.ts';
import { decodedFrom, sliceOf } from './make-child.ts';

/**
 * One string or bytes value found by a schema-less walk of a structure (msgpack, CBOR, Avro):
 * where its payload lies in the part, and the path a finding inside it reports.
 */
export interface StructureValue {
  /** "$.device.imei", "$[3]", "[2]": the part after "msgpack:" in a finding's `where`. */
  path: string;
  /** The payload's extent in the part, length header excluded. */
  start: number;
  end: number;
  /**
   * Set when the value is not one run of the part's bytes (a CBOR string sent in chunks): its
   * bytes joined, scanned on their own.
   */
  joined?: Uint8Array;
  /** Which top-level value of a sequence (a msgpack or CBOR stream) holds it, when there are several. */
  item?: number;
  /** The media type of what the bytes hold, when the structure says (CBOR tag 24: CBOR). */
  contentType?: string;
}

/** What a walk found, and why it stopped early when it did. */
export interface StructureWalk {
  values: StructureValue[];
  /** Set when the walk did not reach the end of the part: what stopped it. */
  stopped?: string;
}

/**
 * Bounds every walk: real payloads nest 5–8 levels and hold thousands of values; a hostile one
 * must cost no more than a large real one.
 */
export const MAX_NESTING = 12;
export const MAX_ITEMS = 200_000;

/**
 * The path step for a map key: ".imei" for a name, '["a b"]' for any other text, ".7" for an
 * integer key (COSE and CWT key their maps by integers), "[?]" for a key of another type.
 *
 * @example
 *   keyStep('imei') // → '.imei'
 */
export function keyStep(key: string | number | undefined): string {
  if (key === undefined) return '[?]';
  if (typeof key === 'number') return `.${key}`;
  let step = steps.get(key);
  if (step === undefined) {
    step = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    // Keys repeat across a batch; a body of distinct keys must not grow the cache without end.
    if (steps.size >= 4096) steps.clear();
    steps.set(key, step);
  }
  return step;
}

const steps = new Map<string, string>();

/**
 * The children of a part for the values a walk found: each a slice of the part marked as one
 * value of a structure (`field`), so a match that fills it stands alone whatever its length
 * header looks like; a value sent in chunks becomes a decoded child of its joined bytes. When the
 * walk stopped early, says so to `scope`: the rest of the part is still scanned as raw bytes.
 *
 * @example
 *   structureChildren(part, 'msgpack', walk, scope)[0].where // → 'request-body>msgpack:$.imei'
 */
export function structureChildren(
  part: Part,
  format: string,
  walk: StructureWalk,
  scope: DecodeScope,
): Child[] {
  if (walk.stopped) scope.unscanned(`${part.where}>${format}`, walk.stopped);
  return walk.values.map((value) => {
    const suffix = `>${format}${value.item === undefined ? '' : `[${value.item}]`}:${value.path}`;
    if (!value.joined)
      return sliceOf(part, `${part.where}${suffix}`, value.start, value.end, {
        contentType: value.contentType,
        field: true,
      });
    const child = decodedFrom(
      part,
      suffix,
      value.joined,
      value.start,
      value.end,
      value.contentType,
    );
    child.field = true;
    return child;
  });
}

/**
 * Whether bytes are text a structure would hold in a string: valid UTF-8 without control
 * characters other than tab and line breaks.
 *
 * @example
 *   isTextValue(Buffer.from('865432101234564'), 0, 15) // → true
 */
export function isTextValue(bytes: Uint8Array, start: number, end: number): boolean {
  return textKind(bytes, start, end) === 1;
}

/**
 * What `bytes[start, end)` are as a string, in one pass without allocating: -1 not UTF-8, 0 UTF-8
 * holding control characters (other than tab and line breaks), 1 printable text.
 *
 * @example
 *   textKind(Buffer.from([0x61, 0x01]), 0, 2) // → 0
 */
export function textKind(bytes: Uint8Array, start: number, end: number): -1 | 0 | 1 {
  let kind: 0 | 1 = 1;
  let i = start;
  while (i < end) {
    const byte = bytes[i] as number;
    if (byte < 0x80) {
      if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) || byte === 0x7f)
        kind = 0;
      i++;
      continue;
    }
    const extra = byte > 0xf4 ? -1 : byte >= 0xf0 ? 3 : byte >= 0xe0 ? 2 : byte >= 0xc2 ? 1 : -1;
    if (extra < 0 || i + extra >= end) return -1;
    for (let k = 1; k <= extra; k++) {
      const next = bytes[i + k] as number;
      if ((next & 0xc0) !== 0x80) return -1;
    }
    // Overlong three- and four-byte forms and UTF-16 surrogates are not UTF-8.
    const second = bytes[i + 1] as number;
    if (byte === 0xe0 && second < 0xa0) return -1;
    if (byte === 0xed && second > 0x9f) return -1;
    if (byte === 0xf0 && second < 0x90) return -1;
    if (byte === 0xf4 && second > 0x8f) return -1;
    i += extra + 1;
  }
  return kind;
}

/**
 * A map key's text. Keys repeat in every record of a batch and are mostly short ASCII: those are
 * read without a Buffer.
 *
 * @example
 *   keyText(Buffer.from('imei'), 0, 4) // → 'imei'
 */
export function keyText(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let text = '';
    for (let i = start; i < end; i++) {
      const byte = bytes[i] as number;
      if (byte >= 0x80)
        return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
      text += String.fromCharCode(byte);
    }
    return text;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
}

/**
 * What a schema-less walk of msgpack or CBOR keeps: the position, the values found, the first
 * fault, and how much of what it read was text (what tells data from chance). Each format's
 * walker extends it with the reading of its own heads.
 */
export class StructureWalker {
  at = 0;
  /** Where the value being read starts: where a fault is said to be. */
  started = 0;
  items = 0;
  values: StructureValue[] = [];
  problem: string | undefined;
  /** Strings of printable text (keys included) and their bytes: what tells data from chance. */
  texts = 0;
  textBytes = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly strict: boolean,
  ) {}

  /**
   * Checks a string: false when it is not UTF-8 and the walk is strict; counts it when it is
   * printable text of at least 3 bytes.
   */
  text(start: number, end: number): boolean {
    const kind = textKind(this.bytes, start, end);
    if (kind < 0) return !this.strict;
    if (kind === 1 && end - start >= 3) {
      this.texts++;
      this.textBytes += end - start;
    }
    return true;
  }

  /**
   * Undeclared, whether what parsed is data rather than chance: random bytes that happen to
   * parse hold a few short strings of arbitrary bytes, real payloads hold keys and values in
   * text.
   */
  plausible(): boolean {
    if (this.values.length === 0) return false;
    return this.texts >= 2 || this.textBytes * 4 >= this.bytes.length;
  }

  protected fail(problem: string): false {
    this.problem ??= problem;
    return false;
  }
}
