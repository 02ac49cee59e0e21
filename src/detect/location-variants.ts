import type { Identifier } from '../types.ts';
import { parseLocation } from './identifiers.ts';
import {
  FIXED_POINT_ENCODINGS,
  FLOAT_ENCODINGS,
  numberAnchors,
  type NumberEncoding,
} from './number-encodings.ts';
import type { Variant } from './variant.ts';

/** Lowest precision looked for: 3 decimals is ~110 m, still the user's street. */
const MIN_DECIMALS = 3;
/** At 5 decimals (~1 m) a matching pair is a location, not a coincidence. */
export const STRONG_DECIMALS = 5;

/**
 * The coordinates of a location, each as texts a phone may send: as given, rounded and truncated
 * to 5, 4 and 3 decimals, without trailing zeros (as a JSON number prints), and as an integer of
 * microdegrees (E6). Each coordinate is a variant of its own that only counts when its partner is
 * close by (see `pairLocations`); a lone "2.352" is noise.
 *
 * @example
 *   coordinateVariants(location).map((v) => `${v.coordinate?.axis} ${new TextDecoder().decode(v.bytes)}`)
 *   // → ['lat 48.85661', 'lat 48.8566', 'lat 48.856', …, 'lon 2.35222', …]
 */
export function coordinateVariants(identifier: Identifier): Variant[] {
  const location = parseLocation(identifier.value);
  if (!location) return [];
  const variants: Variant[] = [];
  const seen = new Set<string>();
  const add = (
    axis: 'lat' | 'lon',
    text: string,
    decimals: number,
    form: string,
    boundary: Variant['boundary'],
  ) => {
    if (seen.has(`${axis}${text}`)) return;
    seen.add(`${axis}${text}`);
    variants.push({
      identifier,
      form,
      bytes: Buffer.from(text, 'latin1'),
      anyCase: false,
      boundary,
      evidence: decimals >= STRONG_DECIMALS ? 'strong' : 'weak',
      coordinate: { axis, decimals },
    });
  };
  for (const [axis, value, text] of [
    ['lat', location.lat, location.latText],
    ['lon', location.lon, location.lonText],
  ] as const) {
    const given = decimalsOf(text);
    add(axis, text, given, 'coordinates', 'number-start');
    for (
      let decimals = Math.min(given - 1, STRONG_DECIMALS);
      decimals >= MIN_DECIMALS;
      decimals--
    ) {
      add(axis, value.toFixed(decimals), decimals, `coordinates-${decimals}dp`, 'number-start');
      add(axis, truncate(text, decimals), decimals, `coordinates-${decimals}dp`, 'number-start');
    }
    const trimmed = text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
    if (decimalsOf(trimmed) >= MIN_DECIMALS) {
      add(
        axis,
        trimmed,
        decimalsOf(trimmed),
        `coordinates-${decimalsOf(trimmed)}dp`,
        'number-start',
      );
    }
    add(axis, String(Math.round(value * 1e6)), 6, 'coordinates-e6', 'digit');
    variants.push(...numericCoordinates(identifier, axis, value));
  }
  return variants;
}

/**
 * Degrees a coordinate sent as a number may be off: what the text forms accept, a value rounded
 * or truncated to 3 decimals (≈ 110 m). Where that range leaves too few high-order bytes fixed
 * for an anchor (an E7 int32 within 0.001° varies in its low 15 bits), the encoding is looked
 * for within 4 decimals (≈ 11 m), then 5: a 2-byte anchor would slow every binary scan 5×.
 */
export const NUMERIC_TOLERANCES: readonly number[] = [1e-3, 1e-4, 1e-5];
/** Fixed-point scales: degrees × 1e5, × 1e6 (Android's old E6) and × 1e7 (Google's E7). */
const SCALES: readonly [name: string, scale: number][] = [
  ['e5', 1e5],
  ['e6', 1e6],
  ['e7', 1e7],
];

/**
 * One coordinate as binary numbers: floats in both byte orders, and fixed-point integers in
 * varint, zigzag varint, fixed32 and big-endian int32, each within NUMERIC_TOLERANCES. Their form
 * names the encoding ("float64-le", "e7-zigzag-varint"). What may be strong evidence (see
 * `strongEncoding`) is strong only when the pair agrees to 5 decimals (location-pairs.ts).
 *
 * @example
 *   numericCoordinates(location, 'lat', 48.85661).map((v) => v.form)
 *   // → ['float64-le', 'float64-be', 'float32-le', 'float32-be', 'e5-varint', …, 'e7-int32-be']
 */
export function numericCoordinates(
  identifier: Identifier,
  axis: 'lat' | 'lon',
  value: number,
): Variant[] {
  const variants: Variant[] = [];
  const add = (form: string, encoding: NumberEncoding, center: number, scale: number) => {
    // The widest tolerance whose range still has anchors (few enough, long enough).
    let tolerance = 0;
    let anchors: ReturnType<typeof numberAnchors> = [];
    for (const degrees of NUMERIC_TOLERANCES) {
      tolerance = degrees * scale;
      anchors = numberAnchors(center - tolerance, center + tolerance, encoding);
      if (anchors.length > 0) break;
    }
    for (const { anchor, lead, trail } of anchors) {
      variants.push({
        identifier,
        form,
        bytes: anchor,
        anyCase: false,
        boundary: 'none',
        evidence: strongEncoding(encoding, scale) ? 'strong' : 'weak',
        coordinate: { axis, decimals: STRONG_DECIMALS },
        binary: true,
        numeric: { encoding, value: center, tolerance, unit: 1 / scale, lead, trail },
      });
    }
  };
  for (const encoding of FLOAT_ENCODINGS) add(encoding, encoding, value, 1);
  for (const [name, scale] of SCALES) {
    for (const encoding of FIXED_POINT_ENCODINGS)
      add(`${name}-${encoding}`, encoding, Math.round(value * scale), scale);
  }
  return variants;
}

/**
 * Which numeric forms can be strong evidence. A float64 and an E6/E7 varint carry a coordinate
 * to the metre in 4–10 bytes that few other numbers share. Four-byte forms (float32, fixed32,
 * int32) are words that sensor samples, colour tables and audio are full of, and an E5 integer
 * holds no more than the 5 decimals, in 3–4 varint bytes: a collision is plausible, they stay weak.
 */
function strongEncoding(encoding: NumberEncoding, scale: number): boolean {
  if (encoding.startsWith('float64')) return true;
  return scale >= 1e6 && (encoding === 'varint' || encoding === 'zigzag-varint');
}

function decimalsOf(text: string): number {
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

function truncate(text: string, decimals: number): string {
  const dot = text.indexOf('.');
  return dot < 0 ? text : text.slice(0, dot + 1 + decimals);
}
