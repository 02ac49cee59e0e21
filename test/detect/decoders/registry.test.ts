import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import { compress as snappyjs } from 'snappyjs';
import { childrenOf, MAX_DEPTH } from '../../../src/detect/children.ts';
import { DECODERS } from '../../../src/detect/decoders/registry.ts';
import type { Part } from '../../../src/detect/part.ts';
import { encode as encodeCbor } from 'cbor2';
import { encode as encodeMsgpack } from '@msgpack/msgpack';
import avro from 'avsc';
import { grpcFrame, partOf, pbField, pbVarintField } from '../../support/decoding.ts';

const IMEI = '356938035643809';
const AVRO_RECORD = avro.Type.forSchema({
  type: 'record',
  name: 'Ping',
  fields: [
    { name: 'imei', type: 'string' },
    { name: 'at', type: 'long' },
    { name: 'email', type: 'string' },
    { name: 'battery', type: 'int' },
    { name: 'os', type: 'string' },
  ],
}).toBuffer({
  imei: IMEI,
  at: 1733612345678,
  email: 'ana.canary@example.com',
  battery: 26,
  os: 'android 14',
});

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
    'undeclared msgpack is msgpack, not sniffed protobuf',
    partOf(Buffer.from(encodeMsgpack({ imei: IMEI, n: 1 }))),
    ['request-body>msgpack:$.imei'],
  ],
  [
    'undeclared CBOR is CBOR, not sniffed protobuf',
    partOf(Buffer.from(encodeCbor({ imei: IMEI, n: 1 }))),
    ['request-body>cbor:$.imei'],
  ],
  [
    'undeclared protobuf whose first field number needs two bytes (0x82 0x01: a msgpack map header) stays protobuf',
    partOf(Buffer.concat([pbField(16, IMEI), pbVarintField(2, 1), pbField(3, 'x\x00')])),
    ['request-body>protobuf:16', 'request-body>protobuf:3'],
  ],
  [
    'undeclared protobuf with a nested message stays protobuf, not Avro',
    partOf(Buffer.concat([pbField(1, pbField(2, `${IMEI} and text`)), pbVarintField(3, 300)])),
    ['request-body>protobuf:1'],
  ],
  [
    'an undeclared Avro record avsc wrote is Avro',
    partOf(AVRO_RECORD),
    ['request-body>avro:[0]', 'request-body>avro:[1]', 'request-body>avro:[2]'],
  ],
  [
    'gzip holding msgpack: unzipped first',
    partOf(gzipSync(encodeMsgpack({ imei: IMEI }))),
    ['request-body>gzip'],
  ],
  [
    'declared msgpack that is JSON text is left to the text decoder',
    partOf(JSON.stringify({ imei: IMEI }), { contentType: 'application/msgpack' }),
    [],
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
      'msgpack',
      'cbor',
      'avro',
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
