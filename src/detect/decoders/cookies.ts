import type { Decoder } from '../decoder.ts';
import type { Child, Part } from '../part.ts';

/**
 * The Cookie header, one slice per cookie. Every cookie header is opened, with no children when
 * it holds no name=value pair.
 *
 * @example
 *   cookiesDecoder.open({ where: 'header:cookie', bytes: Buffer.from('deviceId=42'), depth: 0 }, scope)?.[0]?.where
 *   // → 'cookie:deviceId'
 */
export const cookiesDecoder: Decoder = {
  name: 'cookies',
  open: (part) => (part.where === 'header:cookie' ? cookieSlices(part) : undefined),
};

/**
 * Splits a Cookie header into one slice per cookie, so a finding says `cookie:deviceId` rather
 * than the whole header.
 *
 * @example
 *   cookieSlices({ where: 'header:cookie', bytes: Buffer.from('a=1; deviceId=42'), depth: 0 })
 *   // → slices 'cookie:a' (bytes 2..3) and 'cookie:deviceId' (bytes 14..16)
 */
export function cookieSlices(part: Part): Child[] {
  const text = Buffer.from(
    part.bytes.buffer,
    part.bytes.byteOffset,
    part.bytes.byteLength,
  ).toString('latin1');
  const children: Child[] = [];
  let at = 0;
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) {
      const name = pair.slice(0, eq).trim();
      const start = at + eq + 1;
      const end = at + pair.length;
      children.push({
        where: `cookie:${name}`,
        bytes: part.bytes.subarray(start, end),
        start,
        end,
        slice: true,
        depth: part.depth,
        context: { bytes: part.bytes, offset: start },
      });
    }
    at += pair.length + 1;
  }
  return children;
}
