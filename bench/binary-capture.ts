import { createWriteStream } from 'node:fs';
import protobuf from 'protobufjs';
import SnappyJS from 'snappyjs';
import type { ExchangeRecord, RunStartRecord } from '../src/journal/records.ts';
import type { Exchange, Identifier, IdentifierValues } from '../src/types.ts';
import type { Plant } from './capture.ts';
import type { Random } from './random.ts';

const WORDS = 'tap scroll open close sync ping crash view screen start stop error'.split(' ');

/** The binary bodies of the corpus: what SDK batches, push services and sensors send. */
const KINDS = ['protobuf', 'snappy-protobuf', 'grpc', 'msgpack', 'float32-samples'] as const;
type Kind = (typeof KINDS)[number];

const TYPES: Record<Kind, string> = {
  protobuf: 'application/x-protobuf',
  // Loki push and Prometheus remote-write: raw snappy, declared protobuf, no content-encoding.
  'snappy-protobuf': 'application/x-protobuf',
  grpc: 'application/grpc',
  msgpack: 'application/msgpack',
  'float32-samples': 'application/octet-stream',
};

/**
 * Writes a binary-heavy capture as a phonehome journal: protobuf event batches (protobufjs's
 * writer), the same raw-snappy-compressed as Loki pushes them (snappyjs) and in gRPC frames,
 * msgpack batches and float32 sensor samples, with identifiers planted in about one exchange in
 * eight — locations as float64 and E7 zigzag varints, 64-bit identifiers as varints, fixed64 and
 * big-endian int64, the ad ID as 16 bytes, text identifiers as strings. Returns the plants.
 *
 * @example
 *   const plants = await writeBinaryCapture('bench/.data/binary.ndjson', 100, identifiers, values, random(3));
 */
export async function writeBinaryCapture(
  file: string,
  megabytes: number,
  identifiers: Identifier[],
  values: IdentifierValues,
  rng: Random,
): Promise<Plant[]> {
  const out = createWriteStream(file);
  const write = (line: string) =>
    new Promise<void>((resolve) =>
      out.write(line + '\n') ? resolve() : out.once('drain', () => resolve()),
    );
  const start: RunStartRecord = {
    type: 'run-start',
    version: 1,
    at: 1_700_000_000_000,
    runId: 'bench-binary',
    scenario: 'bench',
    scenarioTitle: 'benchmark binary capture',
    device: { id: 'bench', kind: 'virtual' },
    identifiers: values,
    consents: [],
    forbiddenHosts: [],
    versions: {},
  };
  await write(JSON.stringify(start));
  const plants: Plant[] = [];
  let written = 0;
  for (let index = 0; written < megabytes * 1e6; index++) {
    const kind = rng.pick(KINDS);
    const planted = rng.int(8) === 0 ? rng.pick(identifiers) : undefined;
    const { body, how } = binaryBody(kind, rng, planted);
    if (planted) plants.push({ exchange: index, label: planted.label, how: `${kind} ${how}` });
    const record: ExchangeRecord = { type: 'exchange', exchange: exchange(index, kind, body) };
    const line = JSON.stringify(record);
    written += line.length;
    await write(line);
  }
  await new Promise<void>((resolve) => out.end(resolve));
  return plants;
}

function exchange(index: number, kind: Kind, body: Buffer): Exchange {
  return {
    id: `b${index}`,
    startedAt: 1_700_000_000_000 + index,
    completedAt: 1_700_000_000_000 + index + 20,
    protocol: 'https',
    host: 'telemetry.example.test',
    request: {
      method: 'POST',
      url: `https://telemetry.example.test/v1/${kind}`,
      httpVersion: '2',
      headers: [['content-type', TYPES[kind]]],
      body: { encoding: 'base64', data: body.toString('base64') },
    },
    response: {
      status: 200,
      statusMessage: 'OK',
      headers: [['content-type', 'application/json']],
      body: { encoding: 'utf8', data: '{"accepted":true}' },
    },
  };
}

