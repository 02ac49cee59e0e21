import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import { createDetector } from '../../../src/detect/detector.ts';
import { protobufDecoder, sniffedProtobufDecoder } from '../../../src/detect/decoders/protobuf.ts';
import { identifiersFrom } from '../../../src/detect/identifiers.ts';
import {
  expectSurvivesHostileBytes,
  grpcFrame,
  openWith,
  partOf,
  pbField,
  pbVarintField,
  type ChildSummary,
} from '../../support/decoding.ts';
import { seededRandom } from '../../support/seeded-random.ts';
import { makeExchange } from '../make-exchange.ts';

const IMEI = '356938035643809';
const PROTOBUF = 'application/x-protobuf';

describe('decoder: protobuf', () => {
  const inner = Buffer.concat([pbVarintField(1, 7), pbField(3, IMEI)]);
  const ROWS: [name: string, bytes: Buffer, type: string, expected: ChildSummary[] | undefined][] =
    [
      [
        'a string field is one value',
        pbField(1, IMEI),
        PROTOBUF,
        [
          {
            where: 'request-body>protobuf:1',
            start: 2,
            end: 17,
            slice: true,
            field: true,
            text: IMEI,
          },
        ],
      ],
      [
        'a nested message is a slice the protobuf decoder opens again',
        Buffer.concat([pbField(1, 'x'), pbField(2, inner)]),
        PROTOBUF,
        [
          {
            where: 'request-body>protobuf:1',
            start: 2,
            end: 3,
            slice: true,
            field: true,
            text: 'x',
          },
          {
            where: 'request-body>protobuf:2',
            start: 5,
            end: 5 + inner.length,
            slice: true,
            contentType: PROTOBUF,
            text: inner.toString('latin1'),
          },
        ],
      ],
      [
        'a bytes field that does not parse as a message is one value',
        Buffer.concat([pbField(4, gzipSync(IMEI))]),
        'application/protobuf',
        [
          {
            where: 'request-body>protobuf:4',
            start: 2,
            end: 2 + gzipSync(IMEI).length,
            slice: true,
            field: true,
            text: gzipSync(IMEI).toString('latin1'),
          },
        ],
      ],
      [
        'a declared message that breaks off keeps its fields up to the break',
        Buffer.concat([pbField(1, IMEI), Buffer.from([0x32, 0x7f, 0x41])]),
        PROTOBUF,
        [
          {
            where: 'request-body>protobuf:1',
            start: 2,
            end: 17,
            slice: true,
            field: true,
            text: IMEI,
          },
        ],
      ],
      ['varints only: nothing to name', pbVarintField(1, 150), PROTOBUF, undefined],
      [
        'a length past the end is not protobuf',
        Buffer.from([0x0a, 0x09, 0x41]),
        PROTOBUF,
        undefined,
      ],
      ['wire type 7 is not protobuf', Buffer.from([0x0f, 0x01]), PROTOBUF, undefined],
      ['a body not declared protobuf', pbField(1, IMEI), 'application/octet-stream', undefined],
    ];
  for (const [name, bytes, contentType, expected] of ROWS) {
    it(name, () => {
      expect(openWith(protobufDecoder, partOf(bytes, { contentType })).children).to.deep.equal(
        expected,
      );
    });
  }

  it('names a field of a nested message from the outer message in: protobuf:2.3', () => {
    const part = partOf(inner, {
      where: 'request-body>protobuf:2',
      contentType: PROTOBUF,
      depth: 1,
    });
    expect(openWith(protobufDecoder, part).children?.map((child) => child.where)).to.deep.equal([
      'request-body>protobuf:2.3',
    ]);
  });

  it('never throws on hostile bytes', () => {
    expectSurvivesHostileBytes(
      protobufDecoder,
      [{ contentType: PROTOBUF }],
      Buffer.concat([pbField(1, 'x'), pbField(2, inner), pbVarintField(5, 2n ** 63n)]),
    );
  });
});

