import { encode } from '@msgpack/msgpack';
import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import { createDetector } from '../../../src/detect/detector.ts';
import { msgpackDecoder, msgpackValues } from '../../../src/detect/decoders/msgpack.ts';
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
const MSGPACK = 'application/msgpack';

/** msgpack written out by hand, independently of the walker: each header as the spec draws it. */
const mp = {
  str(text: string, size: 'fix' | 8 | 16 | 32 = 'fix'): Buffer {
    const bytes = Buffer.from(text);
    if (size === 'fix') return Buffer.concat([Buffer.from([0xa0 | bytes.length]), bytes]);
    return Buffer.concat([
      header(size === 8 ? 0xd9 : size === 16 ? 0xda : 0xdb, size, bytes.length),
      bytes,
    ]);
  },
  bin(bytes: Buffer): Buffer {
    return Buffer.concat([header(0xc4, 8, bytes.length), bytes]);
  },
  map(...entries: [Buffer, Buffer][]): Buffer {
    return Buffer.concat([Buffer.from([0x80 | entries.length]), ...entries.flat()]);
  },
  array(...items: Buffer[]): Buffer {
    return Buffer.concat([Buffer.from([0x90 | items.length]), ...items]);
  },
  int(value: number): Buffer {
    return Buffer.from([value]);
  },
};
function header(first: number, bits: 8 | 16 | 32, length: number): Buffer {
  const out = Buffer.alloc(1 + bits / 8);
  out[0] = first;
  out.writeUIntBE(length, 1, bits / 8);
  return out;
}
const key = (name: string) => mp.str(name);
/** A summary of a value child: a slice of the body, one value of the structure. */
const value = (where: string, start: number, text: string): ChildSummary => ({
  where: `request-body>msgpack:${where}`,
  start,
  end: start + Buffer.byteLength(text, 'latin1'),
  slice: true,
  field: true,
  text,
});