function binaryBody(
  kind: Kind,
  rng: Random,
  planted: Identifier | undefined,
): { body: Buffer; how: string } {
  const size = 2_000 + rng.int(200_000);
  if (kind === 'msgpack') return msgpackBatch(rng, size, planted);
  if (kind === 'float32-samples') return samples(rng, size, planted);
  const { body, how } = protobufBatch(rng, size, planted);
  if (kind === 'snappy-protobuf') return { body: Buffer.from(SnappyJS.compress(body)), how };
  if (kind === 'grpc') {
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(body.length, 1);
    return { body: Buffer.concat([prefix, body]), how };
  }
  return { body, how };
}

/** Events of a telemetry batch: a name, a timestamp, a reading, a random id, a rough place. */
function protobufBatch(
  rng: Random,
  size: number,
  planted: Identifier | undefined,
): { body: Buffer; how: string } {
  const writer = protobuf.Writer.create();
  const at = rng.int(Math.max(1, Math.floor(size / 90)));
  let how = '';
  for (let event = 0; writer.len < size; event++) {
    writer.uint32((1 << 3) | 2).fork();
    writer.uint32((1 << 3) | 2).string(`${rng.pick(WORDS)}_${rng.pick(WORDS)}`);
    writer.uint32((2 << 3) | 0).int64(1_700_000_000_000 + rng.int(1e9));
    writer.uint32((3 << 3) | 1).double(rng.next() * 1000);
    writer.uint32((4 << 3) | 2).bytes(rng.bytes(16));
    writer.uint32((5 << 3) | 5).float(rng.next() * 50);
    writer
      .uint32((6 << 3) | 2)
      .fork()
      .uint32((1 << 3) | 1)
      .double(rng.next() * 180 - 90)
      .uint32((2 << 3) | 1)
      .double(rng.next() * 360 - 180)
      .ldelim();
    if (planted && event === at) how = plantProtobuf(writer, planted, rng);
    writer.ldelim();
  }
  if (planted && !how) how = plantProtobuf(writer, planted, rng);
  return { body: Buffer.from(writer.finish()), how };
}

/** One identifier as a field of field 7, in an encoding its kind is sent in. */
function plantProtobuf(writer: protobuf.Writer, identifier: Identifier, rng: Random): string {
  writer.uint32((7 << 3) | 2).fork();
  let how: string;
  const number = integerOf(identifier);
  if (identifier.kind === 'location') {
    const [lat, lon] = identifier.value.split(',').map(Number) as [number, number];
    if (rng.int(2) === 0) {
      writer
        .uint32((1 << 3) | 1)
        .double(lat)
        .uint32((2 << 3) | 1)
        .double(lon);
      how = 'float64-le';
    } else {
      writer
        .uint32((1 << 3) | 0)
        .sint32(Math.round(lat * 1e7))
        .uint32((2 << 3) | 0)
        .sint32(Math.round(lon * 1e7));
      how = 'e7-zigzag-varint';
    }
  } else if (identifier.kind === 'ad_id') {
    writer.uint32((1 << 3) | 2).bytes(Buffer.from(identifier.value.replace(/-/g, ''), 'hex'));
    how = 'uuid-bytes';
  } else if (number !== undefined) {
    const long = { low: Number(number & 0xffffffffn), high: Number(number >> 32n), unsigned: true };
    if (rng.int(2) === 0) {
      writer.uint32((1 << 3) | 0).uint64(long);
      how = 'varint';
    } else {
      writer.uint32((1 << 3) | 1).fixed64(long);
      how = 'fixed64-le';
    }
  } else {
    writer.uint32((1 << 3) | 2).string(identifier.value);
    how = 'string';
  }
  writer.ldelim();
  return how;
}