describe('decoder: protobuf (sniffed)', () => {
  it('walks small undeclared binary that parses as a message', () => {
    const part = partOf(pbField(1, IMEI), { where: 'request-body>base64', depth: 1 });
    expect(openWith(sniffedProtobufDecoder, part).children?.map((c) => c.where)).to.deep.equal([
      'request-body>base64>protobuf:1',
    ]);
  });

  it('takes no message that breaks off: undeclared, it is likely no protobuf at all', () => {
    const part = partOf(Buffer.concat([pbField(1, IMEI), Buffer.from([0x32, 0x7f, 0x41])]));
    expect(openWith(sniffedProtobufDecoder, part).children).to.equal(undefined);
  });

  it('leaves binary over 64 KiB alone (media, where a walk finds noise)', () => {
    const part = partOf(pbField(1, Buffer.alloc(70_000, 0x41)));
    expect(openWith(sniffedProtobufDecoder, part).children).to.equal(undefined);
  });

  it('never throws on hostile bytes', () => {
    expectSurvivesHostileBytes(sniffedProtobufDecoder, [{}], pbField(1, pbField(2, IMEI)));
  });
});

/**
 * A value that fills a protobuf field, or is delimited within it, stands alone whatever the tag
 * after it or the length before it look like; a near miss stays a miss.
 */
