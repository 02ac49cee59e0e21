import type { RawMatch } from './matcher.ts';
import { STRONG_DECIMALS } from './location-variants.ts';
import type { Variant } from './variant.ts';

/**
 * Most bytes between the two coordinates of one location: enough for
 * `"latitude":48.8566,"longitude":2.3522` or `lat=48.8566&lng=2.3522`, not for two numbers that
 * merely share a page. Binary forms use the same window: framing costs fewer bytes than text, so
 * 48 bytes hold what lies between two numbers of one message — a protobuf tag (1 byte), a
 * msgpack or CBOR key (1 + its length), an OTLP attribute's KeyValue framing (7 bytes) and a
 * key of up to 40 characters.
 */
export const PAIR_GAP = 48;

/**
 * Coordinates pair only within one way of writing them: text decimals with text decimals, E6
 * digits with E6 digits, and each binary encoding with itself (a float64-le latitude with a
 * float64-le longitude, as one message writes both).
 */
function pairingGroup(variant: Variant): string {
  if (variant.numeric || variant.form === 'coordinates-e6') return variant.form;
  return 'text';
}

/**
 * Replaces coordinate matches by location matches: a latitude and a longitude of the same
 * location, in either order, at most PAIR_GAP bytes apart. A coordinate without its partner is
 * dropped: alone, "2.352" is any number.
 *
 * @example
 *   // "lat=48.8566&lng=2.3522" → one match over both numbers, form "coordinates-4dp", evidence weak
 *   pairLocations(matches, variants)
 */
export function pairLocations(matches: RawMatch[], variants: readonly Variant[]): RawMatch[] {
  const result: RawMatch[] = [];
  const coordinates: RawMatch[] = [];
  for (const match of matches) {
    // A match with a form is a pair already (paired in a parent part): it stays as it is.
    if ((variants[match.variant] as Variant).coordinate && match.form === undefined)
      coordinates.push(match);
    else result.push(match);
  }
  if (coordinates.length === 0) return matches;
  const used = new Set<RawMatch>();
  for (const first of coordinates) {
    if (used.has(first)) continue;
    const a = variants[first.variant] as Variant;
    const partner = coordinates.find((second) => {
      if (second === first || used.has(second) || second.start < first.end) return false;
      const b = variants[second.variant] as Variant;
      return (
        b.identifier === a.identifier &&
        b.coordinate?.axis !== a.coordinate?.axis &&
        pairingGroup(a) === pairingGroup(b) &&
        second.start - first.end <= PAIR_GAP
      );
    });
    if (!partner) continue;
    const b = variants[partner.variant] as Variant;
    used.add(first);
    used.add(partner);
    // Several precisions of one number match at the same place (48.8566 and 48.856): the first
    // partner found is the longest, as matches come sorted by start, then longest first.
    const decimals = Math.min(
      first.decimals ?? a.coordinate?.decimals ?? 0,
      partner.decimals ?? b.coordinate?.decimals ?? 0,
    );
    const form =
      a.numeric || a.form === 'coordinates-e6'
        ? a.form
        : a.form === 'coordinates' && b.form === 'coordinates'
          ? 'coordinates'
          : `coordinates-${decimals}dp`;
    // A numeric form that stays weak (float32, fixed32…) keeps the pair weak at any precision.
    const strong =
      decimals >= STRONG_DECIMALS && a.evidence === 'strong' && b.evidence === 'strong';
    result.push({
      variant: first.variant,
      start: first.start,
      end: partner.end,
      form,
      evidence: strong ? 'strong' : 'weak',
    });
    // The other precisions of the same two numbers are the same finding.
    for (const other of coordinates) {
      if (other.start >= first.start && other.start < first.end) used.add(other);
      if (other.start >= partner.start && other.start < partner.end) used.add(other);
    }
  }
  return result.sort((x, y) => x.start - y.start || y.end - x.end);
}
