import { cookieSlices } from './decoders/cookies.ts';
import type { Child, Part } from './part.ts';

/**
 * Everything found inside a part: slices that name a piece more precisely, and decodings.
 *
 * @example
 *   childrenOf({ where: 'header:cookie', bytes: Buffer.from('deviceId=42'), depth: 0 })[0].where // → 'cookie:deviceId'
 */
export function childrenOf(part: Part): Child[] {
  if (part.where === 'header:cookie') return cookieSlices(part);
  return [];
}
