import type { Decoder } from '../decoder.ts';
import { decodedFrom } from './make-child.ts';

/**
 * `Authorization: Basic base64(user:password)`, decoded: the user name is often a device id.
 * Only the Authorization and Proxy-Authorization headers are read.
 *
 * @example
 *   basicAuthDecoder.open({ where: 'header:authorization', bytes: Buffer.from('Basic YTpi'), depth: 0 }, scope)
 *   // → [{ where: 'header:authorization>basic', bytes: <'a:b'>, … }]
 */
export const basicAuthDecoder: Decoder = {
  name: 'basic-auth',
  open(part) {
    if (part.where !== 'header:authorization' && part.where !== 'header:proxy-authorization')
      return undefined;
    const text = Buffer.from(part.bytes).toString('latin1');
    const match = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(text);
    if (!match) return undefined;
    const token = match[1] as string;
    const start = text.indexOf(token);
    return [decodedFrom(part, '>basic', Buffer.from(token, 'base64'), start, start + token.length)];
  },
};
