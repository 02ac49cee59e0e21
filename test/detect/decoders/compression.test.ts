import { expect } from 'chai';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import type { Part } from '../../../src/detect/part.ts';
import { compressionDecoder } from '../../../src/detect/decoders/compression.ts';
import { expectSurvivesHostileBytes, openWith, partOf } from '../../support/decoding.ts';

const TEXT = '{"imei":"356938035643809"}';

/** A zstd frame holding `text` as one raw block, written out by hand (RFC 8878, 3.1.1). */
function zstdRaw(text: string): Buffer {
  const content = Buffer.from(text);
  const header = (content.length << 3) | 1;
  return Buffer.concat([
    Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, content.length]),
    Buffer.from([header & 0xff, (header >> 8) & 0xff, header >> 16]),
    content,
  ]);
}

const ROWS: [name: string, bytes: Buffer, extra: Partial<Part>, where: string | undefined][] = [
  ['gzip by its magic bytes', gzipSync(TEXT), {}, 'request-body>gzip'],
  ['zlib deflate by its header', deflateSync(TEXT), {}, 'request-body>deflate'],
  [
    'raw deflate, declared (no header to sniff)',
    deflateRawSync(TEXT),
    { contentEncoding: 'deflate' },
    'request-body>deflate',
  ],
  [
    'brotli, declared (no magic bytes)',
    brotliCompressSync(TEXT),
    { contentEncoding: 'br' },
    'request-body>br',
  ],
  ['zstd by its magic bytes', zstdRaw(TEXT), {}, 'request-body>zstd'],
  [
    'gzip inside a protobuf bytes field (a slice)',
    gzipSync(TEXT),
    { where: 'request-body>protobuf:2', depth: 1 },
    'request-body>protobuf:2>gzip',
  ],
  ['text is not compressed', Buffer.from(TEXT), {}, undefined],
  [
    'gzip magic bytes and garbage are left as they are',
    Buffer.from('\x1f\x8b\x08garbage'),
    {},
    undefined,
  ],
  ['brotli not declared is not guessed', brotliCompressSync(TEXT), {}, undefined],
  [
    'a body the capture could not decode is not decoded again',
    gzipSync(TEXT),
    { unscanned: 'over the capture budget' },
    undefined,
  ],
];

describe('decoder: compression', () => {
  for (const [name, bytes, extra, where] of ROWS) {
    it(name, () => {
      const part = partOf(bytes, extra);
      const { children, gaps } = openWith(compressionDecoder, part);
      expect(gaps).to.deep.equal([]);
      if (where === undefined) return expect(children).to.equal(undefined);
      expect(children).to.deep.equal([
        { where, start: 0, end: bytes.length, slice: false, text: TEXT },
      ]);
    });
  }

  it('keeps the content type: gzip of JSON is JSON', () => {
    const part = partOf(gzipSync(TEXT), { contentType: 'application/json' });
    expect(openWith(compressionDecoder, part).children?.[0]?.contentType).to.equal(
      'application/json',
    );
  });

  it('tells the gap when the exchange budget is spent, and opens nothing', () => {
    const bytes = gzipSync('x'.repeat(10_000));
    const { children, gaps } = openWith(compressionDecoder, partOf(bytes), 1000);
    expect(children).to.equal(undefined);
    expect(gaps).to.have.length(1);
    expect(gaps[0]).to.match(
      /^request-body>gzip: gzip inside request-body: the exchange's decoding budget/,
    );
  });

  it('never throws on hostile bytes', () => {
    expectSurvivesHostileBytes(
      compressionDecoder,
      [{}, { contentEncoding: 'gzip' }, { contentEncoding: 'br' }, { contentEncoding: 'zstd' }],
      gzipSync(TEXT),
    );
  });
});
