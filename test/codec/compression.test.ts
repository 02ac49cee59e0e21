import { expect } from 'chai';
import { compress as lz4jsFrame, compressBlock } from 'lz4js';
import { compress as snappyjs } from 'snappyjs';
import {
  contentCodings,
  decode,
  MAX_DECODED,
  sniffCompression,
  type Compression,
  type Decoded,
} from '../../src/codec/compression.ts';
import {
  lz4Frame,
  lz4LegacyFrame,
  lz4ZeroBomb,
  SNAPPY_STREAM_IDENTIFIER,
  snappyFramed,
} from '../support/compressed-frames.ts';
import { seededRandom } from '../support/seeded-random.ts';

const IMEI = '865432101234564';
const KiB = 1024;
const MiB = 1024 * KiB;

/** Telemetry-like text: compressible, with the IMEI repeated so later copies are back-references. */
function telemetry(size: number): Buffer {
  const lines: string[] = [];
  let total = 0;
  for (let i = 0; total < size; i++) {
    const line = `{"seq":${i},"imei":"${IMEI}","event":"screen_view","t":${1700000000 + i * 7}}\n`;
    lines.push(line);
    total += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

const random = seededRandom(21);
const SMALL = telemetry(300);
const LARGE = telemetry(300 * KiB);
/** Incompressible: the compressors store it, or write it as long literals. */
const NOISE = random.bytes(150 * KiB);

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

function bytesOf(result: Decoded): Buffer {
  if (!('bytes' in result)) throw new Error(`not decoded: ${JSON.stringify(result)}`);
  return Buffer.from(result.bytes);
}

/** An LZ4 frame: its magic, `header` (FLG, BD, optional fields) and checksum byte, its blocks. */
function lz4Raw(header: string, ...blocks: Buffer[]): Buffer {
  return Buffer.concat([hex('04224d18'), hex(header), Buffer.of(0x00), ...blocks]);
}

function lz4Block(body: Buffer, stored = false): Buffer {
  const word = Buffer.alloc(4);
  word.writeUInt32LE(((stored ? 0x80000000 : 0) | body.length) >>> 0);
  return Buffer.concat([word, body]);
}

const END = Buffer.alloc(4);

/** One LZ4 block of `data`, compressed by lz4js on its own. */
function lz4jsBlock(data: Uint8Array): Buffer {
  const scratch = new Uint8Array(Math.ceil(data.length + data.length / 255 + 16));
  const size = compressBlock(data, scratch, 0, data.length, new Uint32Array(1 << 16));
  return Buffer.from(scratch.subarray(0, size));
}

describe('decode: snappy and lz4', () => {
  // Each row: what a real compressor wrote (or the format's spec allows), and what it decodes to.
  const rows: [string, Compression, () => Buffer, Buffer][] = [
    ['raw snappy from snappyjs', 'snappy', () => snappyjs(SMALL), SMALL],
    ['raw snappy over several 64 KiB fragments', 'snappy', () => snappyjs(LARGE), LARGE],
    ['raw snappy of incompressible bytes (long literals)', 'snappy', () => snappyjs(NOISE), NOISE],
    ['raw snappy of nothing', 'snappy', () => snappyjs(Buffer.alloc(0)), Buffer.alloc(0)],
    [
      // 'abcd', then a 4-byte-offset copy of 8 (snappyjs never writes one), then a 1-byte-offset
      // copy of 6 overlapping itself (a run).
      'raw snappy with a 4-byte offset and an overlapping copy',
      'snappy',
      () => hex('12 0c 61626364 1f 04000000 09 01'),
      Buffer.from('abcdabcdabcddddddd'),
    ],
    [
      'raw snappy with a 61..64 literal length (1-4 length bytes)',
      'snappy',
      () => Buffer.concat([hex('c8 01 f0 c7'), Buffer.alloc(200, 0x41)]),
      Buffer.alloc(200, 0x41),
    ],
    ['a body declared snappy that is framed', 'snappy', () => snappyFramed(LARGE), LARGE],
    ['framed snappy, compressed chunks', 'snappy-framed', () => snappyFramed(LARGE), LARGE],
    [
      'framed snappy, stored chunks',
      'snappy-framed',
      () => snappyFramed(SMALL, { stored: true }),
      SMALL,
    ],
    [
      'framed snappy with padding chunks',
      'snappy-framed',
      () => snappyFramed(LARGE, { padding: true }),
      LARGE,
    ],
    [
      'framed snappy, two streams concatenated, a skippable chunk between',
      'snappy-framed',
      () => Buffer.concat([snappyFramed(SMALL), hex('80 03 00 00 010203'), snappyFramed(NOISE)]),
      Buffer.concat([SMALL, NOISE]),
    ],
    [
      // The CRC is not checked (see snappyFramed): a wrong one hides nothing.
      'framed snappy with a wrong CRC still decodes',
      'snappy-framed',
      () => {
        const stream = snappyFramed(SMALL);
        stream.writeUInt8(
          stream.readUInt8(SNAPPY_STREAM_IDENTIFIER.length + 4) ^ 0xff,
          SNAPPY_STREAM_IDENTIFIER.length + 4,
        );
        return stream;
      },
      SMALL,
    ],
    [
      'lz4 frame from lz4js (one 4 MiB linked block)',
      'lz4',
      () => lz4jsFrame(LARGE) as Buffer,
      LARGE,
    ],
    ['lz4 frame with content size', 'lz4', () => lz4Frame(LARGE, { contentSize: true }), LARGE],
    [
      'lz4 frame with block and content checksums',
      'lz4',
      () => lz4Frame(LARGE, { blockChecksum: true, contentChecksum: true }),
      LARGE,
    ],
    [
      'lz4 frame, many independent 64 KiB blocks',
      'lz4',
      () => lz4Frame(LARGE, { independent: true, contentSize: true }),
      LARGE,
    ],
    [
      'lz4 frame, many linked 64 KiB blocks (matches into the block before)',
      'lz4',
      () => lz4Frame(LARGE, { blockSizeId: 4 }),
      LARGE,
    ],
    [
      'lz4 frame of incompressible bytes (stored blocks)',
      'lz4',
      () => lz4Frame(NOISE, { blockChecksum: true }),
      NOISE,
    ],
    [
      'lz4 frame with a wrong content checksum still decodes',
      'lz4',
      () => {
        const frame = lz4Frame(SMALL, { contentChecksum: true });
        frame.writeUInt8(frame.readUInt8(frame.length - 1) ^ 0xff, frame.length - 1);
        return frame;
      },
      SMALL,
    ],
    ['lz4 legacy frame', 'lz4', () => lz4LegacyFrame(LARGE), LARGE],
    [
      'lz4 frames concatenated, a skippable frame between',
      'lz4',
      () =>
        Buffer.concat([
          lz4Frame(SMALL),
          hex('5a2a4d18 03000000 010203'),
          lz4LegacyFrame(NOISE),
          lz4Frame(LARGE, { independent: true }),
        ]),
      Buffer.concat([SMALL, NOISE, LARGE]),
    ],
    [
      'lz4 linked blocks: a match into the block before',
      'lz4',
      () => lz4Raw('40 40', lz4Block(hex('40 61626364')), lz4Block(hex('00 0400 00')), END),
      Buffer.from('abcdabcd'),
    ],
    ['an empty lz4 frame', 'lz4', () => hex('04224d18 6040 82 00000000'), Buffer.alloc(0)],
  ];
  for (const [name, compression, make, expected] of rows) {
    it(`${name}: decodes to the original`, () => {
      const result = bytesOf(decode(make(), compression));
      expect(result.length).to.equal(expected.length);
      expect(result.equals(expected)).to.equal(true);
    });
  }

  it('the repeated IMEI was written as back-references, and comes back every time', () => {
    const compressed = snappyjs(LARGE);
    const count = (bytes: Buffer) => bytes.toString('latin1').split(IMEI).length - 1;
    expect(count(compressed)).to.be.below(20);
    expect(count(bytesOf(decode(compressed, 'snappy'))))
      .to.equal(count(LARGE))
      .and.above(3000);
    expect(count(bytesOf(decode(lz4jsFrame(LARGE) as Buffer, 'lz4')))).to.equal(count(LARGE));
  });
});

describe('decode: snappy and lz4 bombs stop at the budget', () => {
  /** ArrayBuffer memory the call allocated and still holds. */
  function allocatedBy(call: () => Decoded): { result: Decoded; grew: number } {
    const before = process.memoryUsage().arrayBuffers;
    const result = call();
    return { result, grew: process.memoryUsage().arrayBuffers - before };
  }

  const rows: [string, Compression, () => Buffer, number | undefined][] = [
    [
      'a 1 KB raw snappy block declaring 4 GB',
      'snappy',
      () => Buffer.concat([hex('ffffffff0f'), Buffer.alloc(1019, 0x00)]),
      undefined,
    ],
    [
      'raw snappy expanding past the limit given',
      'snappy',
      () => snappyjs(Buffer.alloc(2 * MiB)),
      1 * MiB,
    ],
    [
      'framed snappy whose chunks add up past the limit',
      'snappy-framed',
      () => snappyFramed(Buffer.alloc(2 * MiB)),
      1 * MiB,
    ],
    [
      'an lz4 frame declaring a 1 TB content size',
      'lz4',
      () => lz4Raw('68 40 0000000000010000', END),
      undefined,
    ],
    ['an lz4 frame of 4 MiB zero blocks past MAX_DECODED', 'lz4', () => lz4ZeroBomb(20), undefined],
    ['lz4 expanding past the limit given', 'lz4', () => lz4Frame(Buffer.alloc(2 * MiB)), 1 * MiB],
    [
      'an lz4 legacy frame past the limit given',
      'lz4',
      () => lz4LegacyFrame(Buffer.alloc(2 * MiB)),
      1 * MiB,
    ],
  ];
  for (const [name, compression, make, limit] of rows) {
    it(`${name}: overBudget`, () => {
      const input = make();
      expect(input.length).to.be.below(1 * MiB);
      const { result } = allocatedBy(() => decode(input, compression, limit));
      expect(result).to.deep.equal({ overBudget: true });
    });
  }

  it('a 1 KB raw snappy block declaring 4 GB allocates nothing', () => {
    const { result, grew } = allocatedBy(() =>
      decode(Buffer.concat([hex('ffffffff0f'), Buffer.alloc(1019)]), 'snappy'),
    );
    expect(result).to.deep.equal({ overBudget: true });
    expect(grew).to.be.below(1 * MiB);
  });

  it('a 1 KB raw snappy block declaring 60 MB (within the budget, beyond what 1 KB can hold) is invalid before allocating', () => {
    const preamble = hex('8080c01d'); // 59 MiB: 0x3b00000
    const { result, grew } = allocatedBy(() =>
      decode(Buffer.concat([preamble, Buffer.alloc(1020)]), 'snappy'),
    );
    expect(result).to.deep.equal({ invalid: true });
    expect(grew).to.be.below(1 * MiB);
  });

  it('an lz4 frame declaring 1 TB allocates nothing', () => {
    const { result, grew } = allocatedBy(() =>
      decode(lz4Raw('68 40 0000000000010000', END), 'lz4'),
    );
    expect(result).to.deep.equal({ overBudget: true });
    expect(grew).to.be.below(1 * MiB);
  });

  it('the limit is the exact edge: a body of `limit` bytes decodes, one more does not', () => {
    const data = telemetry(100 * KiB);
    for (const [compression, bytes] of [
      ['snappy', snappyjs(data)],
      ['snappy-framed', snappyFramed(data)],
      ['lz4', lz4Frame(data)],
    ] as const) {
      expect(bytesOf(decode(bytes, compression, data.length)).length, compression).to.equal(
        data.length,
      );
      expect(decode(bytes, compression, data.length - 1), compression).to.deep.equal({
        overBudget: true,
      });
    }
  });
});

describe('decode: hostile snappy and lz4 bytes are invalid, never thrown', () => {
  const snappy = snappyjs(SMALL);
  const framed = snappyFramed(LARGE);
  const frame = lz4Frame(LARGE, { contentSize: true, blockChecksum: true });
  const rows: [string, Compression, Buffer][] = [
    ['raw snappy: nothing at all', 'snappy', Buffer.alloc(0)],
    ['raw snappy: a preamble and no data', 'snappy', hex('05')],
    ['raw snappy: truncated by one byte', 'snappy', snappy.subarray(0, snappy.length - 1)],
    ['raw snappy: a preamble of six bytes', 'snappy', hex('ffffffffff01 00')],
    ['raw snappy: a preamble of 2^32 or more', 'snappy', hex('ffffffff10 00')],
    ['raw snappy: decodes to less than declared', 'snappy', hex('05 0c 61626364')],
    ['raw snappy: decodes to more than declared', 'snappy', hex('03 0c 61626364')],
    ['raw snappy: a copy before anything was written', 'snappy', hex('04 01 01')],
    ['raw snappy: a copy at offset 0', 'snappy', hex('08 0c 61626364 01 00')],
    ['raw snappy: a copy reaching before the start', 'snappy', hex('08 0c 61626364 01 05')],
    ['raw snappy: a 4-byte offset copy, truncated', 'snappy', hex('08 0c 61626364 0f 0400')],
    ['raw snappy: a literal running past the input', 'snappy', hex('08 1c 61626364')],
    ['raw snappy: a long literal length cut short', 'snappy', hex('c8 01 f4 c7')],
    ['framed snappy: no stream identifier', 'snappy-framed', framed.subarray(10)],
    ['framed snappy: a bad stream identifier', 'snappy-framed', hex('ff060000734e61507058')],
    [
      'framed snappy: a second stream identifier of the wrong length',
      'snappy-framed',
      Buffer.concat([SNAPPY_STREAM_IDENTIFIER, hex('ff050000734e615070')]),
    ],
    ['framed snappy: truncated mid-chunk', 'snappy-framed', framed.subarray(0, framed.length - 7)],
    [
      'framed snappy: truncated chunk header',
      'snappy-framed',
      Buffer.concat([SNAPPY_STREAM_IDENTIFIER, hex('0001')]),
    ],
    [
      'framed snappy: a reserved unskippable chunk',
      'snappy-framed',
      Buffer.concat([SNAPPY_STREAM_IDENTIFIER, hex('02 01 00 00 00')]),
    ],
    [
      'framed snappy: a chunk too short for its CRC',
      'snappy-framed',
      Buffer.concat([SNAPPY_STREAM_IDENTIFIER, hex('01 02 00 00 0000')]),
    ],
    [
      'framed snappy: a stored chunk over 64 KiB',
      'snappy-framed',
      Buffer.concat([SNAPPY_STREAM_IDENTIFIER, hex('01 05 00 01 00000000'), Buffer.alloc(65537)]),
    ],
    [
      'framed snappy: a compressed chunk declaring over 64 KiB',
      'snappy-framed',
      Buffer.concat([
        SNAPPY_STREAM_IDENTIFIER,
        hex('00 0a 00 00 00000000'),
        hex('818004 00 00 00'), // 65537, then junk
      ]),
    ],
    [
      'framed snappy: a compressed chunk that is not snappy',
      'snappy-framed',
      Buffer.concat([SNAPPY_STREAM_IDENTIFIER, hex('00 06 00 00 00000000 0501')]),
    ],
    ['lz4: a bad magic', 'lz4', Buffer.concat([hex('04224d19'), frame.subarray(4)])],
    ['lz4: truncated header', 'lz4', hex('04224d18 60')],
    ['lz4: version 00', 'lz4', lz4Raw('20 40', END)],
    ['lz4: a reserved flag bit', 'lz4', lz4Raw('62 40', END)],
    ['lz4: a reserved descriptor bit', 'lz4', lz4Raw('60 41', END)],
    ['lz4: block size id 3', 'lz4', lz4Raw('60 30', END)],
    [
      'lz4: a dictionary id (the dictionary is not in the body)',
      'lz4',
      lz4Raw('61 40 01000000', END),
    ],
    ['lz4: truncated mid-block', 'lz4', frame.subarray(0, 400)],
    ['lz4: no end mark', 'lz4', lz4Raw('60 40', lz4Block(hex('40 61626364')))],
    [
      'lz4: a block over the block size',
      'lz4',
      lz4Raw('60 40', hex('01000100'), Buffer.alloc(65537), END),
    ],
    [
      'lz4: a block decoding past the block size',
      'lz4',
      lz4Raw('60 40', lz4Block(lz4jsBlock(new Uint8Array(65537))), END),
    ],
    ['lz4: a match at offset 0', 'lz4', lz4Raw('60 40', lz4Block(hex('40 61626364 0000 00')), END)],
    [
      'lz4: a match before the start',
      'lz4',
      lz4Raw('60 40', lz4Block(hex('40 61626364 0500 00')), END),
    ],
    [
      'lz4: an independent block matching into the block before',
      'lz4',
      lz4Raw('60 40', lz4Block(hex('40 61626364')), lz4Block(hex('00 0400 00')), END),
    ],
    [
      'lz4: a literal run past the block',
      'lz4',
      lz4Raw('60 40', lz4Block(hex('50 61626364')), END),
    ],
    [
      'lz4: a block that ends after a match',
      'lz4',
      lz4Raw('60 40', lz4Block(hex('40 61626364 0400')), END),
    ],
    [
      'lz4: content size that does not match',
      'lz4',
      lz4Raw('68 40 0500000000000000', lz4Block(hex('40 61626364')), END),
    ],
    [
      'lz4: trailing garbage after a frame',
      'lz4',
      Buffer.concat([lz4Frame(SMALL), hex('00112233')]),
    ],
    ['lz4: a skippable frame running past the end', 'lz4', hex('502a4d18 ff000000 00')],
    ['lz4 legacy: a block running past the end', 'lz4', hex('02214c18 10000000 40616263')],
  ];
  for (const [name, compression, bytes] of rows) {
    it(`${name}: invalid`, () => {
      expect(decode(bytes, compression)).to.deep.equal({ invalid: true });
    });
  }

  it('never throws and never passes the limit on 3000 mutated bodies of each kind', () => {
    const mutate = seededRandom(2121);
    const limit = 512 * KiB;
    const seeds: [Compression, Buffer][] = [
      ['snappy', snappyjs(telemetry(4 * KiB))],
      ['snappy-framed', snappyFramed(telemetry(4 * KiB))],
      ['lz4', lz4Frame(telemetry(4 * KiB), { contentSize: true, blockChecksum: true })],
      ['lz4', lz4LegacyFrame(telemetry(4 * KiB))],
    ];
    const outcomes = new Set<string>();
    for (const [compression, seed] of seeds) {
      for (let round = 0; round < 3000; round++) {
        const bytes = Buffer.from(seed.subarray(0, seed.length - mutate.int(8)));
        for (let flips = mutate.int(4) + 1; flips > 0; flips--) {
          bytes[mutate.int(bytes.length)] = mutate.int(256);
        }
        const result = decode(bytes, compression, limit);
        outcomes.add(Object.keys(result)[0]!);
        if ('bytes' in result) expect(result.bytes.length).to.be.at.most(limit);
      }
    }
    expect([...outcomes].sort()).to.include.members(['bytes', 'invalid']);
  });
});

describe('sniffCompression and contentCodings: snappy and lz4', () => {
  const rows: [string, Buffer, string | undefined, Compression | undefined][] = [
    ['an lz4 frame by its magic', lz4Frame(SMALL), undefined, 'lz4'],
    ['an lz4 legacy frame by its magic', lz4LegacyFrame(SMALL), undefined, 'lz4'],
    ['framed snappy by its stream identifier', snappyFramed(SMALL), undefined, 'snappy-framed'],
    ['raw snappy undeclared: no magic, not guessed', snappyjs(SMALL), undefined, undefined],
    ['raw snappy declared', snappyjs(SMALL), 'snappy', 'snappy'],
    ['framed snappy declared snappy', snappyFramed(SMALL), 'snappy', 'snappy-framed'],
    [
      'framed snappy declared x-snappy-framed',
      snappyFramed(SMALL),
      'x-snappy-framed',
      'snappy-framed',
    ],
    ['lz4 declared', lz4Frame(SMALL), 'lz4', 'lz4'],
    ['a coding named like an Object member', SMALL, 'constructor', undefined],
  ];
  for (const [name, bytes, declared, expected] of rows) {
    it(`${name} → ${expected ?? 'none'}`, () => {
      expect(sniffCompression(bytes, declared)).to.equal(expected);
    });
  }

  it('knows the content-codings senders use, last applied first', () => {
    expect(contentCodings('snappy')).to.deep.equal([['snappy', 'snappy']]);
    expect(contentCodings('x-snappy-framed, LZ4')).to.deep.equal([
      ['lz4', 'lz4'],
      ['x-snappy-framed', 'snappy-framed'],
    ]);
    expect(contentCodings('toString')).to.deep.equal([['tostring', undefined]]);
  });

  it('MAX_DECODED is the default limit', () => {
    expect(decode(hex('ffffffff0f'), 'snappy')).to.deep.equal({ overBudget: true });
    expect(MAX_DECODED).to.equal(64 * MiB);
  });
});
