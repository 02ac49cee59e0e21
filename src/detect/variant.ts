import type { Evidence, Identifier } from '../types.ts';
import type { NumberEncoding } from './number-encodings.ts';

/**
 * What must surround a match for it to count. A phone number inside a longer run of digits is
 * another number; an operator name inside a word ("Free" in "freedom") is not the operator.
 */
export type Boundary = 'none' | 'digit' | 'hex' | 'hex-start' | 'word' | 'number-start';

/** One encoded form of one identifier's value: the bytes to look for, and how to report a hit. */
export interface Variant {
  identifier: Identifier;
  /** How the value was dressed, e.g. "plain", "url-encoded", "sha256-hex", "base64@1". */
  form: string;
  bytes: Uint8Array;
  /** ASCII letters match in any case (hex, text); never for base64, where case is data. */
  anyCase: boolean;
  /**
   * The letters' case belongs to the encoding, not to the value (the hex digits of `\u00e9`):
   * any case matches and the finding does not name one.
   */
  caseless?: boolean;
  boundary: Boundary;
  /** Digits that must follow the bytes, of any value: the software version of an IMEISV. */
  trailingDigits?: number;
  evidence: Evidence;
  /** Set on one coordinate of a location: it only counts next to its partner (see pairing). */
  coordinate?: { axis: 'lat' | 'lon'; decimals: number };
  /**
   * Looked for in binary parts only (matcher.ts, `holdsBinary`): a number sent as a number, whose
   * bytes text never carries. Keeping these short patterns out of text parts keeps the text scan
   * at its stride.
   */
  binary?: boolean;
  /** Set on a number matched by value: `bytes` are then only its high-order bytes, the anchor. */
  numeric?: NumericCheck;
}

/**
 * A number that counts within a tolerance: the low-order bytes vary, so the matcher finds the
 * anchor (the high-order bytes, `Variant.bytes`), decodes the whole number around it and
 * compares.
 */
export interface NumericCheck {
  encoding: NumberEncoding;
  /** The number looked for, in the encoding's units (degrees × 1e7 for an E7 integer). */
  value: number;
  /** The largest |decoded − value| that counts, in the same units. */
  tolerance: number;
  /** Degrees per unit (1e-7 for E7): the precision of a match in degrees, for its evidence. */
  unit: number;
  /** Bytes of the number before the anchor: the low-order ones of a little-endian form. */
  lead: number;
  /** Bytes after the anchor: the low-order ones of a big-endian form. */
  trail: number;
}
