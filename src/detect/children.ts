import { sniffCompression } from '../codec/compression.ts';
import type { Decoder } from './decoder.ts';
import { findBlobs, looksLikeText } from './decoders/blobs.ts';
import { DECODERS } from './decoders/registry.ts';
import type { Child, DecodeScope, Part } from './part.ts';

/** Decodings nested deeper than this are not opened: real traffic nests 3–4 deep at most. */
export const MAX_DEPTH = 8;

/**
 * Everything found inside a part: slices that name a piece of it more precisely (a cookie, a
 * multipart section, a protobuf field) and decodings (gzip, gRPC, base64, JWT, Basic auth), from
 * the first of `decoders` that recognises the part. What the budgets stop it from opening (too
 * deep, too big) is told to `scope`, never skipped silently.
 *
 * @example
 *   childrenOf({ where: 'header:cookie', bytes: Buffer.from('deviceId=42'), depth: 0 }, scope)[0].where // → 'cookie:deviceId'
 */
export function childrenOf(
  part: Part,
  scope: DecodeScope,
  decoders: readonly Decoder[] = DECODERS,
): Child[] {
  if (part.bytes.length === 0) return [];
  if (part.depth >= MAX_DEPTH) {
    if (opensFurther(part)) {
      scope.unscanned(part.where, `nested more than ${MAX_DEPTH} decodings deep: not opened`);
    }
    return [];
  }
  for (const decoder of decoders) {
    const children = decoder.open(part, scope);
    if (children) return children;
  }
  // No decoder recognised the part: its bytes are scanned as they are, and nothing in them is
  // opened. The detector then judges whether it is opaque (src/detect/opaque-parts.ts): that
  // needs the children of a text part and what was found opaque inside, so it runs there.
  return [];
}

/** Whether a part at the depth limit still holds something a decoder would open. */
function opensFurther(part: Part): boolean {
  if (sniffCompression(part.bytes, part.contentEncoding)) return true;
  return looksLikeText(part.bytes) && findBlobs(part.bytes).length > 0;
}
