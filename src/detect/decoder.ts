import type { Child, DecodeScope, Part } from './part.ts';

/**
 * One format the detector can open: a compression, a framing (gRPC), a structure (protobuf,
 * msgpack, CBOR, multipart, JSON with base64 blobs). The detector tries the registry's decoders
 * in order and takes the children of the first that recognises the part.
 *
 * A decoder never throws on hostile bytes, bounds its own work (depth, count, the scope's byte
 * budget) and tells `scope.unscanned` what it recognised but would not open.
 *
 * @example
 *   const gzip: Decoder = { name: 'gzip', open: (part, scope) => … };
 */
export interface Decoder {
  /** Short name for docs and tests: "gzip", "protobuf", "msgpack". */
  readonly name: string;
  /** What this decoder finds inside `part`, or undefined when the part is not in its format. */
  open(part: Part, scope: DecodeScope): Child[] | undefined;
}
