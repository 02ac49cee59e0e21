import avro from 'avsc';
import { expect } from 'chai';
import { createDetector } from '../../../src/detect/detector.ts';
import { avroDecoder, avroValues } from '../../../src/detect/decoders/avro.ts';
import { identifiersFrom } from '../../../src/detect/identifiers.ts';
import {
  expectSurvivesHostileBytes,
  openWith,
  partOf,
  pbField,
  pbVarintField,
  type ChildSummary,
} from '../../support/decoding.ts';
import { seededRandom } from '../../support/seeded-random.ts';
import { makeExchange } from '../make-exchange.ts';

const IMEI = '356938035643809';
const EMAIL = 'ana.canary@example.com';
const AVRO = 'avro/binary';

/** Avro written out by hand, independently of the walker: zigzag varints, length-prefixed text. */
const av = {
  long(value: number): Buffer {
    const out: number[] = [];
    let rest = BigInt(value) >= 0n ? BigInt(value) * 2n : -BigInt(value) * 2n - 1n;
    while (rest >= 0x80n) {
      out.push(Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    out.push(Number(rest));
    return Buffer.from(out);
  },
  string: (text: string) => Buffer.concat([av.long(Buffer.byteLength(text)), Buffer.from(text)]),
  double(value: number): Buffer {
    const out = Buffer.alloc(8);
    out.writeDoubleLE(value);
    return out;
  },
};
const value = (n: number, start: number, text: string): ChildSummary => ({
  where: `request-body>avro:[${n}]`,
  start,
  end: start + Buffer.byteLength(text),
  slice: true,
  field: true,
  text,
});

const PING = avro.Type.forSchema({
  type: 'record',
  name: 'Ping',
  fields: [
    { name: 'imei', type: 'string' },
    { name: 'at', type: 'long' },
    { name: 'lat', type: 'double' },
    { name: 'email', type: ['null', 'string'] },
    { name: 'battery', type: 'int' },
    { name: 'charging', type: 'boolean' },
    { name: 'contacts', type: { type: 'array', items: 'string' } },
    { name: 'os', type: 'string' },
  ],
});
const ping = {
  imei: IMEI,
  at: 1733612345678,
  lat: 48.85661,
  email: EMAIL,
  battery: 26,
  charging: true,
  contacts: ['+33698765432', '+33612345678'],
  os: 'android 14',
};

/** An Avro object container file avsc writes, with the given codec. */
async function containerFile(codec: 'null' | 'deflate', records: unknown[]): Promise<Buffer> {
  const encoder = new avro.streams.BlockEncoder(PING, { codec });
  const chunks: Buffer[] = [];
  encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise((resolve) => encoder.on('end', resolve));
  for (const record of records) encoder.write(record);
  encoder.end();
  await done;
  return Buffer.concat(chunks);
}

describe('decoder: Avro', () => {
  const record = Buffer.concat([
    av.string(IMEI),
    av.long(1733612345678),
    av.string(EMAIL),
    av.long(26), // byte '4' right after the e-mail address
    av.string('y'.repeat(26)), // length byte '4'
  ]);
  const ROWS: [
    name: string,
    bytes: Buffer,
    type: string | undefined,
    expected: ChildSummary[] | undefined,
  ][] = [
    [
      'strings by position; a number and a length byte that read as digits',
      record,
      AVRO,
      [value(0, 1, IMEI), value(1, 23, EMAIL), value(2, 47, 'y'.repeat(26))],
    ],
    [
      'the same record undeclared',
      record,
      undefined,
      [value(0, 1, IMEI), value(1, 23, EMAIL), value(2, 47, 'y'.repeat(26))],
    ],
    [
      'a double whose bytes are text between two strings',
      Buffer.concat([av.string(IMEI), av.double(2.0000004), av.string(EMAIL), Buffer.from([0])]),
      AVRO,
      [value(0, 1, IMEI), value(1, 25, EMAIL)],
    ],
    [
      'strings shorter than 3 bytes are not told from numbers',
      Buffer.concat([av.string('ab'), av.string(IMEI)]),
      AVRO,
      [value(0, 4, IMEI)],
    ],
    ['a lone string undeclared is not enough', av.string(IMEI), undefined, undefined],
  ];
  for (const [name, bytes, contentType, expected] of ROWS) {
    it(name, () => {
      const part = partOf(bytes, contentType ? { contentType } : {});
      expect(openWith(avroDecoder, part).children).to.deep.equal(expected);
    });
  }

  it('names every string of a record avsc wrote, undeclared', () => {
    const bytes = PING.toBuffer(ping);
    const walk = avroValues(bytes);
    expect(
      walk?.values.map((v) => [v.path, bytes.subarray(v.start, v.end).toString()]),
    ).to.deep.equal([
      ['[0]', IMEI],
      ['[1]', EMAIL],
      ['[2]', '+33698765432'],
      ['[3]', '+33612345678'],
      ['[4]', 'android 14'],
    ]);
  });

  it('opens an object container file avsc wrote (codec null), blocks and all', async () => {
    const file = await containerFile('null', [ping, { ...ping, imei: '356938035643817' }]);
    const { children, gaps } = openWith(avroDecoder, partOf(file));
    expect(gaps).to.deep.equal([]);
    expect(children?.map((c) => [c.where, c.text])).to.deep.equal([
      ['request-body>avro:[0]', IMEI],
      ['request-body>avro:[1]', EMAIL],
      ['request-body>avro:[2]', '+33698765432'],
      ['request-body>avro:[3]', '+33612345678'],
      ['request-body>avro:[4]', 'android 14'],
      ['request-body>avro:[5]', '356938035643817'],
      ['request-body>avro:[6]', EMAIL],
      ['request-body>avro:[7]', '+33698765432'],
      ['request-body>avro:[8]', '+33612345678'],
      ['request-body>avro:[9]', 'android 14'],
    ]);
  });

  it('inflates the blocks of a container file compressed with deflate', async () => {
    const file = await containerFile('deflate', [ping]);
    const { children } = openWith(avroDecoder, partOf(file));
    expect(children?.map((c) => [c.where, c.contentType, c.slice])).to.deep.equal([
      ['request-body>avro-block[0]>deflate', AVRO, false],
    ]);
    expect(children?.[0]?.text).to.equal(PING.toBuffer(ping).toString('latin1'));
  });

  it('says it did not open blocks in a codec it does not know', async () => {
    const file = await containerFile('null', [ping]);
    const snappy = Buffer.from(file.toString('latin1').replace('\x08null', '\x0csnappy'), 'latin1');
    expect(openWith(avroDecoder, partOf(snappy))).to.deep.equal({
      children: [],
      gaps: ['request-body>avro: blocks compressed with snappy: not opened'],
    });
  });

  const random = seededRandom(7);
  const NOT_AVRO: [name: string, bytes: Buffer][] = [
    [
      'a PNG header',
      Buffer.from('89504e470d0a1a0a0000000d49484452000000100000001008060000001ff3ff61', 'hex'),
    ],
    [
      'a protobuf message with 16-byte strings (length 0x10 reads as 8)',
      Buffer.concat([
        pbField(1, '9774d56d682e549c'),
        pbVarintField(2, 150),
        pbField(3, 'a4:50:46:12:34:5'),
      ]),
    ],
    [
      'a protobuf message',
      Buffer.concat([pbField(1, IMEI), pbVarintField(2, 150), pbField(3, EMAIL)]),
    ],
    ['JSON text', Buffer.from(JSON.stringify({ imei: IMEI, email: EMAIL }))],
    ['plain text', Buffer.from(`imei=${IMEI}&email=${EMAIL}`)],
    ...Array.from({ length: 8 }, (_, k): [string, Buffer] => [
      `random bytes #${k}`,
      random.bytes(20 + 40 * k),
    ]),
  ];
  for (const [name, bytes] of NOT_AVRO) {
    it(`does not take ${name} for Avro`, () => {
      expect(openWith(avroDecoder, partOf(bytes)).children).to.equal(undefined);
    });
  }

  it('takes no protobuf message and no random binary for Avro', () => {
    const random = seededRandom(13);
    const words = [IMEI, EMAIL, '9774d56d682e549c', 'a4:50:46:12:34:56', 'device registered'];
    let taken = 0;
    for (let k = 0; k < 2000; k++) {
      const fields = Array.from({ length: 1 + random.int(6) }, () =>
        random.int(3) === 0
          ? pbVarintField(1 + random.int(20), random.int(1e6))
          : pbField(1 + random.int(20), random.pick(words)),
      );
      if (avroValues(Buffer.concat(fields))) taken++;
      if (avroValues(random.bytes(8 + random.int(300)))) taken++;
    }
    expect(taken).to.equal(0);
  });

  const HOSTILE: [name: string, bytes: Buffer][] = [
    ['a length of 2^62', Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x61])],
    ['a varint that never ends', Buffer.alloc(1_000_000, 0x80)],
    // Every position reads as a long length into the same megabyte of UTF-8 text.
    [
      'a megabyte of text behind length bytes',
      Buffer.concat([Buffer.from('\x00'), Buffer.from('é'.repeat(500_000))]),
    ],
    [
      'a container file whose header map claims 2^62 entries',
      Buffer.from('4f626a01feffffffffffffff7f', 'hex'),
    ],
  ];
  for (const [name, bytes] of HOSTILE) {
    it(`returns quickly, without throwing, on ${name}`, () => {
      for (const contentType of [undefined, AVRO]) {
        const started = process.hrtime.bigint();
        openWith(avroDecoder, partOf(bytes, contentType ? { contentType } : {}));
        expect(Number(process.hrtime.bigint() - started) / 1e6).to.be.below(2000);
      }
    });
  }

  it('never throws on hostile bytes', async () => {
    expectSurvivesHostileBytes(avroDecoder, [{}, { contentType: AVRO }], PING.toBuffer(ping));
    expectSurvivesHostileBytes(avroDecoder, [{}], await containerFile('deflate', [ping]));
  });
});