describe('protobuf fields stand alone, judged in the structure', () => {
  const detector = createDetector(
    identifiersFrom(
      {
        imei: [IMEI],
        msisdn: ['+33612345678'],
        email: ['ana.canary@example.com'],
        android_id: ['9774d56d682e549c'],
        wifi_mac: ['a4:50:46:12:34:56'],
      },
      'file',
    ),
  );
  const findings = (body: Buffer, type = PROTOBUF) =>
    detector
      .scan(makeExchange({ requestHeaders: [['Content-Type', type]], requestBody: body }), 0)
      .findings.map((f) => [f.kind, f.form, f.where]);
  /** An OTLP KeyValue: key (1), AnyValue (2) holding string_value (1). */
  const attribute = (key: string, value: string) =>
    pbField(6, Buffer.concat([pbField(1, key), pbField(2, pbField(1, value))]));
  /** ExportLogsServiceRequest: resource_logs (1) → scope_logs (2) → log_records (2) → attributes. */
  const OTLP_PATH = 'request-body>protobuf:1.2.2.6.2.1';
  const otlpLogs = pbField(
    1,
    pbField(
      2,
      Buffer.concat([
        pbField(1, pbField(1, 'app')),
        pbField(
          2,
          Buffer.concat([
            pbField(3, 'INFO'),
            pbField(5, pbField(1, 'device registered')),
            attribute('device.imei', IMEI),
            attribute('device.phone', '+33612345678'),
            attribute('user.email', 'ana.canary@example.com'),
            attribute('device.android_id', '9774d56d682e549c'),
            attribute('device.mac', 'A4:50:46:12:34:56'),
          ]),
        ),
      ]),
    ),
  );

  const FOUND: [name: string, body: Buffer, expected: string[][], type?: string][] = [
    [
      "IMEI followed by field 6's tag '2'",
      Buffer.concat([pbField(1, IMEI), pbField(6, 'x')]),
      [['imei', 'plain', 'request-body>protobuf:1']],
    ],
    [
      "phone number followed by field 7's varint tag '8'",
      Buffer.concat([pbField(1, '+33612345678'), pbVarintField(7, 1)]),
      [['msisdn', 'plain', 'request-body>protobuf:1']],
    ],
    [
      "Android ID followed by field 9's tag 'J'",
      Buffer.concat([pbField(1, '9774d56d682e549c'), pbField(9, 'x')]),
      [['android_id', 'plain', 'request-body>protobuf:1']],
    ],
    [
      "IMEI after a length byte '0' (a 48-byte string)",
      Buffer.concat([pbField(1, `${IMEI} ${'x'.repeat(32)}`), pbField(2, 'x')]),
      [['imei', 'plain', 'request-body>protobuf:1']],
    ],
    [
      'IMEI delimited within its field',
      Buffer.concat([pbField(1, `id=${IMEI};os=14`), pbField(6, 'x')]),
      [['imei', 'plain', 'request-body>protobuf:1']],
    ],
    [
      'an IMEISV filling its field',
      Buffer.concat([pbField(1, '3569380356438001'), pbField(6, 'x')]),
      [['imei', 'imeisv', 'request-body>protobuf:1']],
    ],
    [
      'five identifiers as OTLP log attributes (field 6, each value followed by the next tag 2)',
      otlpLogs,
      [
        ['imei', 'plain', OTLP_PATH],
        ['msisdn', 'plain', OTLP_PATH],
        ['email', 'plain', OTLP_PATH],
        ['android_id', 'plain', OTLP_PATH],
        ['wifi_mac', 'upper-case', OTLP_PATH],
      ],
    ],
    [
      "upper-case MAC followed by field 6's tag '2'",
      Buffer.concat([pbField(1, 'A4:50:46:12:34:56'), pbField(6, 'x')]),
      [['wifi_mac', 'upper-case', 'request-body>protobuf:1']],
    ],
    [
      "upper-case MAC without separators followed by field 8's tag 'B'",
      Buffer.concat([pbField(1, 'A45046123456'), pbField(8, 'x')]),
      [['wifi_mac', 'upper-case bare', 'request-body>protobuf:1']],
    ],
    [
      'gzip inside a bytes field',
      Buffer.concat([pbField(1, 'x'), pbField(2, gzipSync(`{"imei":"${IMEI}"}`))]),
      [['imei', 'plain', 'request-body>protobuf:2>gzip']],
    ],
    [
      'gzip inside a bytes field of a nested message in a gRPC call',
      grpcFrame(pbField(3, Buffer.concat([pbField(1, 'x'), pbField(2, gzipSync(IMEI))]))),
      [['imei', 'plain', 'request-body>grpc[0]>protobuf:3.2>gzip']],
      'application/grpc',
    ],
    [
      "IMEI in a gRPC message followed by tag '2'",
      grpcFrame(Buffer.concat([pbField(1, IMEI), pbField(6, 'x')])),
      [['imei', 'plain', 'request-body>grpc[0]>protobuf:1']],
      'application/grpc',
    ],
    [
      "undeclared protobuf in a base64 JSON field, IMEI followed by tag '2'",
      Buffer.from(
        JSON.stringify({
          d: Buffer.concat([pbField(1, IMEI), pbField(6, 'abc'), pbField(7, 'defgh')]).toString(
            'base64',
          ),
        }),
      ),
      [['imei', 'plain', 'request-body>json:$.d>base64>protobuf:1']],
      'application/json',
    ],
  ];
  for (const [name, body, expected, type] of FOUND) {
    it(`finds: ${name}`, () => expect(findings(body, type)).to.deep.equal(expected));
  }

  const MISSED: [name: string, body: Buffer][] = [
    [
      "an IMEI one digit off, followed by tag '2' (not an IMEISV either)",
      Buffer.concat([pbField(1, '356938035643808'), pbField(6, 'x')]),
    ],
    [
      'a longer number that contains the IMEI',
      Buffer.concat([pbField(1, `91${IMEI}`), pbField(6, 'x')]),
    ],
    [
      'a neighbouring Luhn-valid IMEI',
      Buffer.concat([pbField(1, '356938035643817'), pbField(6, 'x')]),
    ],
    [
      'an IMEI cut across two fields',
      Buffer.concat([pbField(1, IMEI.slice(0, 7)), pbField(2, IMEI.slice(7))]),
    ],
    [
      'a phone number one digit off, followed by tag 8',
      Buffer.concat([pbField(1, '+33612345679'), pbVarintField(7, 1)]),
    ],
  ];
  for (const [name, body] of MISSED) {
    it(`misses: ${name}`, () => expect(findings(body)).to.deep.equal([]));
  }

  it('never throws on hostile bodies declared protobuf or gRPC, and still finds a plain IMEI', () => {
    const random = seededRandom(6);
    const valid = Buffer.concat([pbField(1, IMEI), pbField(6, otlpLogs)]);
    for (let round = 0; round < 300; round++) {
      const body = Buffer.from(valid);
      // Flip a few bytes away from the IMEI (bytes 2..17): tags, lengths, nested framing.
      for (let k = 0; k < 1 + random.int(4); k++) {
        const at = 17 + random.int(body.length - 17);
        body[at] = random.int(256);
      }
      for (const type of [PROTOBUF, 'application/grpc']) {
        const sent = type === PROTOBUF ? body : grpcFrame(body);
        let found: string[][] = [];
        expect(() => (found = findings(sent, type))).to.not.throw();
        expect(found.map(([kind]) => kind)).to.include('imei');
      }
    }
  });
});
