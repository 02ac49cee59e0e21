import { expect } from 'chai';
import { compress as snappyjs } from 'snappyjs';
import { compressionDecoder } from '../../../src/detect/decoders/compression.ts';
import { rawSnappyDecoder } from '../../../src/detect/decoders/raw-snappy.ts';
import type { Part } from '../../../src/detect/part.ts';
import { lz4Frame, lz4LegacyFrame, snappyFramed } from '../../support/compressed-frames.ts';
import { expectSurvivesHostileBytes, openWith, partOf, pbField } from '../../support/decoding.ts';

const IMEI = '356938035643809';
const PROTOBUF = 'application/x-protobuf';

/** A Loki-like push: a stream with labels and two entries, the IMEI in both (a back-reference). */
const PUSH = pbField(
  1,
  Buffer.concat([
    pbField(1, '{app="tracker"}'),
    pbField(2, pbField(2, `boot imei=${IMEI}`)),
    pbField(2, pbField(2, `ping imei=${IMEI}`)),
  ]),
);
const SNAPPY_PUSH = snappyjs(PUSH);

const ROWS: [name: string, bytes: Buffer, extra: Partial<Part>, opened: boolean][] = [
  ['raw snappy of protobuf, declared protobuf', SNAPPY_PUSH, { contentType: PROTOBUF }, true],
  [
    'declared as another protobuf media type',
    SNAPPY_PUSH,
    { contentType: 'application/vnd.google.protobuf' },
    true,
  ],
  ['protobuf that is not snappy', PUSH, { contentType: PROTOBUF }, false],
  [
    'snappy of something that is not protobuf (JSON)',
    snappyjs(Buffer.from(`{"imei":"${IMEI}","again":"${IMEI}"}`)),
    { contentType: PROTOBUF },
    false,
  ],
  [
    'not declared protobuf (octet-stream)',
    SNAPPY_PUSH,
    { contentType: 'application/octet-stream' },
    false,
  ],
  ['not declared at all', SNAPPY_PUSH, {}, false],
  [
    'a nested message (a field is never compressed on its own)',
    SNAPPY_PUSH,
    { contentType: PROTOBUF, where: 'request-body>protobuf:1', depth: 1 },
    false,
  ],
  [
    'a content-encoding the capture could not undo is the compression decoder’s',
    SNAPPY_PUSH,
    { contentType: PROTOBUF, contentEncoding: 'snappy' },
    false,
  ],
  [
    // A key for field 2^24 reads as a preamble of 2^27 bytes: no 20-byte block could hold it.
    'a protobuf body whose first bytes read as a huge length is no bomb',
    Buffer.concat([Buffer.from([0x82, 0x80, 0x80, 0x40, 0x0f]), Buffer.from(IMEI)]),
    { contentType: PROTOBUF },
    false,
  ],
];

describe('decoder: raw snappy in a protobuf body', () => {
  for (const [name, bytes, extra, opened] of ROWS) {
    it(name, () => {
      const { children, gaps } = openWith(rawSnappyDecoder, partOf(bytes, extra));
      expect(gaps).to.deep.equal([]);
      if (!opened) return expect(children).to.equal(undefined);
      expect(children).to.deep.equal([
        {
          where: 'request-body>snappy',
          start: 0,
          end: bytes.length,
          slice: false,
          contentType: extra.contentType,
          text: PUSH.toString('latin1'),
        },
      ]);
    });
  }

  it('the second IMEI was a back-reference in the compressed body, and is back', () => {
    expect(SNAPPY_PUSH.toString('latin1').split(IMEI)).to.have.length(2);
    const { children } = openWith(rawSnappyDecoder, partOf(SNAPPY_PUSH, { contentType: PROTOBUF }));
    expect(children?.[0]?.text.split(IMEI)).to.have.length(3);
  });

  it('tells the gap when the exchange budget is spent, and opens nothing', () => {
    const bytes = snappyjs(Buffer.concat(Array<Buffer>(200).fill(PUSH)));
    const { children, gaps } = openWith(
      rawSnappyDecoder,
      partOf(bytes, { contentType: PROTOBUF }),
      1000,
    );
    expect(children).to.equal(undefined);
    expect(gaps).to.deep.equal([
      `request-body>snappy: snappy inside request-body: the exchange's decoding budget (${4 * 64 * 1024 * 1024} bytes) was spent; not decoded`,
    ]);
  });

  it('never throws on hostile bytes', () => {
    expectSurvivesHostileBytes(rawSnappyDecoder, [{ contentType: PROTOBUF }], SNAPPY_PUSH);
  });
});

describe('decoder: compression, snappy and lz4', () => {
  const TEXT = `{"imei":"${IMEI}"}`;
  const rows: [name: string, bytes: Buffer, extra: Partial<Part>, where: string][] = [
    ['an lz4 frame by its magic', lz4Frame(Buffer.from(TEXT)), {}, 'request-body>lz4'],
    ['an lz4 legacy frame by its magic', lz4LegacyFrame(Buffer.from(TEXT)), {}, 'request-body>lz4'],
    [
      'framed snappy by its stream identifier',
      snappyFramed(Buffer.from(TEXT)),
      {},
      'request-body>snappy-framed',
    ],
    [
      'raw snappy, declared (content-encoding the capture could not undo)',
      snappyjs(Buffer.from(TEXT)),
      { contentEncoding: 'snappy' },
      'request-body>snappy',
    ],
  ];
  for (const [name, bytes, extra, where] of rows) {
    it(name, () => {
      const { children, gaps } = openWith(compressionDecoder, partOf(bytes, extra));
      expect(gaps).to.deep.equal([]);
      expect(children).to.deep.equal([
        { where, start: 0, end: bytes.length, slice: false, text: TEXT },
      ]);
    });
  }

  it('an lz4 frame past the exchange budget is told as a gap', () => {
    const bytes = lz4Frame(Buffer.alloc(100_000, 0x41));
    const { children, gaps } = openWith(compressionDecoder, partOf(bytes), 1000);
    expect(children).to.equal(undefined);
    expect(gaps[0]).to.match(
      /^request-body>lz4: lz4 inside request-body: the exchange's decoding budget/,
    );
  });

  it('never throws on hostile bytes', () => {
    expectSurvivesHostileBytes(
      compressionDecoder,
      [
        {},
        { contentEncoding: 'snappy' },
        { contentEncoding: 'x-snappy-framed' },
        { contentEncoding: 'lz4' },
      ],
      lz4Frame(Buffer.from(TEXT), { contentSize: true }),
    );
    expectSurvivesHostileBytes(
      compressionDecoder,
      [{ contentEncoding: 'snappy' }],
      snappyFramed(Buffer.from(TEXT)),
    );
  });
});
