import { decode, MAX_DECODED } from '../../codec/compression.ts';
import { plausibleSnappyLength } from '../../codec/snappy.ts';
import { decompressWithin } from '../decode-budget.ts';
import type { Decoder } from '../decoder.ts';
import { decodedFrom } from './make-child.ts';
import { protobufFields } from './protobuf.ts';

/** A nested protobuf message, named by its field path: a field of a body, never a whole body. */
const PROTOBUF_FIELD = />protobuf:[\d.]+$/;

/**
 * A body declared protobuf that is raw snappy without saying so, as Loki push and some SDK batch
 * formats send it (`Content-Type: application/x-protobuf`, no Content-Encoding). Raw snappy has
 * no magic bytes, so it is taken only when it can be told safely: the whole body decodes as one
 * strict snappy block (the preamble's length equals the output exactly, every copy within what
 * was written, every byte used) and what it decodes to walks as a protobuf message. Anything
 * else is left to the protobuf decoder. Nested messages (the protobuf decoder's own children) are
 * not tried: a field is never a body compressed on its own.
 *
 * @example
 *   rawSnappyDecoder.open({ where: 'request-body', contentType: 'application/x-protobuf', bytes: snappy(pushRequest), depth: 0 }, scope)
 *   // → [{ where: 'request-body>snappy', contentType: 'application/x-protobuf', … }]
 */
export const rawSnappyDecoder: Decoder = {
  name: 'raw-snappy',
  open(part, scope) {
    if (part.unscanned || part.contentEncoding) return undefined;
    if (!part.contentType?.includes('protobuf') || PROTOBUF_FIELD.test(part.where)) {
      return undefined;
    }
    const where = `${part.where}>snappy`;
    const result = decode(part.bytes, 'snappy', Math.min(MAX_DECODED, scope.left));
    if ('invalid' in result) return undefined;
    if ('overBudget' in result) {
      // Only a length some snappy block this size could decode to says "snappy over budget";
      // a protobuf body whose first bytes read as a huge length is left to the protobuf decoder.
      if (plausibleSnappyLength(part.bytes) === undefined) return undefined;
      // Tells `scope` what was not decoded (the length alone is over; nothing is allocated).
      decompressWithin(part, part.bytes, 'snappy', scope, where);
      return undefined;
    }
    const fields = protobufFields(result.bytes);
    if (!fields || fields.length === 0) return undefined;
    scope.left -= result.bytes.length;
    return [decodedFrom(part, '>snappy', result.bytes, 0, part.bytes.length, part.contentType)];
  },
};