/** A msgpack array of maps {n: str, t: uint64, v: float64, x: bin 16}, written by hand. */
function msgpackBatch(
  rng: Random,
  size: number,
  planted: Identifier | undefined,
): { body: Buffer; how: string } {
  const items: Buffer[] = [];
  let length = 0;
  while (length < size) {
    const name = Buffer.from(`${rng.pick(WORDS)}.${rng.pick(WORDS)}`);
    const item = Buffer.concat([
      Buffer.from([0x84, 0xa1, 0x6e, 0xa0 | name.length]),
      name,
      Buffer.from([0xa1, 0x74, 0xcf]),
      u64be(BigInt(1_700_000_000_000 + rng.int(1e9))),
      Buffer.from([0xa1, 0x76, 0xcb]),
      f64be(rng.next() * 1000),
      Buffer.from([0xa1, 0x78, 0xc4, 16]),
      rng.bytes(16),
    ]);
    items.push(item);
    length += item.length;
  }
  let how = '';
  if (planted) {
    const at = rng.int(items.length);
    const { item, how: dressed } = msgpackPlant(planted);
    items.splice(at, 0, item);
    how = dressed;
  }
  const header = Buffer.alloc(5);
  header[0] = 0xdd;
  header.writeUInt32BE(items.length, 1);
  return { body: Buffer.concat([header, ...items]), how };
}

function msgpackPlant(identifier: Identifier): { item: Buffer; how: string } {
  const number = integerOf(identifier);
  if (identifier.kind === 'location') {
    const [lat, lon] = identifier.value.split(',').map(Number) as [number, number];
    return {
      item: Buffer.concat([
        Buffer.from([0x82, 0xa3, ...Buffer.from('lat'), 0xcb]),
        f64be(lat),
        Buffer.from([0xa3, ...Buffer.from('lng'), 0xcb]),
        f64be(lon),
      ]),
      how: 'float64-be',
    };
  }
  if (identifier.kind === 'ad_id') {
    const raw = Buffer.from(identifier.value.replace(/-/g, ''), 'hex');
    return { item: Buffer.concat([Buffer.from([0xc4, raw.length]), raw]), how: 'uuid-bytes' };
  }
  if (number !== undefined)
    return { item: Buffer.concat([Buffer.from([0xcf]), u64be(number)]), how: 'int64-be' };
  const text = Buffer.from(identifier.value, 'utf8');
  return { item: Buffer.concat([Buffer.from([0xd9, text.length]), text]), how: 'string' };
}

/** Float32 sensor samples, little-endian, with a location as two float64 in a header. */
function samples(
  rng: Random,
  size: number,
  planted: Identifier | undefined,
): { body: Buffer; how: string } {
  const body = Buffer.alloc(size - (size % 4));
  for (let i = 0; i < body.length; i += 4) body.writeFloatLE(rng.next() * 20 - 10, i);
  if (!planted) return { body, how: '' };
  const number = integerOf(planted);
  let header: Buffer;
  let how: string;
  if (planted.kind === 'location') {
    const [lat, lon] = planted.value.split(',').map(Number) as [number, number];
    header = Buffer.concat([f64le(lat), f64le(lon)]);
    how = 'float64-le';
  } else if (number !== undefined) {
    header = u64be(number);
    how = 'int64-be';
  } else {
    header = Buffer.from(`\u0000${planted.value}\u0000`, 'utf8');
    how = 'string';
  }
  return { body: Buffer.concat([header, body]), how };
}

/** The identifier as the integer a binary format sends, when it is one. */
function integerOf(identifier: Identifier): bigint | undefined {
  if (identifier.kind === 'android_id') return BigInt(`0x${identifier.value}`);
  const digits = identifier.value.replace(/^\+/, '');
  if (!/^\d+$/.test(digits) || identifier.kind === 'location') return undefined;
  const number = BigInt(digits);
  return number < 1n << 64n ? number : undefined;
}

function f64le(x: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleLE(x);
  return buffer;
}

function f64be(x: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleBE(x);
  return buffer;
}

function u64be(x: bigint): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(x);
  return buffer;
}
