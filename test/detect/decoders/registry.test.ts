import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import { compress as snappyjs } from 'snappyjs';
import { childrenOf, MAX_DEPTH } from '../../../src/detect/children.ts';
import { DECODERS } from '../../../src/detect/decoders/registry.ts';
import type { Part } from '../../../src/detect/part.ts';
import { grpcFrame, partOf, pbField } from '../../support/decoding.ts';

const IMEI = '356938035643809';

/** Which decoder opens a part when several could: the first in DECODERS. */
const ROWS: [name: string, part: Part, where: string[]][] = [
  [
    'a cookie header is cookies, whatever it holds',
    partOf(`a=${Buffer.from(IMEI.repeat(2)).toString('base64')}`, { where: 'header:cookie' }),
    ['cookie:a'],
  ],
  [
    'Basic auth before the blob finder',
    partOf(`Basic ${Buffer.from(`${IMEI}:pw`).toString('base64')}`, {
      where: 'header:authorization',
    }),
    ['header:authorization>basic'],
  ],
  [
    'a gzip body declared protobuf is unzipped first',
    partOf(gzipSync(pbField(1, IMEI)), { contentType: 'application/x-protobuf' }),
    ['request-body>gzip'],
  ],
  [
    'raw snappy in a body declared protobuf before protobuf',
    partOf(snappyjs(Buffer.concat([pbField(1, IMEI), pbField(1, IMEI)])), {
      contentType: 'application/x-protobuf',
    }),
    ['request-body>snappy'],
  ],
  [
    'gRPC before protobuf (application/grpc+proto)',
    partOf(grpcFrame(pbField(1, IMEI)), { contentType: 'application/grpc+proto' }),
    ['request-body>grpc[0]'],
  ],
  [
    'declared protobuf that reads as text is still protobuf',
    partOf(pbField(1, `imei ${IMEI} and more text`), { contentType: 'application/x-protobuf' }),
    ['request-body>protobuf:1'],
  ],
  [
    'undeclared protobuf that reads as text is text',
    partOf(pbField(1, `imei ${IMEI} and more text`)),
    [],
  ],
  [
    'undeclared binary protobuf is sniffed last',
    partOf(Buffer.concat([pbField(1, IMEI), pbField(2, '\x00\x01')])),
    ['request-body>protobuf:1', 'request-body>protobuf:2'],
  ],
  [
    'binary no decoder explains: no children',
    partOf(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x02])),
    [],
  ],
];

describe('decoder registry', () => {
  it('lists every decoder once, in the documented order', () => {
    expect(DECODERS.map((decoder) => decoder.name)).to.deep.equal([
      'cookies',
      'basic-auth',
      'compression',
      'raw-snappy',
      'grpc',
      'protobuf',
      'multipart',
      'text-blobs',
      'protobuf (sniffed)',
    ]);
  });

  for (const [name, part, where] of ROWS) {
    it(name, () => {
      const children = childrenOf(part, { left: 1 << 20, unscanned: () => {} });
      expect(children.map((child) => child.where)).to.deep.equal(where);
    });
  }

  it('opens nothing past the depth limit, and says so', () => {
    const gaps: string[] = [];
    const part = partOf(gzipSync(IMEI), { where: 'request-body>base64', depth: MAX_DEPTH });
    expect(
      childrenOf(part, { left: 1 << 20, unscanned: (where, why) => gaps.push(`${where}: ${why}`) }),
    ).to.deep.equal([]);
    expect(gaps).to.deep.equal([
      `request-body>base64: nested more than ${MAX_DEPTH} decodings deep: not opened`,
    ]);
  });
});
