import { expect } from 'chai';
import { multipartDecoder } from '../../../src/detect/decoders/multipart.ts';
import type { Part } from '../../../src/detect/part.ts';
import { expectSurvivesHostileBytes, openWith, partOf } from '../../support/decoding.ts';

const IMEI = '356938035643809';
const FORM: Partial<Part> = {
  contentType: 'multipart/form-data',
  contentTypeParams: { boundary: 'xyz' },
};
const section = (headers: string, content: string) => `--xyz\r\n${headers}\r\n\r\n${content}\r\n`;
const body = (...sections: string[]) => `${sections.join('')}--xyz--\r\n`;
const disposition = (name: string) => `Content-Disposition: form-data; name="${name}"`;

/** What a child is: its name, its bytes, whether it is a slice, its content type. */
type Expected = [where: string, text: string, slice: boolean, contentType?: string];
const b64 = Buffer.from(IMEI).toString('base64');

const ROWS: [
  name: string,
  bytes: string,
  shape: Partial<Part>,
  expected: Expected[] | undefined,
][] = [
  [
    'one section per form field',
    body(section(disposition('imei'), IMEI), section(disposition('os'), '14')),
    FORM,
    [
      ['request-body>multipart:imei', IMEI, true],
      ['request-body>multipart:os', '14', true],
    ],
  ],
  [
    'a section with its own content type',
    body(section(`${disposition('meta')}\r\nContent-Type: Application/JSON`, '{}')),
    FORM,
    [['request-body>multipart:meta', '{}', true, 'application/json']],
  ],
  [
    'a base64 section, decoded',
    body(section(`${disposition('blob')}\r\nContent-Transfer-Encoding: base64`, b64)),
    FORM,
    [['request-body>multipart:blob>base64', IMEI, false]],
  ],
  [
    'a section without a name is named by its index',
    body(section('Content-Type: text/plain', IMEI)),
    { contentType: 'multipart/mixed', contentTypeParams: { boundary: 'xyz' } },
    [['request-body>multipart:0', IMEI, true, 'text/plain']],
  ],
  [
    'another boundary than declared: no section',
    body(section(disposition('imei'), IMEI)),
    { ...FORM, contentTypeParams: { boundary: 'abc' } },
    [],
  ],
  [
    'multipart without a boundary is not opened',
    body(section(disposition('imei'), IMEI)),
    { contentType: 'multipart/form-data' },
    undefined,
  ],
  [
    'not declared multipart',
    body(section(disposition('imei'), IMEI)),
    { contentType: 'text/plain', contentTypeParams: { boundary: 'xyz' } },
    undefined,
  ],
];

describe('decoder: multipart', () => {
  for (const [name, bytes, shape, expected] of ROWS) {
    it(name, () => {
      const children = openWith(multipartDecoder, partOf(bytes, shape)).children;
      expect(
        children?.map((child) => {
          const row: Expected = [child.where, child.text, child.slice];
          if (child.contentType) row.push(child.contentType);
          return row;
        }),
      ).to.deep.equal(expected);
      // Each child lies where its section's content is: the text itself, or the base64 of it.
      for (const child of children ?? []) {
        const source = bytes.slice(child.start, child.end);
        expect(source).to.equal(child.slice ? child.text : b64);
      }
    });
  }

  it('never throws on hostile bytes', () => {
    expectSurvivesHostileBytes(
      multipartDecoder,
      [FORM],
      Buffer.from(body(section(disposition('imei'), IMEI), section(disposition('os'), '14'))),
    );
  });
});
