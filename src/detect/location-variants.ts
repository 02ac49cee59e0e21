import type { Identifier } from '../types.ts';
import { parseLocation } from './identifiers.ts';
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
  }
  return variants;
}

function decimalsOf(text: string): number {
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

function truncate(text: string, decimals: number): string {
  const dot = text.indexOf('.');
  return dot < 0 ? text : text.slice(0, dot + 1 + decimals);
}
