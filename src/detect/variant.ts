import type { Evidence, Identifier } from '../types.ts';

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
}
