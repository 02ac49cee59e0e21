import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import { grpcDecoder } from '../../../src/detect/decoders/grpc.ts';
import {
  expectSurvivesHostileBytes,
  grpcFrame,
  openWith,
  partOf,
  pbField,
  type ChildSummary,
} from '../../support/decoding.ts';

const IMSI = '208011234567890';
const GRPC = { contentType: 'application/grpc' };
const PROTOBUF = 'application/x-protobuf';
const message = pbField(2, IMSI);

const ROWS: [name: string, bytes: Buffer, type: string, expected: ChildSummary[] | undefined][] = [
  [
    'one message',
    grpcFrame(message),
    'application/grpc',
    [
      {
        where: 'request-body>grpc[0]',
        start: 5,
        end: 5 + message.length,
        slice: true,
        contentType: PROTOBUF,
        text: message.toString('latin1'),
      },
    ],
  ],
  [
    'two messages, gRPC-Web',
    Buffer.concat([grpcFrame(message), grpcFrame(Buffer.alloc(0))]),
    'application/grpc-web+proto',
    [
      {
        where: 'request-body>grpc[0]',
        start: 5,
        end: 22,
        slice: true,
        contentType: PROTOBUF,
        text: message.toString('latin1'),
      },
      {
        where: 'request-body>grpc[1]',
        start: 27,
        end: 27,
        slice: true,
        contentType: PROTOBUF,
        text: '',
      },
    ],
  ],
  [
    'a compressed message, decompressed',
    grpcFrame(gzipSync(message), true),
    'application/grpc',
    [
      {
        where: 'request-body>grpc[0]>gzip',
        start: 5,
        end: 5 + gzipSync(message).length,
        slice: false,
        contentType: PROTOBUF,
        text: message.toString('latin1'),
      },
    ],
  ],
  [
    'a length past the end is not gRPC',
    Buffer.from([0, 0, 0, 0, 9, 1]),
    'application/grpc',
    undefined,
  ],
  ['a stray flag byte is not gRPC', Buffer.from([0x42, 0, 0, 0, 0]), 'application/grpc', undefined],
  [
    'gRPC framing in a body not declared gRPC',
    grpcFrame(message),
    'application/octet-stream',
    undefined,
  ],
];

describe('decoder: grpc', () => {
  for (const [name, bytes, contentType, expected] of ROWS) {
    it(name, () => {
      expect(openWith(grpcDecoder, partOf(bytes, { contentType })).children).to.deep.equal(
        expected,
      );
    });
  }

  it('never throws on hostile bytes', () => {
    expectSurvivesHostileBytes(
      grpcDecoder,
      [GRPC],
      Buffer.concat([grpcFrame(message), grpcFrame(gzipSync(message), true)]),
    );
  });
});
