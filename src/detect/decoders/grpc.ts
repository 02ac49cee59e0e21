import { sniffCompression } from '../../codec/compression.ts';
import { decompressWithin } from '../decode-budget.ts';
import type { Decoder } from '../decoder.ts';
import { decodedFrom, sliceOf } from './make-child.ts';
import { PROTOBUF_TYPE } from './protobuf.ts';

/** One gRPC message in a body: 1 byte "compressed" flag, 4 bytes big-endian length, the message. */
export interface GrpcFrame {
  index: number;
  start: number;
  end: number;
  compressed: boolean;
}

/**
 * Splits a gRPC (or gRPC-Web) body into its length-prefixed messages. Returns undefined when the
 * framing does not add up, so a body that is not gRPC is scanned as it is.
 *
 * @example
 *   grpcFrames(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01])) // → [{ index: 0, start: 5, end: 7, compressed: false }]
 */
export function grpcFrames(bytes: Uint8Array): GrpcFrame[] | undefined {
  const frames: GrpcFrame[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 5 > bytes.length) return undefined;
    const flag = bytes[at] as number;
    // gRPC-Web trailers frames set bit 7; their body is text headers, scanned with the rest.
    if ((flag & 0x7e) !== 0) return undefined;
    const length =
      ((bytes[at + 1] as number) << 24) |
      ((bytes[at + 2] as number) << 16) |
      ((bytes[at + 3] as number) << 8) |
      (bytes[at + 4] as number);
    const start = at + 5;
    const end = start + (length >>> 0);
    if (end > bytes.length) return undefined;
    frames.push({ index: frames.length, start, end, compressed: (flag & 1) === 1 });
    at = end;
  }
  return frames;
}

/**
 * A body declared as gRPC (or gRPC-Web), one child per message, each a protobuf message
 * ("request-body>grpc[0]"); a compressed message is decompressed within the exchange's budget
 * ("request-body>grpc[0]>gzip"). A message is a whole structure, not one value: its matches move
 * into it as they are.
 *
 * @example
 *   grpcDecoder.open({ where: 'request-body', contentType: 'application/grpc', bytes: Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]), depth: 0 }, scope)
 *   // → [{ where: 'request-body>grpc[0]', start: 5, end: 7, contentType: 'application/x-protobuf', … }]
 */
export const grpcDecoder: Decoder = {
  name: 'grpc',
  open(part, scope) {
    if (!part.contentType?.startsWith('application/grpc')) return undefined;
    const frames = grpcFrames(part.bytes);
    if (!frames) return undefined;
    return frames.map((frame) => {
      const where = `${part.where}>grpc[${frame.index}]`;
      if (!frame.compressed)
        return sliceOf(part, where, frame.start, frame.end, { contentType: PROTOBUF_TYPE });
      // The message's compression is named in grpc-encoding; its magic bytes tell the same.
      const message = part.bytes.subarray(frame.start, frame.end);
      const compression = sniffCompression(message) ?? 'gzip';
      const bytes =
        decompressWithin(part, message, compression, scope, `${where}>${compression}`) ?? message;
      return decodedFrom(
        part,
        `>grpc[${frame.index}]>${compression}`,
        bytes,
        frame.start,
        frame.end,
        PROTOBUF_TYPE,
      );
    });
  },
};
