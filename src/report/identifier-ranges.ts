import { createDetector, type Detector } from '../detect/detector.ts';
import { pairLocations } from '../detect/location-pairs.ts';
import { createMatcher, type Matcher } from '../detect/matcher.ts';
import type { Variant } from '../detect/variant.ts';
import type { Identifier } from '../types.ts';

/** Where one identifier (in any of its forms) lies in some bytes. */
export interface IdentifierRange {
  start: number;
  end: number;
  identifier: Identifier;
}

/**
 * What to take beyond what the detector itself reports. Redaction wants both; highlighting wants
 * neither (a lone "24.938" may be a timestamp's seconds).
 */
export interface FindOptions {
  /** A latitude or longitude without its partner. */
  loneCoordinates?: boolean;
  /** A plain value glued inside a longer run ("1865432101234564"), boundaries ignored. */
  glued?: boolean;
}

/** Finds identifier ranges in bytes, for highlighting and for redaction. */
export interface RangeFinder {
  readonly identifiers: readonly Identifier[];
  /** The detector over the same identifiers: what proves a redaction left nothing behind. */
  readonly detector: Detector;
  /** Non-overlapping ranges, sorted. */
  find(bytes: Uint8Array, options?: FindOptions): IdentifierRange[];
}

/**
 * Builds a range finder over the detector's own variants, so what is highlighted or redacted is
 * exactly what the detector looks for (every encoding, hash and format), plus the plain values.
 *
 * @example
 *   const finder = createRangeFinder(identifiersFrom({ imei: ['865432101234564'] }, 'file'));
 *   finder.find(Buffer.from('deviceId=865432101234564')) // → [{ start: 9, end: 24, identifier: { label: 'IMEI #1', … } }]
 */
export function createRangeFinder(identifiers: Identifier[]): RangeFinder {
  const detector = createDetector(identifiers);
  const matcher: Matcher = createMatcher(detector.variants);
  // The plain values, looked for without boundaries: redaction must not leave an IMEI glued to
  // other digits just because the detector would not call that a finding.
  const plain = identifiers
    .filter((identifier) => identifier.value.length >= 4)
    .map((identifier) => ({
      identifier,
      bytes: foldAscii(Buffer.from(identifier.value, 'utf8')),
    }));
  return {
    identifiers,
    detector,
    find(bytes, options = {}) {
      if (bytes.length === 0) return [];
      const raw = matcher.scan(bytes);
      const matches = options.loneCoordinates ? raw : pairLocations(raw, matcher.variants);
      const ranges: IdentifierRange[] = matches.map((match) => ({
        start: match.start,
        end: match.end,
        identifier: (matcher.variants[match.variant] as Variant).identifier,
      }));
      if (options.glued) {
        const haystack = foldAscii(bytes);
        for (const { identifier, bytes: needle } of plain) {
          for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) {
            ranges.push({ start: at, end: at + needle.length, identifier });
          }
        }
      }
      return merge(ranges);
    },
  };
}

/** Overlapping ranges become one, named after the longest of them. */
function merge(ranges: IdentifierRange[]): IdentifierRange[] {
  ranges.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: IdentifierRange[] = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last && range.start < last.end) {
      if (range.end > last.end) last.end = range.end;
      continue;
    }
    merged.push({ ...range });
  }
  return merged;
}

/** A copy with ASCII letters in lower case; every other byte as it was, so offsets hold. */
function foldAscii(bytes: Uint8Array): Buffer {
  const folded = Buffer.from(bytes);
  for (let i = 0; i < folded.length; i++) {
    const byte = folded[i] as number;
    if (byte >= 0x41 && byte <= 0x5a) folded[i] = byte + 0x20;
  }
  return folded;
}
