import { expect } from 'chai';
import { seededRandom, type SeededRandom } from '../support/seeded-random.ts';
import { createHash } from 'node:crypto';
import {
  BASE64_BYTE,
  runFinder,
  type RunFinderOptions,
} from '../../src/detect/decoders/base64-runs.ts';
import { findBlobs, type Blob } from '../../src/detect/decoders/blobs.ts';

/**
 * The reference: findBlobs as it was before the SIMD run finder, a cursor probing one byte in 16
 * over a lookup table. The fast version must give exactly its blobs, in its order.
 */
function referenceBlobs(bytes: Uint8Array): Blob[] {
  const MIN_BLOB = 16;
  const JWT = /^(eyJ[A-Za-z0-9_-]+)\.(eyJ[A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)/;
  const jwtAt = (start: number) => {
    if (bytes[start] !== 0x65 || bytes[start + 1] !== 0x79 || bytes[start + 2] !== 0x4a)
      return undefined;
    const window = Buffer.from(
      bytes.buffer,
      bytes.byteOffset + start,
      Math.min(bytes.length - start, 1 << 16),
    ).toString('latin1');
    const parts = JWT.exec(window);
    if (!parts) return undefined;
    const header = parts[1] as string;
    const payload = parts[2] as string;
    const payloadStart = start + header.length + 1;
    return {
      blobs: [
        {
          start,
          end: payloadStart - 1,
          kind: 'jwt:header',
          bytes: Buffer.from(header, 'base64url'),
        },
        {
          start: payloadStart,
          end: payloadStart + payload.length,
          kind: 'jwt:payload',
          bytes: Buffer.from(payload, 'base64url'),
        },
      ],
      end: start + (parts[0] as string).length,
    };
  };
  const worthDecoding = (token: string) => {
    if (/^[0-9a-fA-F]+$/.test(token)) return false;
    if (token.length % 4 === 1) return false;
    return /[A-Z]/.test(token) && /[a-z]/.test(token) && /[0-9+/_-]/.test(token);
  };
  const base64Blob = (start: number, end: number, stop: number): Blob | undefined => {
    const token = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString(
      'latin1',
    );
    if (!worthDecoding(token)) return undefined;
    const decoded = Buffer.from(token, /[-_]/.test(token) ? 'base64url' : 'base64');
    if (decoded.length < 12) return undefined;
    return { start, end: stop, kind: 'base64', bytes: decoded };
  };
  const blobs: Blob[] = [];
  const length = bytes.length;
  let i = 0;
  while (i < length) {
    const probe = i + MIN_BLOB - 1;
    if (probe >= length) break;
    if (BASE64_BYTE[bytes[probe] as number] === 0) {
      i = probe + 1;
      continue;
    }
    let start = probe;
    while (start > i && BASE64_BYTE[bytes[start - 1] as number] === 1) start--;
    let end = probe + 1;
    while (end < length && BASE64_BYTE[bytes[end] as number] === 1) end++;
    if (end - start >= MIN_BLOB || bytes[end] === 0x2e) {
      const jwt = bytes[end] === 0x2e ? jwtAt(start) : undefined;
      if (jwt) {
        blobs.push(...jwt.blobs);
        end = jwt.end;
      } else if (end - start >= MIN_BLOB) {
        let stop = end;
        while (stop < length && stop < end + 2 && bytes[stop] === 0x3d) stop++;
        const blob = base64Blob(start, end, stop);
        if (blob) blobs.push(blob);
        end = stop;
      }
    }
    i = end + 1;
  }
  return blobs;
}

/** Blobs as comparable rows: the decoded bytes in hex. */
function rows(blobs: Blob[]): string[] {
  return blobs.map(
    (blob) => `${blob.start}-${blob.end} ${blob.kind} ${Buffer.from(blob.bytes).toString('hex')}`,
  );
}

const b64 = (text: string | Buffer, url = false) =>
  Buffer.from(text).toString(url ? 'base64url' : 'base64');

/**
 * Text made of the pieces that decide what findBlobs does: alphabet runs of every length around
 * 16, padding, dots, JWTs with short and long headers (and broken ones), base64 and hex blobs,
 * JSON punctuation, words, and stray binary.
 */
function randomText(rng: SeededRandom, size: number): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_';
  const run = (n: number) => Array.from({ length: n }, () => rng.pick([...alphabet])).join('');
  const pieces: (() => string | Buffer)[] = [
    () => run(1 + rng.int(40)),
    () => run(14 + rng.int(4)),
    () => rng.pick(['"', ',', ':', '{"a":"', '"}', ' ', '.', '=', '==', '===', '\n', '.eyJ']),
    () => b64(rng.bytes(8 + rng.int(40)), rng.int(2) === 1),
    () => b64(`{"imei":"35693803564380${rng.int(10)}"}`) + rng.pick(['', '=', '.', 'x', '+']),
    () =>
      createHash('sha256')
        .update(String(rng.int(1e6)))
        .digest('hex'),
    () => {
      // A JWT; headers shorter than 16 characters are only seen when a probe lands on them.
      const header = rng.pick([
        { a: 1 },
        { a: 'b' },
        { alg: 'HS256' },
        { alg: 'none', typ: 'JWT' },
      ]);
      const payload = { sub: String(rng.int(1e9)) };
      const signature = rng.pick(['', 'c2ln', run(rng.int(30))]);
      const dots = rng.pick(['..', '.', '.x.']);
      return `${b64(JSON.stringify(header), true)}.${b64(JSON.stringify(payload), true)}${dots.slice(1)}${signature}`;
    },
    () => `eyJ${run(rng.int(14))}${rng.pick(['.', '.eyJ', '.eyJ.', '.eyJa.b', ''])}`,
    () => rng.pick(['the ', 'quick ', 'fox ', '12.345', '1700000000000', 'true']),
    () => rng.bytes(1 + rng.int(4)),
  ];
  const parts: Buffer[] = [];
  let length = 0;
  while (length < size) {
    const piece = rng.pick(pieces)();
    const bytes = typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece;
    parts.push(bytes);
    length += bytes.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

const ENGINES: [string, RunFinderOptions][] = [
  ['the default engine', {}],
  ['wasm', { engine: 'wasm' }],
  ['wasm in chunks of 37 bytes', { engine: 'wasm', chunkBytes: 37 }],
  ['wasm in chunks of 100 bytes', { engine: 'wasm', chunkBytes: 100 }],
  ['js', { engine: 'js' }],
];

describe('findBlobs: the same blobs as the reference cursor', () => {
  for (const [engine, options] of ENGINES) {
    it(`on random text of 0–4,000 bytes (${engine})`, () => {
      const rng = seededRandom(5);
      let blobs = 0;
      for (let round = 0; round < 400; round++) {
        const bytes = randomText(rng, rng.int(4_000));
        const expected = rows(referenceBlobs(bytes));
        blobs += expected.length;
        expect(rows(findBlobs(bytes, options)), `round ${round}`).to.deep.equal(expected);
      }
      // The rows must exercise the decoding, or the comparison proves little.
      expect(blobs).to.be.greaterThan(1_000);
    });
  }

  it('on random text with short-header JWTs (the cursor replayed)', () => {
    const rng = seededRandom(6);
    let jwts = 0;
    for (let round = 0; round < 300; round++) {
      const filler = randomText(rng, 200 + rng.int(3_000)).toString('latin1');
      const jwt = `${b64('{"a":1}', true)}.${b64('{"sub":"356938035643809"}', true)}.c2ln`;
      const at = rng.int(filler.length);
      const bytes = Buffer.from(`${filler.slice(0, at)} ${jwt} ${filler.slice(at)}`, 'latin1');
      const expected = rows(referenceBlobs(bytes));
      jwts += expected.filter((row) => row.includes('jwt:payload')).length;
      for (const [engine, options] of ENGINES)
        expect(rows(findBlobs(bytes, options)), `round ${round}, ${engine}`).to.deep.equal(
          expected,
        );
    }
    expect(jwts).to.be.greaterThan(100);
  });

  it('on planted blobs in large JSON (several wasm chunks)', () => {
    const rng = seededRandom(7);
    const items: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const field =
        rng.int(50) === 0 ? b64(`{"imei":"35693803564380${rng.int(10)}","n":${i}}`) : run16(rng);
      items.push(`{"id":${rng.int(1e9)},"tag":"${field}","lat":${rng.int(90)}.${rng.int(1e4)}}`);
    }
    const bytes = Buffer.from(`[${items.join(',')}]`);
    const expected = rows(referenceBlobs(bytes));
    expect(expected.length).to.be.greaterThan(300);
    for (const [engine, options] of ENGINES)
      expect(rows(findBlobs(bytes, options)), engine).to.deep.equal(expected);
  });

  it('on random bytes', () => {
    const rng = seededRandom(8);
    for (let round = 0; round < 50; round++) {
      const bytes = rng.bytes(rng.int(20_000));
      for (const [engine, options] of ENGINES)
        expect(rows(findBlobs(bytes, options)), engine).to.deep.equal(rows(referenceBlobs(bytes)));
    }
  });
});

/** Near-blob words: 15 alphabet characters, one short of a run. */
function run16(rng: SeededRandom): string {
  return Array.from({ length: 15 }, () => rng.pick([...'abcXYZ019'])).join('');
}

describe('runFinder', () => {
  const naive = (bytes: Uint8Array, from: number) => {
    let run = 0;
    for (let at = from; at < bytes.length; at++) {
      run = BASE64_BYTE[bytes[at] as number] === 1 ? run + 1 : 0;
      if (run === 16) return at - 15;
    }
    return -1;
  };

  it('classifies every byte value as the alphabet table does', () => {
    for (let byte = 0; byte < 256; byte++) {
      const bytes = Buffer.alloc(300, byte);
      const expected = BASE64_BYTE[byte] === 1 ? 0 : -1;
      for (const [engine, options] of ENGINES)
        expect(runFinder(bytes, options)(0), `byte ${byte}, ${engine}`).to.equal(expected);
    }
  });

  it('finds the first run of 16 at or after any start, across chunk edges', () => {
    const rng = seededRandom(9);
    for (let round = 0; round < 200; round++) {
      const bytes = Buffer.from(
        Array.from({ length: 300 + rng.int(3_000) }, () =>
          rng.int(12) === 0 ? rng.pick([0x2c, 0x3d, 0x2e, 0x80, 0xff, 0x00]) : 0x41 + rng.int(3),
        ),
      );
      for (const [engine, options] of ENGINES) {
        const next = runFinder(bytes, options);
        // Starts go forward, as findBlobs asks them, with jumps of every size.
        for (let from = 0; from < bytes.length; from += 1 + rng.int(200))
          expect(next(from), `round ${round}, from ${from}, ${engine}`).to.equal(
            naive(bytes, from),
          );
      }
    }
  });

  it('keeps two finders apart when their searches interleave', () => {
    const rng = seededRandom(10);
    const make = () =>
      Buffer.from(
        Array.from({ length: 2_000 }, () => (rng.int(9) === 0 ? 0x2c : 0x61 + rng.int(3))),
      );
    const [first, second] = [make(), make()];
    const a = runFinder(first, { engine: 'wasm', chunkBytes: 64 });
    const b = runFinder(second, { engine: 'wasm', chunkBytes: 64 });
    for (let from = 0; from < 2_000; from += 1 + rng.int(50)) {
      expect(a(from), `first, from ${from}`).to.equal(naive(first, from));
      expect(b(from), `second, from ${from}`).to.equal(naive(second, from));
    }
  });
});
