import type { Decoder } from '../decoder.ts';
import { avroDecoder } from './avro.ts';
import { basicAuthDecoder } from './basic-auth.ts';
import { cborDecoder } from './cbor.ts';
import { compressionDecoder } from './compression.ts';
import { cookiesDecoder } from './cookies.ts';
import { grpcDecoder } from './grpc.ts';
import { msgpackDecoder } from './msgpack.ts';
import { multipartDecoder } from './multipart.ts';
import { protobufDecoder, sniffedProtobufDecoder } from './protobuf.ts';
import { rawSnappyDecoder } from './raw-snappy.ts';
import { textBlobsDecoder } from './text-blobs.ts';

/**
 * Every format the detector opens, in the order it tries them: the first decoder that recognises
 * a part gives its children, and the rest are not tried. Named places first (a cookie, an
 * Authorization header), then what wraps (compression, raw snappy in a protobuf body, gRPC
 * framing), then what the part declares (protobuf, multipart), then what its bytes look like:
 * msgpack, CBOR and Avro (declared, or undeclared only when the whole part parses strictly, so
 * they never take text or a protobuf message), text with blobs, small binary that walks as
 * protobuf. Adding a format is adding its file and one line here.
 *
 * @example
 *   DECODERS.map((decoder) => decoder.name) // → ['cookies', 'basic-auth', 'compression', 'grpc', …]
 */
export const DECODERS: readonly Decoder[] = [
  cookiesDecoder,
  basicAuthDecoder,
  compressionDecoder,
  rawSnappyDecoder,
  grpcDecoder,
  protobufDecoder,
  multipartDecoder,
  msgpackDecoder,
  cborDecoder,
  avroDecoder,
  textBlobsDecoder,
  sniffedProtobufDecoder,
];
