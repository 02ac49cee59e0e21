import type { Decoder } from '../decoder.ts';
import { decodedFrom, sliceOf } from './make-child.ts';

/** One part of a multipart body: where its body lies, and its own headers. */
export interface MultipartSection {
  name: string;
  start: number;
  end: number;
  contentType?: string;
  transferEncoding?: string;
}

/**
 * The sections of a multipart body (form-data, mixed, related) by its boundary.
 *
 * @example
 *   multipartSections(body, 'xyz') // → [{ name: 'imei', start: 61, end: 76 }, …]
 */
export function multipartSections(bytes: Uint8Array, boundary: string): MultipartSection[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const sections: MultipartSection[] = [];
  let at = buffer.indexOf(delimiter);
  let index = 0;
  while (at >= 0) {
    const headersStart = at + delimiter.length;
    // "--boundary--" closes the body.
    if (buffer[headersStart] === 0x2d && buffer[headersStart + 1] === 0x2d) break;
    const headersEnd = buffer.indexOf('\r\n\r\n', headersStart);
    const next = buffer.indexOf(delimiter, headersStart);
    if (headersEnd < 0 || next < 0 || headersEnd > next) break;
    const headers = buffer.toString('latin1', headersStart, headersEnd);
    const start = headersEnd + 4;
    // The CRLF before the next delimiter belongs to the delimiter.
    const end = buffer[next - 2] === 0x0d && buffer[next - 1] === 0x0a ? next - 2 : next;
    const name = /name="([^"]*)"/i.exec(headers)?.[1] ?? String(index);
    const section: MultipartSection = { name, start, end };
    const type = /^content-type:\s*([^;\r\n]+)/im.exec(headers)?.[1];
    if (type) section.contentType = type.trim().toLowerCase();
    const transfer = /^content-transfer-encoding:\s*(\S+)/im.exec(headers)?.[1];
    if (transfer) section.transferEncoding = transfer.toLowerCase();
    sections.push(section);
    at = next;
    index++;
  }
  return sections;
}

/**
 * A multipart body declared with its boundary, one child per section named by its form field
 * ("request-body>multipart:imei"); a section sent as base64 is decoded.
 *
 * @example
 *   multipartDecoder.open({ where: 'request-body', contentType: 'multipart/form-data', contentTypeParams: { boundary: 'xyz' }, bytes, depth: 0 }, scope)
 *   // → [{ where: 'request-body>multipart:imei', slice: true, … }]
 */
export const multipartDecoder: Decoder = {
  name: 'multipart',
  open(part) {
    const boundary = part.contentTypeParams?.boundary;
    if (!part.contentType?.startsWith('multipart/') || !boundary) return undefined;
    return multipartSections(part.bytes, boundary).map((section) => {
      if (section.transferEncoding === 'base64') {
        const text = Buffer.from(part.bytes.subarray(section.start, section.end)).toString(
          'latin1',
        );
        return decodedFrom(
          part,
          `>multipart:${section.name}>base64`,
          Buffer.from(text.replace(/\s+/g, ''), 'base64'),
          section.start,
          section.end,
          section.contentType,
        );
      }
      return sliceOf(part, `${part.where}>multipart:${section.name}`, section.start, section.end, {
        contentType: section.contentType,
      });
    });
  },
};
