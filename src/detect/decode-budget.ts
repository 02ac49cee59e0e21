import { decode, MAX_DECODED, type Compression } from '../codec/compression.ts';
import type { DecodeScope, Part } from './part.ts';

/** What one exchange's scan may decode in all: four bodies at the budget of one. */
export const EXCHANGE_DECODE_BUDGET = 4 * MAX_DECODED;

/**
 * A scope for one exchange's scan that tells `unscanned` what it could not scan.
 *
 * @example
 *   const scope = decodeScope((where, reason) => gaps.push({ where, reason }));
 *   scope.left // → EXCHANGE_DECODE_BUDGET
 */
export function decodeScope(unscanned: DecodeScope['unscanned']): DecodeScope {
  return { left: EXCHANGE_DECODE_BUDGET, unscanned };
}

/**
 * Undoes a compression within the exchange's budget. Bytes that merely look compressed give
 * undefined and are scanned as they are; bytes past the budget are told to `scope` as unscanned
 * under `where`, and give undefined too.
 *
 * @example
 *   decompressWithin(part, gzipSync('hi'), 'gzip', scope, 'request-body>gzip') // → <68 69>
 */
export function decompressWithin(
  part: Part,
  bytes: Uint8Array,
  compression: Compression,
  scope: DecodeScope,
  where: string,
): Uint8Array | undefined {
  const limit = Math.min(MAX_DECODED, scope.left);
  const result = decode(bytes, compression, limit);
  if ('bytes' in result) {
    scope.left -= result.bytes.length;
    return result.bytes;
  }
  if ('overBudget' in result) {
    scope.unscanned(
      where,
      limit < MAX_DECODED
        ? `${compression} inside ${part.where}: the exchange's decoding budget (${EXCHANGE_DECODE_BUDGET} bytes) was spent; not decoded`
        : `${compression} inside ${part.where} decoding past ${MAX_DECODED} bytes (a decompression bomb?): not decoded`,
    );
  }
  return undefined;
}
