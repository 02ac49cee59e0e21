import { expect } from 'chai';
import { exchangeParts } from '../../src/detect/exchange-parts.ts';
import { makeExchange } from './make-exchange.ts';

/** Bodies take the ASCII fast path or UTF-8 encoding: both must give the UTF-8 bytes. */
const BODIES: [name: string, text: string][] = [
  ['ASCII JSON', '{"imei":"356938035643809"}'],
  ['latin1 letters (two bytes each in UTF-8)', 'Zoé Canary, Émile'],
  ['letters beyond latin1', 'Дмитрий 陈 Ā'],
  ['an emoji (a surrogate pair)', 'hi 😀'],
  ['a lone surrogate (encoded as U+FFFD)', 'a\ud800b'],
  ['a control byte and DEL', 'a\u0001\u007f'],
];

describe('exchangeParts: body bytes', () => {
  for (const [name, text] of BODIES) {
    it(name, () => {
      const parts = exchangeParts(makeExchange({ requestBody: text }));
      const body = parts.find((part) => part.where === 'request-body');
      expect(Buffer.from(body?.bytes ?? []).toString('hex')).to.equal(
        Buffer.from(text, 'utf8').toString('hex'),
      );
    });
  }

  it('decodes a base64 body to its bytes', () => {
    const bytes = Buffer.from([0x1f, 0x8b, 0x00, 0xff, 0x80]);
    const parts = exchangeParts(makeExchange({ responseBody: bytes }));
    const body = parts.find((part) => part.where === 'response-body');
    expect(Buffer.from(body?.bytes ?? []).toString('hex')).to.equal(bytes.toString('hex'));
  });
});