/** A string of an Avro record stands alone whatever its length byte looks like. */
describe('Avro strings stand alone, judged in the structure', () => {
  const detector = createDetector(identifiersFrom({ imei: [IMEI], email: [EMAIL] }, 'file'));
  const findings = (body: Buffer, type = AVRO) =>
    detector
      .scan(makeExchange({ requestHeaders: [['Content-Type', type]], requestBody: body }), 0)
      .findings.map((f) => [f.kind, f.form, f.where]);
  const FOUND: [name: string, body: Buffer, expected: string[][], type?: string][] = [
    [
      "an IMEI followed by the int 26, byte '4'",
      Buffer.concat([av.string(IMEI), av.long(26), av.string('x'.repeat(5))]),
      [['imei', 'plain', 'request-body>avro:[0]']],
    ],
    [
      "an e-mail address after its length byte 'B' (33 bytes)",
      Buffer.concat([av.string(`${EMAIL} (personal)`), av.long(0)]),
      [['email', 'plain', 'request-body>avro:[0]']],
    ],
    [
      'a record avsc wrote, undeclared',
      PING.toBuffer(ping),
      [
        ['imei', 'plain', 'request-body>avro:[0]'],
        ['email', 'plain', 'request-body>avro:[1]'],
      ],
      'application/octet-stream',
    ],
  ];
  for (const [name, body, expected, type] of FOUND) {
    it(`finds: ${name}`, () => expect(findings(body, type)).to.deep.equal(expected));
  }
  const MISSED: [name: string, body: Buffer][] = [
    ['an IMEI one digit off', Buffer.concat([av.string('356938035643808'), av.long(26)])],
    [
      'a longer number that contains the IMEI',
      Buffer.concat([av.string(`91${IMEI}`), av.long(26)]),
    ],
  ];
  for (const [name, body] of MISSED) {
    it(`misses: ${name}`, () => expect(findings(body)).to.deep.equal([]));
  }
});
