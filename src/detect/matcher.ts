import type { Variant } from './variant.ts';

/** A verified occurrence of one variant: byte range in the scanned part. */
export interface RawMatch {
  variant: number;
  start: number;
  end: number;
}

export interface Matcher {
  variants: readonly Variant[];
  scan(bytes: Uint8Array): RawMatch[];
}

/** First cut: one search per variant; replaced by the automaton behind the same interface. */
export function createMatcher(variants: Variant[]): Matcher {
  return {
    variants,
    scan(bytes) {
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const matches: RawMatch[] = [];
      variants.forEach((variant, index) => {
        let at = buffer.indexOf(variant.bytes);
        while (at >= 0) {
          matches.push({ variant: index, start: at, end: at + variant.bytes.length });
          at = buffer.indexOf(variant.bytes, at + 1);
        }
      });
      return matches;
    },
  };
}