describe('decoder: msgpack', () => {
  const long = `${IMEI} ${'x'.repeat(36)}`; // 52 bytes: str8, its length byte 0x34 is '4'
  const gz = gzipSync(`{"imei":"${IMEI}"}`);
  const ROWS: [
    name: string,
    bytes: Buffer,
    type: string | undefined,
    expected: ChildSummary[] | undefined,
  ][] = [
    [
      'fixstr value under a string key',
      mp.map([key('imei'), mp.str(IMEI)]),
      MSGPACK,
      [value('$.imei', 7, IMEI)],
    ],
    [
      'str8 whose length byte is a digit',
      mp.map([key('id'), mp.str(long, 8)]),
      MSGPACK,
      [value('$.id', 6, long)],
    ],
    ['str16', mp.map([key('id'), mp.str(IMEI, 16)]), MSGPACK, [value('$.id', 7, IMEI)]],
    ['str32', mp.map([key('id'), mp.str(IMEI, 32)]), MSGPACK, [value('$.id', 9, IMEI)]],
    [
      'bin8 holding gzip: a value the detector opens further',
      mp.map([key('payload'), mp.bin(gz)]),
      MSGPACK,
      [value('$.payload', 11, gz.toString('latin1'))],
    ],
    [
      'nested maps and arrays, integer and odd keys',
      mp.map(
        [key('a'), mp.map([key('b'), mp.array(mp.str('x'), mp.str(IMEI))])],
        [mp.int(7), mp.str(EMAIL)],
        [key('device id'), mp.str('abc')],
      ),
      undefined,
      [
        value('$.a.b[0]', 8, 'x'),
        value('$.a.b[1]', 10, IMEI),
        value('$.7', 27, EMAIL),
        value('$["device id"]', 60, 'abc'),
      ],
    ],
    [
      'a stream of two maps: each named by its position',
      Buffer.concat([mp.map([key('imei'), mp.str(IMEI)]), mp.map([key('e'), mp.str(EMAIL)])]),
      undefined,
      [
        { ...value('$.imei', 7, IMEI), where: 'request-body>msgpack[0]:$.imei' },
        { ...value('$.e', 26, EMAIL), where: 'request-body>msgpack[1]:$.e' },
      ],
    ],
    [
      'numbers, nil, booleans, floats and extensions are read past, not named',
      mp.array(
        Buffer.from([0xcb, 1, 2, 3, 4, 5, 6, 7, 8]),
        Buffer.from([0xc0]),
        Buffer.from([0xc2]),
        Buffer.from([0xc3]),
        Buffer.from([0xcd, 0x01, 0x02]),
        Buffer.from([0xd6, 0xff, 1, 2, 3, 4]),
        mp.str(IMEI),
      ),
      MSGPACK,
      [value('$[6]', 23, IMEI)],
    ],
    [
      'declared and truncated: what was read before the cut',
      mp.map([key('imei'), mp.str(IMEI)], [key('e'), mp.str(EMAIL)]).subarray(0, 30),
      MSGPACK,
      [value('$.imei', 7, IMEI)],
    ],
    [
      'undeclared and truncated: not msgpack',
      mp.map([key('imei'), mp.str(IMEI)]).subarray(0, 20),
      undefined,
      undefined,
    ],
    ['a top-level string alone is not taken undeclared', mp.str(IMEI), undefined, undefined],
    [
      'a map with a bin key is not taken undeclared',
      mp.map([mp.bin(Buffer.from('abc')), mp.str(IMEI)]),
      undefined,
      undefined,
    ],
    [
      'a string that is not UTF-8 is not taken undeclared',
      mp.map([key('imei'), Buffer.from([0xa2, 0xc3, 0x28])]),
      undefined,
      undefined,
    ],
  ];
  for (const [name, bytes, contentType, expected] of ROWS) {
    it(name, () => {
      const part = partOf(bytes, contentType ? { contentType } : {});
      expect(openWith(msgpackDecoder, part).children).to.deep.equal(expected);
    });
  }

  it('says where a declared body stopped', () => {
    const cut = mp.map([key('imei'), mp.str(IMEI)], [key('e'), mp.str(EMAIL)]).subarray(0, 30);
    expect(openWith(msgpackDecoder, partOf(cut, { contentType: MSGPACK })).gaps).to.deep.equal([
      'request-body>msgpack: msgpack declares a 22-byte value past the end of its 30 bytes at byte 24: the rest not opened',
    ]);
  });

  it('names every string of a batch @msgpack/msgpack encoded', () => {
    const batch = encode({
      events: [
        { name: 'start', device: { imei: IMEI, email: EMAIL }, at: 1733612345678, lat: 48.85661 },
        { name: 'stop', tags: ['a', 'bb'], blob: new Uint8Array([1, 2, 3]) },
      ],
    });
    const walk = msgpackValues(batch);
    expect(
      walk?.values.map((v) => [v.path, Buffer.from(batch.subarray(v.start, v.end)).toString()]),
    ).to.deep.equal([
      ['$.events[0].name', 'start'],
      ['$.events[0].device.imei', IMEI],
      ['$.events[0].device.email', EMAIL],
      ['$.events[1].name', 'stop'],
      ['$.events[1].tags[0]', 'a'],
      ['$.events[1].tags[1]', 'bb'],
      ['$.events[1].blob', '\x01\x02\x03'],
    ]);
  });

  const random = seededRandom(7);
  const NOT_MSGPACK: [name: string, bytes: Buffer][] = [
    [
      'a PNG header',
      Buffer.from('89504e470d0a1a0a0000000d49484452000000100000001008060000001ff3ff61', 'hex'),
    ],
    [
      'a protobuf message',
      Buffer.concat([pbField(1, IMEI), pbVarintField(2, 150), pbField(3, EMAIL)]),
    ],
    [
      'a protobuf message starting with field 16 (a two-byte tag 0x82 0x01)',
      Buffer.concat([pbField(16, IMEI), pbField(3, EMAIL)]),
    ],
    ['JSON text', Buffer.from(JSON.stringify({ imei: IMEI, email: EMAIL }))],
    ['plain text', Buffer.from(`imei=${IMEI}&email=${EMAIL}`)],
    ...Array.from({ length: 8 }, (_, k): [string, Buffer] => [
      `random bytes #${k}`,
      random.bytes(20 + 40 * k),
    ]),
  ];
  for (const [name, bytes] of NOT_MSGPACK) {
    it(`does not take ${name} for msgpack`, () => {
      expect(openWith(msgpackDecoder, partOf(bytes)).children).to.equal(undefined);
    });
  }

  it('takes almost no random binary that starts like a map or an array for msgpack', () => {
    const random = seededRandom(11);
    let taken = 0;
    for (let k = 0; k < 20_000; k++) {
      const bytes = random.bytes(8 + random.int(120));
      bytes[0] = 0x80 | random.int(32);
      if (msgpackValues(bytes)) taken++;
    }
    // Measured: 0 in 20 000 here, about 3 in a million over 4 million such tries.
    expect(taken).to.be.at.most(1);
  });

  const HOSTILE: [name: string, bytes: Buffer][] = [
    ['a million nested arrays', Buffer.alloc(1_000_000, 0x91)],
    ['an array32 that claims 4 billion items', Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01])],
    [
      'a map32 that claims 4 billion entries',
      Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61]),
    ],
    ['a str32 that claims 4 GiB', Buffer.from([0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61])],
    ['a bin32 that claims 4 GiB', Buffer.from([0x91, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x61])],
    ['an ext32 that claims 4 GiB', Buffer.from([0x91, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01])],
    [
      'an array16 of a million one-byte items',
      Buffer.concat([Buffer.from([0xdd, 0x00, 0x0f, 0x42, 0x40]), Buffer.alloc(1_000_000, 0x01)]),
    ],
    ['the never-used byte 0xc1', Buffer.from([0x91, 0xc1])],
  ];
  for (const [name, bytes] of HOSTILE) {
    it(`returns quickly, without throwing, on ${name}`, () => {
      for (const contentType of [undefined, MSGPACK]) {
        const started = process.hrtime.bigint();
        const { children } = openWith(
          msgpackDecoder,
          partOf(bytes, contentType ? { contentType } : {}),
        );
        expect(Number(process.hrtime.bigint() - started) / 1e6).to.be.below(2000);
        expect(children ?? []).to.deep.equal([]);
      }
    });
  }

  it('says it did not open nesting past its limit', () => {
    const deep = Buffer.concat([Buffer.alloc(40, 0x91), mp.str(IMEI)]);
    expect(openWith(msgpackDecoder, partOf(deep, { contentType: MSGPACK })).gaps).to.deep.equal([
      'request-body>msgpack: msgpack nests deeper than 12 levels at byte 12: the rest not opened',
    ]);
  });

  it('never throws on hostile bytes', () => {
    expectSurvivesHostileBytes(
      msgpackDecoder,
      [{}, { contentType: MSGPACK }],
      mp.map([key('a'), mp.array(mp.str(IMEI, 8), mp.bin(gz))], [mp.int(3), mp.str(EMAIL, 16)]),
    );
  });
});

