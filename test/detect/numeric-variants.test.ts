import { expect } from 'chai';
import { createDetector } from '../../src/detect/detector.ts';
import { identifiersFrom } from '../../src/detect/identifiers.ts';
import { holdsBinary } from '../../src/detect/matcher.ts';
import { decodeNumber, encodeNumber, numberAnchors } from '../../src/detect/number-encodings.ts';
import type { IdentifierValues } from '../../src/types.ts';
import { makeExchange } from './make-exchange.ts';

// Made-up values (the IMEI and Android ID are documentation examples); a second location in the
// southern and western hemispheres, where every coordinate is negative.
const VALUES: IdentifierValues = {
  imei: ['356938035643809'],
  msisdn: ['+33612345678'],
  android_id: ['9774d56d682e549c'],
  ad_id: ['38400000-8cf0-11bd-b23e-10b96e40000d'],
  location: ['48.85661,2.35222', '-33.45694,-70.64827'],
};
const detector = createDetector(identifiersFrom(VALUES, 'file'));
const LAT = 48.85661;
const LON = 2.35222;
const IMEI = 356938035643809n;
const ANDROID_ID = 0x9774d56d682e549cn;

// The wire encodings, written here with Node's own Buffer writers, independently of the engine.
const f64le = (x: number) => withBuffer(8, (b) => b.writeDoubleLE(x));
const f64be = (x: number) => withBuffer(8, (b) => b.writeDoubleBE(x));
const f32le = (x: number) => withBuffer(4, (b) => b.writeFloatLE(x));
const f32be = (x: number) => withBuffer(4, (b) => b.writeFloatBE(x));
const i32le = (x: number) => withBuffer(4, (b) => b.writeInt32LE(x));
const i32be = (x: number) => withBuffer(4, (b) => b.writeInt32BE(x));
const u64le = (x: bigint) => withBuffer(8, (b) => b.writeBigUInt64LE(x));
const u64be = (x: bigint) => withBuffer(8, (b) => b.writeBigUInt64BE(x));
function withBuffer(size: number, write: (buffer: Buffer) => void): Buffer {
  const buffer = Buffer.alloc(size);
  write(buffer);
  return buffer;
}
/** Protobuf's varint; a negative int32/int64 goes as its 64-bit two's complement (10 bytes). */
const varint = (value: bigint) => {
  let rest = BigInt.asUintN(64, value);
  const out: number[] = [];
  while (rest >= 0x80n) {
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return Buffer.from(out);
};
const zigzag = (value: bigint) => varint(value >= 0n ? value * 2n : -value * 2n - 1n);
const e = (degrees: number, scale: number) => BigInt(Math.round(degrees * scale));
/** A protobuf field key (field numbers < 16): wire type 0 varint, 1 fixed64, 2 bytes, 5 fixed32. */
const key = (field: number, wire: number) => Buffer.from([(field << 3) | wire]);
const bytesField = (field: number, content: Buffer | string) => {
  const bytes = Buffer.from(content);
  return Buffer.concat([key(field, 2), varint(BigInt(bytes.length)), bytes]);
};
/** msgpack: a fixmap of fixstr keys. */
const msgpackMap = (entries: [string, Buffer][]) =>
  Buffer.concat([
    Buffer.from([0x80 | entries.length]),
    ...entries.flatMap(([name, value]) => [
      Buffer.from([0xa0 | name.length]),
      Buffer.from(name),
      value,
    ]),
  ]);
/** CBOR: a map of text keys (major type 5 and 3). */
const cborMap = (entries: [string, Buffer][]) =>
  Buffer.concat([
    Buffer.from([0xa0 | entries.length]),
    ...entries.flatMap(([name, value]) => [
      Buffer.from([0x60 | name.length]),
      Buffer.from(name),
      value,
    ]),
  ]);
/** An OTLP KeyValue attribute holding an AnyValue double_value (field 4, fixed64). */
const otlpDouble = (name: string, value: number) =>
  bytesField(
    6,
    Buffer.concat([bytesField(1, name), bytesField(2, Buffer.concat([key(4, 1), f64le(value)]))]),
  );
/** An Avro string: zigzag length, then the bytes. */
const avroString = (text: string) =>
  Buffer.concat([zigzag(BigInt(text.length)), Buffer.from(text)]);

type Row = [
  name: string,
  body: Buffer,
  expected: [kind: string, form: string, where: string, evidence: string][],
  type?: string,
];

const PROTOBUF = 'application/x-protobuf';
const FOUND: Row[] = [
  // Locations as floats
  [
    'float64-le: a protobuf LatLng (double fields 1 and 2)',
    Buffer.concat([key(1, 1), f64le(LAT), key(2, 1), f64le(LON)]),
    [['location', 'float64-le', 'request-body', 'strong']],
    PROTOBUF,
  ],
  [
    'float64-le: two OTLP attributes of a log record',
    Buffer.concat([
      bytesField(5, 'gps fix'),
      otlpDouble('geo.lat', LAT),
      otlpDouble('geo.lon', LON),
    ]),
    [['location', 'float64-le', 'request-body', 'strong']],
    PROTOBUF,
  ],
  [
    'float64-le: an Avro record (string, double, double)',
    Buffer.concat([avroString('phone-7'), f64le(LAT), f64le(LON), zigzag(12n)]),
    [['location', 'float64-le', 'request-body', 'strong']],
  ],
  [
    'float64-be: a msgpack map (0xcb)',
    msgpackMap([
      ['lat', Buffer.concat([Buffer.from([0xcb]), f64be(LAT)])],
      ['lng', Buffer.concat([Buffer.from([0xcb]), f64be(LON)])],
    ]),
    [['location', 'float64-be', 'request-body', 'strong']],
  ],
  [
    'float64-be: a CBOR map (0xfb), longitude first',
    cborMap([
      ['lon', Buffer.concat([Buffer.from([0xfb]), f64be(LON)])],
      ['lat', Buffer.concat([Buffer.from([0xfb]), f64be(LAT)])],
    ]),
    [['location', 'float64-be', 'request-body', 'strong']],
  ],
  [
    'float64-be rounded to 3 decimals (≈ 110 m): weak',
    msgpackMap([
      ['lat', Buffer.concat([Buffer.from([0xcb]), f64be(48.857)])],
      ['lng', Buffer.concat([Buffer.from([0xcb]), f64be(2.352)])],
    ]),
    [['location', 'float64-be', 'request-body', 'weak']],
  ],
  [
    'float32-le: protobuf float fields',
    Buffer.concat([key(1, 5), f32le(LAT), key(2, 5), f32le(LON)]),
    [['location', 'float32-le', 'request-body', 'weak']],
    PROTOBUF,
  ],
  [
    'float32-be: a msgpack map (0xca)',
    msgpackMap([
      ['la', Buffer.concat([Buffer.from([0xca]), f32be(LAT)])],
      ['lo', Buffer.concat([Buffer.from([0xca]), f32be(LON)])],
    ]),
    [['location', 'float32-be', 'request-body', 'weak']],
  ],
  [
    'float64-le, southern and western hemispheres',
    Buffer.concat([key(1, 1), f64le(-33.45694), key(2, 1), f64le(-70.64827)]),
    [['location', 'float64-le', 'request-body', 'strong']],
    PROTOBUF,
  ],
  // Locations as fixed-point integers
  [
    'e7-varint: protobuf int32 (Google E7)',
    Buffer.concat([key(1, 0), varint(e(LAT, 1e7)), key(2, 0), varint(e(LON, 1e7))]),
    [['location', 'e7-varint', 'request-body', 'strong']],
    PROTOBUF,
  ],
  [
    'e7-varint, negative: 10-byte two’s complement varints',
    Buffer.concat([key(1, 0), varint(e(-33.45694, 1e7)), key(2, 0), varint(e(-70.64827, 1e7))]),
    [['location', 'e7-varint', 'request-body', 'strong']],
    PROTOBUF,
  ],
  [
    'e7-zigzag-varint: protobuf sint32, negative',
    Buffer.concat([key(1, 0), zigzag(e(-33.45694, 1e7)), key(2, 0), zigzag(e(-70.64827, 1e7))]),
    [['location', 'e7-zigzag-varint', 'request-body', 'strong']],
    PROTOBUF,
  ],
  [
    'e6-zigzag-varint: Avro longs',
    Buffer.concat([avroString('fix'), zigzag(e(LAT, 1e6)), zigzag(e(LON, 1e6))]),
    [['location', 'e6-zigzag-varint', 'request-body', 'strong']],
  ],
  [
    'e7-fixed32-le: protobuf sfixed32',
    Buffer.concat([key(1, 5), i32le(Number(e(LAT, 1e7))), key(2, 5), i32le(Number(e(LON, 1e7)))]),
    [['location', 'e7-fixed32-le', 'request-body', 'weak']],
    PROTOBUF,
  ],
  [
    "e7-int32-be: Java's DataOutputStream.writeInt",
    Buffer.concat([Buffer.from([0, 1]), i32be(Number(e(LAT, 1e7))), i32be(Number(e(LON, 1e7)))]),
    [['location', 'e7-int32-be', 'request-body', 'weak']],
  ],
  [
    'e6-int32-be, negative',
    Buffer.concat([
      Buffer.from([0, 2]),
      i32be(Number(e(-33.45694, 1e6))),
      i32be(Number(e(-70.64827, 1e6))),
    ]),
    [['location', 'e6-int32-be', 'request-body', 'weak']],
  ],
  [
    'e5-varint: 5 decimals in 3–4 bytes, weak',
    Buffer.concat([key(1, 0), varint(e(LAT, 1e5)), key(2, 0), varint(e(LON, 1e5))]),
    [['location', 'e5-varint', 'request-body', 'weak']],
    PROTOBUF,
  ],
  [
    'e5-fixed32-le, truncated to 4 decimals',
    Buffer.concat([key(1, 5), i32le(4885660), key(2, 5), i32le(235220)]),
    [['location', 'e5-fixed32-le', 'request-body', 'weak']],
    PROTOBUF,
  ],
  // 64-bit identifiers
  [
    "Android ID as fixed64-le (Android's check-in)",
    Buffer.concat([key(2, 1), u64le(ANDROID_ID), key(3, 0), varint(1n)]),
    [['android_id', 'fixed64-le', 'request-body', 'strong']],
    PROTOBUF,
  ],
  [
    'Android ID as a varint (protobuf uint64)',
    Buffer.concat([key(2, 0), varint(ANDROID_ID), key(3, 0), varint(1n)]),
    [['android_id', 'protobuf-varint', 'request-body', 'strong']],
    PROTOBUF,
  ],
  [
    'Android ID as int64-be (msgpack uint64 0xcf)',
    msgpackMap([['aid', Buffer.concat([Buffer.from([0xcf]), u64be(ANDROID_ID)])]]),
    [['android_id', 'int64-be', 'request-body', 'strong']],
  ],
  [
    'IMEI as fixed64-le',
    Buffer.concat([key(1, 1), u64le(IMEI)]),
    [['imei', 'fixed64-le', 'request-body', 'strong']],
    PROTOBUF,
  ],
  [
    'IMEI as int64-be (CBOR uint64 0x1b)',
    cborMap([['imei', Buffer.concat([Buffer.from([0x1b]), u64be(IMEI)])]]),
    [['imei', 'int64-be', 'request-body', 'strong']],
  ],
  [
    'phone number (E.164 digits) as a varint',
    Buffer.concat([key(4, 0), varint(33612345678n), key(5, 0), varint(7n)]),
    [['msisdn', 'protobuf-varint e164-without-plus', 'request-body', 'strong']],
    PROTOBUF,
  ],
  [
    'phone number as fixed64-le',
    Buffer.concat([key(4, 1), u64le(33612345678n), key(5, 0), varint(7n)]),
    [['msisdn', 'fixed64-le e164-without-plus', 'request-body', 'strong']],
    PROTOBUF,
  ],
  [
    'phone number as int64-be',
    Buffer.concat([Buffer.from([0x00, 0x09]), u64be(33612345678n)]),
    [['msisdn', 'int64-be e164-without-plus', 'request-body', 'strong']],
  ],
  [
    'advertising ID as its 16 bytes',
    Buffer.concat([
      key(1, 0),
      varint(3n),
      bytesField(2, Buffer.from('384000008cf011bdb23e10b96e40000d', 'hex')),
    ]),
    [['ad_id', 'uuid-bytes', 'request-body>protobuf:2', 'strong']],
    PROTOBUF,
  ],
];

// Each must find nothing: off by a little more than the tolerance, a neighbour, a lone coordinate.
const NOTHING: [name: string, body: Buffer][] = [
  [
    'float64 latitude 0.01° off',
    Buffer.concat([key(1, 1), f64le(LAT + 0.01), key(2, 1), f64le(LON)]),
  ],
  [
    'float64 latitude 0.0011° off',
    Buffer.concat([key(1, 1), f64le(LAT + 0.0011), key(2, 1), f64le(LON)]),
  ],
  [
    'float64 latitude without its longitude',
    Buffer.concat([key(1, 1), f64le(LAT), key(2, 1), f64le(-3.14159)]),
  ],
  [
    'float64 pair too far apart (64 bytes between)',
    Buffer.concat([f64le(LAT), Buffer.alloc(64, 1), f64le(LON)]),
  ],
  [
    'float64-le latitude beside a float64-be longitude',
    Buffer.concat([key(1, 1), f64le(LAT), key(2, 1), f64be(LON)]),
  ],
  [
    'the opposite hemisphere as float64',
    Buffer.concat([key(1, 1), f64le(-LAT), key(2, 1), f64le(-LON)]),
  ],
  [
    'e7 varint 0.0011° off',
    Buffer.concat([key(1, 0), varint(e(LAT, 1e7) + 11000n), key(2, 0), varint(e(LON, 1e7))]),
  ],
  [
    'e7 varint running on from a longer varint',
    Buffer.concat([
      key(1, 0),
      Buffer.from([0x85]),
      varint(e(LAT, 1e7)),
      key(2, 0),
      Buffer.from([0x85]),
      varint(e(LON, 1e7)),
    ]),
  ],
  [
    'e7-fixed32-le 0.0005° off: past the 4 decimals a 4-byte E7 is looked for within',
    Buffer.concat([
      key(1, 5),
      i32le(Number(e(LAT + 0.0005, 1e7))),
      key(2, 5),
      i32le(Number(e(LON, 1e7))),
    ]),
  ],
  ['a neighbouring Android ID as fixed64-le', Buffer.concat([key(2, 1), u64le(ANDROID_ID + 1n)])],
  ['an IMEI one off as fixed64-le', Buffer.concat([key(1, 1), u64le(IMEI - 1n)])],
  ['an IMEI one off as a varint', Buffer.concat([key(1, 0), varint(IMEI + 1n)])],
  ['a phone number one off as int64-be', Buffer.concat([Buffer.from([0, 9]), u64be(33612345679n)])],
  [
    'the advertising ID one nibble off as bytes',
    bytesField(2, Buffer.from('384000008cf011bdb23e10b96e40000e', 'hex')),
  ],
];

const project = (body: Buffer, type = 'application/octet-stream') =>
  detector
    .scanExchange(makeExchange({ requestHeaders: [['Content-Type', type]], requestBody: body }), 0)
    .map((f) => [f.kind, f.form, f.where, f.evidence])
    .sort();

describe('numeric variants: numbers sent as numbers', () => {
  for (const [name, body, expected, type] of FOUND) {
    it(name, () =>
      expect(project(body, type)).to.deep.equal(expected.map((row) => [...row]).sort()),
    );
  }
});

describe('numeric variants: near misses find nothing', () => {
  for (const [name, body] of NOTHING) {
    it(name, () => expect(project(body)).to.deep.equal([]));
  }
});

describe('numeric variants: text parts', () => {
  it('are not searched for binary numbers, and binary parts are told apart from text', () => {
    expect(holdsBinary(Buffer.from('{"lat":48.85661,"lon":2.35222}'))).to.equal(false);
    expect(holdsBinary(Buffer.from('<p>Zoé</p>\r\n\tdone'))).to.equal(false);
    expect(holdsBinary(Buffer.concat([key(1, 1), f64le(LAT)]))).to.equal(true);
    // Printable framing, no control byte, no NUL: the float's bytes are not UTF-8.
    expect(holdsBinary(Buffer.concat([Buffer.from('{"lat":'), f64be(LAT)]))).to.equal(true);
  });

  it('still find a location written as digits next to binary bytes', () => {
    const body = Buffer.concat([
      Buffer.from([0x01, 0x02]),
      Buffer.from('lat=48.85661&lon=2.35222'),
    ]);
    expect(project(body)).to.deep.equal([['location', 'coordinates', 'request-body', 'strong']]);
  });
});

describe('number encodings', () => {
  it('decode what they encode, in every encoding', () => {
    for (const [value, encoding] of [
      [488566100n, 'varint'],
      [-334569400n, 'varint'],
      [-334569400n, 'zigzag-varint'],
      [-70648270n, 'fixed32-le'],
      [23522200n, 'int32-be'],
      [IMEI, 'fixed64-le'],
      [IMEI, 'int64-be'],
    ] as const) {
      const bytes = encodeNumber(value, encoding) as Buffer;
      expect(decodeNumber(bytes, 0, encoding), encoding).to.deep.equal({
        value: Number(value),
        end: bytes.length,
      });
    }
    expect(decodeNumber(f64le(LAT), 0, 'float64-le')?.value).to.equal(LAT);
    expect(decodeNumber(f32be(LAT), 0, 'float32-be')?.value).to.equal(Math.fround(LAT));
  });

  it('never throw on cut or hostile bytes', () => {
    expect(decodeNumber(Buffer.from([0x80, 0x80]), 0, 'varint')).to.equal(undefined);
    expect(decodeNumber(Buffer.alloc(12, 0xff), 0, 'zigzag-varint')).to.equal(undefined);
    expect(decodeNumber(Buffer.from([1, 2, 3]), 0, 'float32-le')).to.equal(undefined);
    expect(decodeNumber(Buffer.from([1, 2, 3]), 2, 'int64-be')).to.equal(undefined);
  });

  it('anchor on the high-order bytes every number of the range shares', () => {
    // 48.8556–48.8576 as float64: the sign, exponent and first 12 mantissa bits do not vary.
    expect(numberAnchors(LAT - 0.001, LAT + 0.001, 'float64-be')).to.deep.equal([
      { anchor: Buffer.from([0x40, 0x48, 0x6d]), lead: 0, trail: 5 },
    ]);
    expect(numberAnchors(LAT - 0.001, LAT + 0.001, 'float64-le')).to.deep.equal([
      { anchor: Buffer.from([0x6d, 0x48, 0x40]), lead: 5, trail: 0 },
    ]);
    // Every number of the range has one of the anchors, at the right place: E7 within 0.0001°.
    for (const encoding of ['varint', 'zigzag-varint', 'fixed32-le', 'int32-be'] as const) {
      const center = Number(e(LAT, 1e7));
      const anchors = numberAnchors(center - 1_000, center + 1_000, encoding);
      expect(anchors.length, encoding).to.be.within(1, 16);
      for (let value = center - 1_000; value <= center + 1_000; value += 7) {
        const bytes = encodeNumber(BigInt(value), encoding) as Buffer;
        const found = anchors.some(
          (a) =>
            a.lead + a.anchor.length + a.trail === bytes.length &&
            bytes.subarray(a.lead, a.lead + a.anchor.length).equals(a.anchor),
        );
        expect(found, `${encoding} ${value}`).to.equal(true);
      }
    }
  });

  it('give up on a range that would need anchors shorter than 3 bytes', () => {
    // E7 within 0.001° as an int32: the low 15 bits vary, 79 anchors of 3 bytes.
    const center = Number(e(LAT, 1e7));
    expect(numberAnchors(center - 10_000, center + 10_000, 'int32-be')).to.deep.equal([]);
  });

  it('give up on a range whose high bytes are only sign', () => {
    expect(numberAnchors(-10, 10, 'int32-be')).to.deep.equal([]);
  });
});
