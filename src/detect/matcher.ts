import { buildAutomaton, foldByte, type Automaton } from './automaton.ts';
import type { Evidence } from '../types.ts';
import type { Boundary, Variant } from './variant.ts';

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
}

/** Scans bytes for all variants at once and returns verified matches sorted by start. */
export interface Matcher {
  readonly variants: readonly Variant[];
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
  // Variants whose anchors fold to the same bytes share one automaton pattern.
  const anchorIndex = new Map<string, number>();
  const anchors: Uint8Array[] = [];
  const byAnchor: number[][] = [];
  variants.forEach((variant, index) => {
    if (variant.bytes.length === 0) return;
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
  const automaton = buildAutomaton(anchors);

  const matcher: Matcher = {
    variants,
    automaton,
    bytesScanned: 0,
    scan(bytes) {
      matcher.bytesScanned += bytes.length;
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

/** Confirms a candidate: the whole variant, its case rule and its boundaries. */
function verify(
  bytes: Uint8Array,
  variant: Variant,
  index: number,
  start: number,
): RawMatch | undefined {
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
  if (!exact && !variant.caseless) match.caseForm = upper ? 'upper' : lower ? 'lower' : 'mixed-case';
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
