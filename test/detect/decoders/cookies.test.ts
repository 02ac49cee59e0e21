import { expect } from 'chai';
import { cookiesDecoder } from '../../../src/detect/decoders/cookies.ts';
import {
  expectSurvivesHostileBytes,
  openWith,
  partOf,
  type ChildSummary,
} from '../../support/decoding.ts';

const IMEI = '356938035643809';
const COOKIE = { where: 'header:cookie' };
const cookie = (where: string, start: number, text: string): ChildSummary => ({
  where,
  start,
  end: start + text.length,
  slice: true,
  text,
});

const ROWS: [name: string, bytes: string, where: string, expected: ChildSummary[] | undefined][] = [
  ['one cookie', `deviceId=${IMEI}`, 'header:cookie', [cookie('cookie:deviceId', 9, IMEI)]],
  [
    'several cookies, spaces after the semicolons',
    `a=1; deviceId=${IMEI};b=x`,
    'header:cookie',
    [cookie('cookie:a', 2, '1'), cookie('cookie:deviceId', 14, IMEI), cookie('cookie:b', 32, 'x')],
  ],
  ['a pair without a name is not a cookie', '=1; ;x', 'header:cookie', []],
  ['an empty value', 'a=', 'header:cookie', [cookie('cookie:a', 2, '')]],
  ['any other header is not opened', `deviceId=${IMEI}`, 'header:x-device', undefined],
  ['a body is not opened', `deviceId=${IMEI}`, 'request-body', undefined],
];

describe('decoder: cookies', () => {
  for (const [name, bytes, where, expected] of ROWS) {
    it(name, () => {
      expect(openWith(cookiesDecoder, partOf(bytes, { where })).children).to.deep.equal(expected);
    });
  }

  it('never throws on hostile bytes', () => {
    expectSurvivesHostileBytes(cookiesDecoder, [COOKIE], Buffer.from(`a=1; deviceId=${IMEI}`));
  });
});
