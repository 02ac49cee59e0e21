import type { Decoder } from '../decoder.ts';
import { findBlobs, looksLikeText } from './blobs.ts';
import { jsonPathsAt } from './json-path.ts';
import { decodedFrom } from './make-child.ts';

/**
 * Base64 blobs and JWTs in a part that reads as text, decoded; in JSON, each named by its JSON
 * path ("request-body>json:$.d>base64"). Text without blobs is opened too, with no children: it
 * is scanned as it is, and is not binary for the decoders after this one.
 *
 * @example
 *   textBlobsDecoder.open({ where: 'request-body', bytes: Buffer.from('{"d":"eyJpbWVpIjoiMzU2OTM4MDM1NjQzODA5In0="}'), depth: 0 }, scope)
 *   // → [{ where: 'request-body>json:$.d>base64', bytes: <'{"imei":"356938035643809"}'>, … }]
 */
export const textBlobsDecoder: Decoder = {
  name: 'text-blobs',
  open(part) {
    if (!looksLikeText(part.bytes)) return undefined;
    const blobs = findBlobs(part.bytes);
    if (blobs.length === 0) return [];
    const first = part.bytes.find((byte) => byte > 0x20);
    const json = part.contentType?.includes('json') || first === 0x7b || first === 0x5b;
    const paths = json
      ? jsonPathsAt(
          part.bytes,
          blobs.map((blob) => blob.start),
        )
      : [];
    return blobs.map((blob, index) => {
      const path = paths[index];
      return decodedFrom(
        part,
        `${path ? `>json:${path}` : ''}>${blob.kind}`,
        blob.bytes,
        blob.start,
        blob.end,
        blob.kind.startsWith('jwt') ? 'application/json' : undefined,
      );
    });
  },
};
