import { expect } from 'chai';
import { textBlobsDecoder } from '../../../src/detect/decoders/text-blobs.ts';
import type { Part } from '../../../src/detect/part.ts';
import { expectSurvivesHostileBytes, openWith, partOf } from '../../support/decoding.ts';

const INNER = '{"imei":"356938035643809"}';
const B64 = Buffer.from(INNER).toString('base64');
const B64URL = Buffer.from(`${INNER}??>>`).toString('base64url');
const JWT = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(INNER).toString('base64url')}.c2ln`;

const ROWS: [
  name: string,
  text: string,
  shape: Partial<Part>,
  expected: [where: string, decoded: string][] | undefined,
][] = [
  [
    'a base64 blob in JSON, named by its path',
    JSON.stringify({ d: { x: B64 } }),
    { contentType: 'application/json' },
    [['request-body>json:$.d.x>base64', INNER]],
  ],
  [
    'JSON undeclared, known by its first byte',
    ` [1,"${B64}"]`,
    {},
    [['request-body>json:$[1]>base64', INNER]],
  ],
  [
    'base64url in a query string',
    `a=1&d=${B64URL}`,
    { where: 'url' },
    [['url>base64', `${INNER}??>>`]],
  ],
  [
    'a JWT: header and payload',
    `Bearer ${JWT}`,
    { where: 'header:authorization' },
    [
      ['header:authorization>jwt:header', '{"alg":"HS256"}'],
      ['header:authorization>jwt:payload', INNER],
    ],
  ],
  ['text without blobs is opened, with no children', 'hello world, nothing encoded here', {}, []],
  ['a hex digest is not base64', 'd41d8cd98f00b204e9800998ecf8427e', {}, []],
  ['binary is not text', '\x00\x01\x02\x03\x04\x05\x06\x07\x0e\x0f\x10\x11', {}, undefined],
];

describe('decoder: text-blobs', () => {
  for (const [name, text, shape, expected] of ROWS) {
    it(name, () => {
      const children = openWith(textBlobsDecoder, partOf(text, shape)).children;
      expect(children?.map((child) => [child.where, child.text])).to.deep.equal(expected);
    });
  }

  it('says where each blob lies in the text', () => {
    const text = `{"d":"${B64}"}`;
    const [child] = openWith(textBlobsDecoder, partOf(text)).children ?? [];
    expect(text.slice(child?.start, child?.end)).to.equal(B64);
  });

  it('never throws on hostile bytes', () => {
    expectSurvivesHostileBytes(
      textBlobsDecoder,
      [{}, { contentType: 'application/json' }],
      Buffer.from(`{"d":"${B64}","t":"${JWT}"}`),
    );
  });
});