/** A value that fills a msgpack string stands alone whatever its length header looks like. */
describe('msgpack values stand alone, judged in the structure', () => {
  const detector = createDetector(
    identifiersFrom({ imei: [IMEI], email: [EMAIL], android_id: ['9774d56d682e549c'] }, 'file'),
  );
  const findings = (body: Buffer, type = MSGPACK) =>
    detector
      .scan(makeExchange({ requestHeaders: [['Content-Type', type]], requestBody: body }), 0)
      .findings.map((f) => [f.kind, f.form, f.where]);
  const FOUND: [name: string, body: Buffer, expected: string[][], type?: string][] = [
    [
      'an e-mail address after its fixstr header 0xb6 (a word byte to the word rule)',
      mp.map([key('email'), mp.str(EMAIL)]),
      [['email', 'plain', 'request-body>msgpack:$.email']],
    ],
    [
      "an IMEI after a str8 length byte '4' (52 bytes)",
      mp.map([key('id'), mp.str(`${IMEI} ${'x'.repeat(36)}`, 8)]),
      [['imei', 'plain', 'request-body>msgpack:$.id']],
    ],
    [
      "an IMEI followed by the integer 52, byte '4'",
      mp.array(mp.str(IMEI), mp.int(0x34)),
      [['imei', 'plain', 'request-body>msgpack:$[0]']],
      'application/octet-stream',
    ],
    [
      'gzip inside a bin value',
      mp.map([key('payload'), mp.bin(gzipSync(`{"imei":"${IMEI}"}`))]),
      [['imei', 'plain', 'request-body>msgpack:$.payload>gzip']],
    ],
    [
      'protobuf inside a bin value, an Android ID followed by tag J',
      mp.map([
        key('pb'),
        mp.bin(Buffer.concat([pbField(1, '9774d56d682e549c'), pbField(9, 'x\x00')])),
      ]),
      [['android_id', 'plain', 'request-body>msgpack:$.pb>protobuf:1']],
    ],
  ];
  for (const [name, body, expected, type] of FOUND) {
    it(`finds: ${name}`, () => expect(findings(body, type)).to.deep.equal(expected));
  }
  const MISSED: [name: string, body: Buffer][] = [
    ['an IMEI one digit off', mp.map([key('imei'), mp.str('356938035643808')])],
    ['a longer number that contains the IMEI', mp.map([key('imei'), mp.str(`91${IMEI}`)])],
    ['an e-mail address inside a longer word', mp.map([key('e'), mp.str(`x${EMAIL}`)])],
  ];
  for (const [name, body] of MISSED) {
    it(`misses: ${name}`, () => expect(findings(body)).to.deep.equal([]));
  }
});
