import { expect } from 'chai';
import type { Decoder } from '../../src/detect/decoder.ts';
import type { Child, Part } from '../../src/detect/part.ts';
import { seededRandom } from './seeded-random.ts';

/** Protobuf's base-128 varint, written out here independently of the engine's walker. */
export function varint(value: bigint | number): Buffer {
  const out: number[] = [];
  for (let rest = BigInt(value); ; rest >>= 7n) {
    const low = Number(rest & 0x7fn);
    if (rest < 0x80n) {
      out.push(low);
      return Buffer.from(out);
    }
    out.push(low | 0x80);
  }
}

/** A protobuf length-delimited field (wire type 2): tag, length, content. */
export function pbField(number: number, content: Buffer | string): Buffer {
  const bytes = Buffer.from(content);
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}

/** A protobuf varint field (wire type 0). */
export function pbVarintField(number: number, value: bigint | number): Buffer {
  return Buffer.concat([varint(number << 3), varint(value)]);
}

/** One gRPC message: the compressed flag, its length big-endian, the message. */
export function grpcFrame(message: Buffer, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** A part as the detector hands it to a decoder: body-level, undecoded, unless the row says. */
export function partOf(bytes: Buffer | string, extra: Partial<Part> = {}): Part {
  return { where: 'request-body', bytes: Buffer.from(bytes), depth: 0, ...extra };
}

/** What a test says of a child: its name, its extent in the parent, its bytes as latin1 text. */
export interface ChildSummary {
  where: string;
  start: number;
  end: number;
  slice: boolean;
  field?: boolean;
  contentType?: string;
  text: string;
}

export function summary(child: Child): ChildSummary {
  const out: ChildSummary = {
    where: child.where,
    start: child.start,
    end: child.end,
    slice: child.slice,
    text: Buffer.from(child.bytes).toString('latin1'),
  };
  if (child.field) out.field = true;
  if (child.contentType) out.contentType = child.contentType;
  return out;
}

/** Opens a part with one decoder and a fresh budget: the summarised children and the gaps told. */
export function openWith(
  decoder: Decoder,
  part: Part,
  left = 4 * 64 * 1024 * 1024,
): { children: ChildSummary[] | undefined; gaps: string[] } {
  const gaps: string[] = [];
  const scope = {
    left,
    unscanned: (where: string, reason: string) => gaps.push(`${where}: ${reason}`),
  };
  const children = decoder.open(part, scope);
  return { children: children?.map(summary), gaps };
}

/**
 * Hostile bytes a decoder must survive: random bytes of many lengths, all-0xff, lengths that claim
 * more than there is, deep nesting, truncations of `valid`. Each is opened under every `parts`
 * shape; a decoder must return (children or undefined), never throw, and never hand back a child
 * whose extent lies outside the part.
 */
export function expectSurvivesHostileBytes(
  decoder: Decoder,
  shapes: Partial<Part>[],
  valid: Buffer,
): void {
  const random = seededRandom(21);
  const inputs: Buffer[] = [
    Buffer.alloc(0),
    Buffer.alloc(64, 0xff),
    Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    Buffer.from([0x00, 0xff, 0xff, 0xff, 0xff, 0x01]),
    Buffer.concat(Array.from({ length: 200 }, () => Buffer.from([0x0a, 0x7f]))),
    Buffer.from('\x1f\x8b\x08\x00garbage'),
    Buffer.from('Basic %%%'),
  ];
  for (let length = 1; length <= 300; length += 7) inputs.push(random.bytes(length));
  for (let cut = 0; cut < valid.length; cut++) inputs.push(valid.subarray(0, cut));
  for (let at = 0; at < valid.length; at++) {
    const flipped = Buffer.from(valid);
    flipped[at] = (flipped[at] as number) ^ 0xa5;
    inputs.push(flipped);
  }
  for (const shape of shapes) {
    for (const bytes of inputs) {
      const part = partOf(bytes, shape);
      let children: Child[] | undefined;
      expect(
        () => (children = decoder.open(part, { left: 1 << 20, unscanned: () => {} })),
        `${decoder.name} on ${bytes.toString('hex').slice(0, 80)}`,
      ).to.not.throw();
      for (const child of children ?? []) {
        expect(child.start, child.where).to.be.within(0, bytes.length);
        expect(child.end, child.where).to.be.within(child.start, bytes.length);
      }
    }
  }
}
