import { isUtf8 } from 'node:buffer';
import { buildAutomaton, foldByte, type Automaton } from './automaton.ts';
import type { Evidence } from '../types.ts';
import { decodeNumber } from './number-encodings.ts';
import type { Boundary, NumericCheck, Variant } from './variant.ts';

/** A verified occurrence of one variant: its byte range in the scanned part. */
export interface RawMatch {
  /** Index into `Matcher.variants`. */
  variant: number;
  start: number;
  end: number;
  /** How the letters were cased when the variant matches in any case, e.g. "upper". */
  caseForm?: 'upper' | 'lower' | 'mixed-case';
  /** Set when the match stands for more than its variant: a pair of coordinates. */
  form?: string;
  evidence?: Evidence;
  /** For a coordinate matched by value: the decimals it agrees to (5 within 0.00001°). */
  decimals?: number;
}

/** Scans bytes for all variants at once and returns verified matches sorted by start. */
export interface Matcher {
  readonly variants: readonly Variant[];
  /** The automaton of text parts; binary parts are scanned with one that adds `binary` variants. */
  readonly automaton: Automaton;
  /** Bytes scanned since the matcher was built: the benchmark's denominator. */
  bytesScanned: number;
  scan(bytes: Uint8Array): RawMatch[];
}

/**
 * The automaton only looks for the first ANCHOR bytes of each variant; the rest is verified at
 * the candidate. Long variants (a SHA-256 in hex, an SMS text) would otherwise add thousands of
 * states that the scan rarely visits but that push the hot ones out of the CPU cache.
 */
const ANCHOR = 16;

/**
 * Builds the matcher for a set of variants.
 *
 * @example
 *   const matcher = createMatcher(variantsOf(imei));
 *   matcher.scan(Buffer.from('imei=356938035643809')) // → [{ variant: 0, start: 5, end: 20 }]
 */
export function createMatcher(variants: readonly Variant[]): Matcher {
  const text = patternSet(variants, false);
  const binary = variants.some((variant) => variant.binary) ? patternSet(variants, true) : text;
  const matcher: Matcher = {
    variants,
    automaton: text.automaton,
    bytesScanned: 0,
    scan(bytes) {
      matcher.bytesScanned += bytes.length;
      const { automaton, anchors, byAnchor } =
        binary !== text && holdsBinary(bytes) ? binary : text;
      const matches: RawMatch[] = [];
      automaton.scan(bytes, (pattern, end) => {
        const start = end - (anchors[pattern] as Uint8Array).length;
        for (const index of byAnchor[pattern] as number[]) {
          const match = verify(bytes, variants[index] as Variant, index, start);
          if (match) matches.push(match);
        }
      });
      return matches.sort((a, b) => a.start - b.start || b.end - a.end);
    },
  };
  return matcher;
}

/** One automaton and, per pattern, the variants whose anchor it is. */
interface PatternSet {
  automaton: Automaton;
  anchors: Uint8Array[];
  byAnchor: number[][];
}

/** The automaton of the text variants, or of every variant with `withBinary`. */
function patternSet(variants: readonly Variant[], withBinary: boolean): PatternSet {
  // Variants whose anchors fold to the same bytes share one automaton pattern.
  const anchorIndex = new Map<string, number>();
  const anchors: Uint8Array[] = [];
  const byAnchor: number[][] = [];
  variants.forEach((variant, index) => {
    if (variant.bytes.length === 0 || (variant.binary && !withBinary)) return;
    const anchor = Uint8Array.from(variant.bytes.subarray(0, ANCHOR), foldByte);
    const key = Buffer.from(anchor).toString('latin1');
    let pattern = anchorIndex.get(key);
    if (pattern === undefined) {
      pattern = anchors.length;
      anchorIndex.set(key, pattern);
      anchors.push(anchor);
      byAnchor.push([]);
    }
    (byAnchor[pattern] as number[]).push(index);
  });
  return { automaton: buildAutomaton(anchors), anchors, byAnchor };
}

/** Bytes sampled by `holdsBinary` beyond the first window: 16 windows of 64. */
const SAMPLE_WINDOWS = 16;
const SAMPLE_WINDOW = 64;

/**
 * Whether a part may carry numbers as numbers: it has a control byte in a sample spread over it,
 * a NUL anywhere, or is not UTF-8. JSON, HTML, URLs and headers have none of these; protobuf,
 * msgpack, CBOR and Avro have tags, lengths and small integers in control bytes, and a float's
 * bytes are rarely UTF-8. The NUL search and the UTF-8 check are native (memchr, simdutf): a
 * text part costs a fraction of its scan.
 *
 * @example
 *   holdsBinary(Buffer.from('{"lat":48.85661}')) // → false
 *   holdsBinary(Buffer.from([0x09, 0x40, 0x48, 0x6d, 0xa5])) // → true
 */
export function holdsBinary(bytes: Uint8Array): boolean {
  const step = Math.max(SAMPLE_WINDOW, Math.floor(bytes.length / SAMPLE_WINDOWS));
  for (let at = 0; at < bytes.length; at += step) {
    const end = Math.min(bytes.length, at + SAMPLE_WINDOW);
    for (let i = at; i < end; i++) {
      const byte = bytes[i] as number;
      if (byte < 0x09 || (byte > 0x0d && byte < 0x20) || byte === 0x7f) return true;
    }
  }
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.indexOf(0) >= 0 || !isUtf8(buffer);
}

