import { findBlobs, looksLikeText } from './decoders/blobs.ts';
import { decode, MAX_DECODED, sniffCompression, type Compression } from '../codec/compression.ts';
import { cookieSlices } from './decoders/cookies.ts';
import { grpcFrames } from './decoders/grpc.ts';
import { jsonPathsAt } from './decoders/json-path.ts';
import { multipartSections } from './decoders/multipart.ts';
import { protobufFields } from './decoders/protobuf.ts';
import type { Child, DecodeScope, Part } from './part.ts';

/** Decodings nested deeper than this are not opened: real traffic nests 3–4 deep at most. */
export const MAX_DEPTH = 8;

const PROTOBUF = 'application/x-protobuf';
const MAX_UNDECLARED_PROTOBUF = 64 * 1024;

/** What one exchange's scan may decode in all: four bodies at the budget of one. */
export const EXCHANGE_DECODE_BUDGET = 4 * MAX_DECODED;

/** A scope for one exchange's scan that tells `unscanned` what it could not scan. */
export function decodeScope(unscanned: DecodeScope['unscanned']): DecodeScope {
  return { left: EXCHANGE_DECODE_BUDGET, unscanned };
}

/**
 * Everything found inside a part: slices that name a piece of it more precisely (a cookie, a
 * multipart section, a protobuf field) and decodings (gzip, gRPC, base64, JWT, Basic auth).
 * What the budgets stop it from opening (too deep, too big) is told to `scope`, never skipped
 * silently.
 *
 * @example
 *   childrenOf({ where: 'header:cookie', bytes: Buffer.from('deviceId=42'), depth: 0 }, scope)[0].where // → 'cookie:deviceId'
 */
export function childrenOf(part: Part, scope: DecodeScope): Child[] {
  if (part.bytes.length === 0) return [];
  if (part.depth >= MAX_DEPTH) {
    if (opensFurther(part)) {
      scope.unscanned(part.where, `nested more than ${MAX_DEPTH} decodings deep: not opened`);
    }
    return [];
  }
  if (part.where === 'header:cookie') return cookieSlices(part);
  if (part.where === 'header:authorization' || part.where === 'header:proxy-authorization') {
    const basic = basicAuth(part);
    if (basic) return [basic];
  }
  const compression = part.unscanned
    ? undefined
    : sniffCompression(part.bytes, part.contentEncoding);
  if (compression) {
    const bytes = decompress(part, part.bytes, compression, scope, `${part.where}>${compression}`);
    if (bytes)
      return [decoded(part, `>${compression}`, bytes, 0, part.bytes.length, part.contentType)];
  }
  const type = part.contentType ?? '';
  if (type.startsWith('application/grpc')) {
    const frames = grpcChildren(part, scope);
    if (frames) return frames;
  }
  if (type.includes('protobuf')) {
    const fields = protobufChildren(part);
    if (fields) return fields;
  }
  const boundary = part.contentTypeParams?.boundary;
  if (type.startsWith('multipart/') && boundary) return multipartChildren(part, boundary);
  if (looksLikeText(part.bytes)) return blobChildren(part);
  // Undeclared binary that is small (a decoded base64 blob, an app's octet-stream body) is often
  // protobuf; large binary is media, where a protobuf walk only finds noise.
  if (part.bytes.length <= MAX_UNDECLARED_PROTOBUF) return protobufChildren(part) ?? [];
  return [];
}

/**
 * Undoes a compression within the exchange's budget. Bytes that merely look compressed give
 * undefined and are scanned as they are; bytes past the budget are told to `scope` as unscanned.
 */
function decompress(
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

/** Whether a part at the depth limit still holds something a decoder would open. */
function opensFurther(part: Part): boolean {
  if (sniffCompression(part.bytes, part.contentEncoding)) return true;
  return looksLikeText(part.bytes) && findBlobs(part.bytes).length > 0;
}

function decoded(
  part: Part,
  suffix: string,
  bytes: Uint8Array,
  start: number,
  end: number,
  contentType?: string,
): Child {
  const child: Child = {
    where: `${part.where}${suffix}`,
    bytes,
    start,
    end,
    slice: false,
    depth: part.depth + 1,
  };
  if (contentType) child.contentType = contentType;
  return child;
}

function slice(part: Part, where: string, start: number, end: number, contentType?: string): Child {
  const context = part.context ?? { bytes: part.bytes, offset: 0 };
  const child: Child = {
    where,
    bytes: part.bytes.subarray(start, end),
    start,
    end,
    slice: true,
    depth: part.depth + 1,
    context: { bytes: context.bytes, offset: context.offset + start },
  };
  if (contentType) child.contentType = contentType;
  return child;
}

/** `Authorization: Basic base64(user:password)`: the user name is often a device id. */
function basicAuth(part: Part): Child | undefined {
  const text = Buffer.from(part.bytes).toString('latin1');
  const match = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(text);
  if (!match) return undefined;
  const start = text.indexOf(match[1] as string);
  return decoded(
    part,
    '>basic',
    Buffer.from(match[1] as string, 'base64'),
    start,
    start + (match[1] as string).length,
  );
}

function grpcChildren(part: Part, scope: DecodeScope): Child[] | undefined {
  const frames = grpcFrames(part.bytes);
  if (!frames) return undefined;
  return frames.map((frame) => {
    const where = `${part.where}>grpc[${frame.index}]`;
    if (!frame.compressed) return slice(part, where, frame.start, frame.end, PROTOBUF);
    // The message's compression is named in grpc-encoding; its magic bytes tell the same.
    const message = part.bytes.subarray(frame.start, frame.end);
    const compression = sniffCompression(message) ?? 'gzip';
    const bytes =
      decompress(part, message, compression, scope, `${where}>${compression}`) ?? message;
    const child = decoded(
      part,
      `>grpc[${frame.index}]>${compression}`,
      bytes,
      frame.start,
      frame.end,
      PROTOBUF,
    );
    return child;
  });
}

function protobufChildren(part: Part): Child[] | undefined {
  const fields = protobufFields(part.bytes);
  if (!fields || fields.length === 0) return undefined;
  // A field of a field is named "protobuf:1.3", not "protobuf:1>protobuf:3".
  const base = /^(.*)>protobuf:([\d.]+)$/.exec(part.where);
  return fields
    .filter((field) => !field.path.includes('.'))
    .map((field) => {
      const where = base
        ? `${base[1]}>protobuf:${base[2]}.${field.path}`
        : `${part.where}>protobuf:${field.path}`;
      return slice(part, where, field.start, field.end, field.nested ? PROTOBUF : undefined);
    });
}

function multipartChildren(part: Part, boundary: string): Child[] {
  return multipartSections(part.bytes, boundary).map((section) => {
    const where = `${part.where}>multipart:${section.name}`;
    if (section.transferEncoding === 'base64') {
      const text = Buffer.from(part.bytes.subarray(section.start, section.end)).toString('latin1');
      const child = decoded(
        part,
        `>multipart:${section.name}>base64`,
        Buffer.from(text.replace(/\s+/g, ''), 'base64'),
        section.start,
        section.end,
        section.contentType,
      );
      return child;
    }
    return slice(part, where, section.start, section.end, section.contentType);
  });
}

/** Base64 blobs and JWTs in a text part; in JSON, named by their JSON path. */
function blobChildren(part: Part): Child[] {
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
    const suffix = `${path ? `>json:${path}` : ''}>${blob.kind}`;
    return decoded(
      part,
      suffix,
      blob.bytes,
      blob.start,
      blob.end,
      blob.kind.startsWith('jwt') ? 'application/json' : undefined,
    );
  });
}
