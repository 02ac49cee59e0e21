import { sniffCompression } from '../../codec/compression.ts';
import { decompressWithin } from '../decode-budget.ts';
import type { Decoder } from '../decoder.ts';
import { decodedFrom } from './make-child.ts';

/**
 * Any compression `sniffCompression` knows, declared (content-encoding the capture could not undo)
 * or told by its magic bytes, undone within the exchange's budget. The decoded child keeps the
 * part's content type: a gzip'd JSON body is still JSON. Bytes that only look compressed are left
 * to the next decoder.
 *
 * @example
 *   compressionDecoder.open({ where: 'request-body', bytes: gzipSync('{"a":1}'), depth: 0 }, scope)
 *   // → [{ where: 'request-body>gzip', bytes: <'{"a":1}'>, … }]
 */
export const compressionDecoder: Decoder = {
  name: 'compression',
  open(part, scope) {
    // A body the capture already failed to decode within its budget would only fail again.
    if (part.unscanned) return undefined;
    const compression = sniffCompression(part.bytes, part.contentEncoding);
    if (!compression) return undefined;
    const where = `${part.where}>${compression}`;
    const bytes = decompressWithin(part, part.bytes, compression, scope, where);
    if (!bytes) return undefined;
    return [decodedFrom(part, `>${compression}`, bytes, 0, part.bytes.length, part.contentType)];
  },
};