/** Confirms a candidate: the whole variant, its case rule and its boundaries. */
function verify(
  bytes: Uint8Array,
  variant: Variant,
  index: number,
  start: number,
): RawMatch | undefined {
  if (variant.numeric) return verifyNumber(bytes, variant, variant.numeric, index, start);
  const pattern = variant.bytes;
  let end = start + pattern.length;
  if (end > bytes.length) return undefined;
  let exact = true;
  let upper = true;
  let lower = true;
  for (let k = 0; k < pattern.length; k++) {
    const got = bytes[start + k] as number;
    const want = pattern[k] as number;
    if (got === want) {
      if (want >= 0x61 && want <= 0x7a) upper = false;
      else if (want >= 0x41 && want <= 0x5a) lower = false;
      continue;
    }
    if (!variant.anyCase || foldByte(got) !== foldByte(want)) return undefined;
    exact = false;
    if (got >= 0x61 && got <= 0x7a) upper = false;
    else lower = false;
  }
  if (variant.trailingDigits !== undefined) {
    for (let k = 0; k < variant.trailingDigits; k++, end++) {
      if (!isDigit(bytes[end])) return undefined;
    }
  }
  if (!boundaryHolds(variant.boundary, bytes[start - 1], bytes[end])) return undefined;
  const match: RawMatch = { variant: index, start, end };
  if (!exact && !variant.caseless)
    match.caseForm = upper ? 'upper' : lower ? 'lower' : 'mixed-case';
  return match;
}

/** Degrees a coordinate may be off and still agree to 5 or 4 decimals. */
const PRECISIONS: readonly [decimals: number, degrees: number][] = [
  [5, 1e-5],
  [4, 1e-4],
];

/**
 * Confirms a number matched by value: its anchor (the high-order bytes) byte for byte, then the
 * whole number decoded around it against the tolerance. A varint must start where no varint runs
 * on into it (the byte before has no continuation bit) and end at the anchor's end.
 */
function verifyNumber(
  bytes: Uint8Array,
  variant: Variant,
  numeric: NumericCheck,
  index: number,
  anchorStart: number,
): RawMatch | undefined {
  const anchor = variant.bytes;
  const anchorEnd = anchorStart + anchor.length;
  for (let k = 0; k < anchor.length; k++)
    if (bytes[anchorStart + k] !== anchor[k]) return undefined;
  const start = anchorStart - numeric.lead;
  const end = anchorEnd + numeric.trail;
  if (start < 0 || end > bytes.length) return undefined;
  const varint = numeric.encoding === 'varint' || numeric.encoding === 'zigzag-varint';
  if (varint && start > 0 && (bytes[start - 1] as number) >= 0x80) return undefined;
  const decoded = decodeNumber(bytes, start, numeric.encoding);
  if (!decoded || decoded.end !== end) return undefined;
  const off = Math.abs(decoded.value - numeric.value);
  if (!(off <= numeric.tolerance)) return undefined;
  const match: RawMatch = { variant: index, start, end };
  if (variant.coordinate) {
    const degrees = off * numeric.unit;
    // A float's rounding (1e-5 is no exact double) must not cost a decimal.
    match.decimals = PRECISIONS.find(([, within]) => degrees <= within * (1 + 1e-9))?.[0] ?? 3;
  }
  return match;
}

/**
 * Whether a byte next to a match counts as nothing for every boundary rule: then a match beside
 * it holds exactly as it would at the edge of the bytes. A value in a structure (a protobuf
 * string) whose framing bytes are all such needs no scan of its own.
 *
 * @example
 *   actsAsNothing(0x12) // → true (protobuf tag of field 2)
 *   actsAsNothing(0x32) // → false ('2': a digit to the digit rule)
 */
export function actsAsNothing(byte: number | undefined): boolean {
  return !isWordByte(byte) && byte !== 0x2e && byte !== 0x2d;
}

function boundaryHolds(
  boundary: Boundary,
  before: number | undefined,
  after: number | undefined,
): boolean {
  switch (boundary) {
    case 'none':
      return true;
    case 'digit':
      return !isDigit(before) && !isDigit(after);
    case 'hex':
      return !isHex(before) && !isHex(after);
    case 'hex-start':
      // A truncated digest: it starts where a hex run starts, and may run on.
      return !isHex(before);
    case 'word':
      return !isWordByte(before) && !isWordByte(after);
    case 'number-start':
      // A coordinate may go on with more decimals, but must not be the tail of another number
      // ("148.857") or of the opposite hemisphere ("-48.857").
      return !isDigit(before) && before !== 0x2e && before !== 0x2d;
  }
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x30 && byte <= 0x39;
}

function isHex(byte: number | undefined): boolean {
  if (byte === undefined) return false;
  const folded = foldByte(byte);
  return isDigit(byte) || (folded >= 0x61 && folded <= 0x66);
}

function isWordByte(byte: number | undefined): boolean {
  if (byte === undefined) return false;
  // Bytes of multi-byte UTF-8 characters count as letters: "Free" inside "Freeé…" is a word.
  return (
    isDigit(byte) ||
    (foldByte(byte) >= 0x61 && foldByte(byte) <= 0x7a) ||
    byte >= 0x80 ||
    byte === 0x5f
  );
}
