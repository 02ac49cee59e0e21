import { expect } from 'chai';
import { basicAuthDecoder } from '../../../src/detect/decoders/basic-auth.ts';
import {
  expectSurvivesHostileBytes,
  openWith,
  partOf,
  type ChildSummary,
} from '../../support/decoding.ts';

const IMEI = '356938035643809';
const token = Buffer.from(`${IMEI}:secret`).toString('base64');

const ROWS: [name: string, bytes: string, where: string, expected: ChildSummary[] | undefined][] = [
  [
    'Authorization: Basic',
    `Basic ${token}`,
    'header:authorization',
    [
      {
        where: 'header:authorization>basic',
        start: 6,
        end: 6 + token.length,
        slice: false,
        text: `${IMEI}:secret`,
      },
    ],
  ],
  [
    'Proxy-Authorization, scheme in any case, spaces around',
    `  bAsIc ${token} `,
    'header:proxy-authorization',
    [
      {
        where: 'header:proxy-authorization>basic',
        start: 8,
        end: 8 + token.length,
        slice: false,
        text: `${IMEI}:secret`,
      },
    ],
  ],
  [
    'a Bearer token is left to the blob finder',
    `Bearer ${token}`,
    'header:authorization',
    undefined,
  ],
  ['Basic with characters outside base64', 'Basic a b', 'header:authorization', undefined],
  ['the same text in another header', `Basic ${token}`, 'header:x-auth', undefined],
];

describe('decoder: basic-auth', () => {
  for (const [name, bytes, where, expected] of ROWS) {
    it(name, () => {
      expect(openWith(basicAuthDecoder, partOf(bytes, { where })).children).to.deep.equal(expected);
    });
  }

  it('never throws on hostile bytes', () => {
    expectSurvivesHostileBytes(
      basicAuthDecoder,
      [{ where: 'header:authorization' }],
      Buffer.from(`Basic ${token}`),
    );
  });
});
