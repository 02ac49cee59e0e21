import type { Child, Part } from '../part.ts';

/**
 * A child that is a piece of `part`'s own bytes under a more precise name (a cookie, a multipart
 * section, a protobuf field): not scanned again, the parent's matches inside it move to it —
 * unless `field` says it is exactly one value of a structure, which is judged on its own bytes.
 *
 * @example
 *   sliceOf(part, 'request-body>protobuf:1', 2, 17, { field: true }).bytes // → part.bytes[2..17]
 */
export function sliceOf(
  part: Part,
  where: string,
  start: number,
  end: number,
  options: { contentType?: string | undefined; field?: boolean } = {},
): Child {
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
  if (options.contentType) child.contentType = options.contentType;
  if (options.field) child.field = true;
  return child;
}

/**
 * A child that `part`'s bytes [start, end) turn into once decoded (unzipped, base64-decoded):
 * named `part.where` + `suffix`, scanned on its own.
 *
 * @example
 *   decodedFrom(part, '>gzip', gunzipped, 0, part.bytes.length).where // → 'request-body>gzip'
 */
export function decodedFrom(
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
