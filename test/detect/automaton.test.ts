import { expect } from 'chai';
import { seededRandom, type SeededRandom } from '../support/seeded-random.ts';
import { buildAutomaton, foldByte, type Automaton } from '../../src/detect/automaton.ts';
import { createDetector } from '../../src/detect/detector.ts';
import { identifiersFrom } from '../../src/detect/identifiers.ts';
import { SCAN_CHUNK } from '../../src/detect/wasm-automaton.ts';

/** Every occurrence as "pattern@end", sorted: the engines report them in different orders. */
function occurrences(automaton: Automaton, bytes: Uint8Array, from?: number, to?: number) {
  const found: string[] = [];
  automaton.scan(bytes, (pattern, end) => found.push(`${pattern}@${end}`), from, to);
  return found.sort();
}

/** The oracle: indexOf of each pattern, letters folded, every overlapping occurrence. */
function naive(patterns: Uint8Array[], bytes: Uint8Array, from = 0, to = bytes.length) {
  const text = Buffer.from(bytes.subarray(from, to).map(foldByte));
  const found: string[] = [];
  patterns.forEach((pattern, index) => {
    const needle = Buffer.from(pattern.map(foldByte));
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
      found.push(`${index}@${from + at + needle.length}`);
    }
  });
  return found.sort();
}

/** Flips the case of some ASCII letters: the engines must fold them. */
function randomCase(bytes: Uint8Array, rng: SeededRandom): Uint8Array {
  return bytes.map((byte) =>
    foldByte(byte) === foldByte(byte ^ 0x20) && rng.int(2) ? byte ^ 0x20 : byte,
  );
}

interface Row {
  name: string;
  patterns: Uint8Array[];
  bytes: Uint8Array;
  from?: number;
  to?: number;
}

/**
 * Patterns of `lengths` over `alphabet` (repeats and case variants on purpose), and a buffer of
 * `size` random alphabet bytes with about `plants` occurrences planted, some across chunk edges.
 */
function randomRow(
  name: string,
  seed: number,
  spec: {
    alphabet: string | number[];
    lengths: [number, number];
    count: number;
    size: number;
    plants: number;
  },
): Row {
  const rng = seededRandom(seed);
  const alphabet =
    typeof spec.alphabet === 'string' ? [...Buffer.from(spec.alphabet, 'latin1')] : spec.alphabet;
  const [shortest, longest] = spec.lengths;
  const patterns: Uint8Array[] = [];
  for (let i = 0; i < spec.count; i++) {
    if (i > 0 && rng.int(10) === 0) {
      // A repeat, in another case, or a pattern that extends an earlier one.
      const earlier = rng.pick(patterns);
      patterns.push(
        rng.int(2) ? randomCase(earlier, rng) : Uint8Array.from([...earlier, rng.pick(alphabet)]),
      );
      continue;
    }
    const length = shortest + rng.int(longest - shortest + 1);
    patterns.push(Uint8Array.from({ length }, () => rng.pick(alphabet)));
  }
  const bytes = Uint8Array.from({ length: spec.size }, () => rng.pick(alphabet));
  const plant = (pattern: Uint8Array, at: number) => {
    if (at >= 0 && at + pattern.length <= bytes.length) bytes.set(randomCase(pattern, rng), at);
  };
  for (let i = 0; i < spec.plants; i++) plant(rng.pick(patterns), rng.int(spec.size));
  // Around each chunk edge: occurrences ending just before, straddling and starting just after.
  for (let edge = SCAN_CHUNK; edge < spec.size; edge += SCAN_CHUNK) {
    const pattern = rng.pick(patterns);
    for (let shift = -pattern.length - 1; shift <= 1; shift += 1 + rng.int(3))
      plant(pattern, edge + shift);
  }
  return { name, patterns, bytes };
}

function textRow(name: string, patterns: string[], text: string, from?: number, to?: number): Row {
  const row: Row = {
    name,
    patterns: patterns.map((pattern) => Buffer.from(pattern, 'latin1')),
    bytes: Buffer.from(text, 'latin1'),
  };
  if (from !== undefined) row.from = from;
  if (to !== undefined) row.to = to;
  return row;
}

/** The detector's own patterns: the first 16 bytes of each variant, as matcher.ts builds them. */
function variantRow(): Row {
  const rng = seededRandom(99);
  const identifiers = identifiersFrom(
    {
      imei: ['356938035643809'],
      msisdn: ['+33612345678'],
      ad_id: ['38400000-8cf0-11bd-b23e-10b96e40000d'],
      operator: ['Orange F'],
      location: ['48.85661,2.35222'],
    },
    'file',
  );
  const variants = createDetector(identifiers).variants;
  const patterns = variants.map((variant) =>
    Uint8Array.from(variant.bytes.subarray(0, 16), foldByte),
  );
  const pieces: Buffer[] = [];
  for (let i = 0; i < 3000; i++) {
    pieces.push(
      Buffer.from(
        `{"id":${rng.int(1e9)},"lat":48.${rng.int(99999)},"tag":"${rng.int(1 << 30).toString(16)}"},`,
      ),
    );
    if (rng.int(20) === 0) pieces.push(Buffer.from(randomCase(rng.pick(variants).bytes, rng)));
  }
  return {
    name: 'the variants of five identifiers in JSON-like text',
    patterns,
    bytes: Buffer.concat(pieces),
  };
}

const ROWS: Row[] = [
  textRow('the doc example', ['imei', 'mei='], 'IMEI=1'),
  textRow('nothing to find', ['imei', 'serial'], 'lorem ipsum dolor sit amet '.repeat(20)),
  textRow(
    'a pattern inside another, ending together and apart',
    ['abcdef', 'cde', 'def', 'abcdefgh'],
    'xxabcdefghxxABCDEFxx',
  ),
  textRow('one-byte patterns (gram of 1)', ['a', 'B', '.'], 'abc.ABC..a'),
  textRow('two- and three-byte patterns (masked grams)', ['ab', 'abc', 'bca'], 'abcabcaBCab'),
  textRow(
    'letters fold, other bytes with bit 0x20 do not',
    ['@[', 'a\u00c0'],
    '`{@[A\u00e0a\u00c0@{',
  ),
  textRow(
    'a sub-range: only occurrences wholly inside it',
    ['abcde', 'cdefg'],
    'abcdefgabcdefg',
    2,
    12,
  ),
  textRow('a range that is too short for any pattern', ['abcdef'], 'abcdefabcdef', 3, 7),
  textRow(
    'every position matches: the output buffer fills and resumes',
    ['a', 'aa', 'aaa', 'aaaaa'],
    'a'.repeat(30_000),
  ),
  textRow(
    'every other position matches, with a stride',
    ['abababab', 'babababa', 'abababababab'],
    'ab'.repeat(140_000),
  ),
  randomRow('random, lengths 1–6, a tiny alphabet (many overlaps)', 1, {
    alphabet: 'abAB01',
    lengths: [1, 6],
    count: 40,
    size: 5_000,
    plants: 200,
  }),
  randomRow('random, lengths 4–20, letters, digits, punctuation', 2, {
    alphabet: 'abcdefXYZ0123456789.-%_/+',
    lengths: [4, 20],
    count: 300,
    size: 200_000,
    plants: 2_000,
  }),
  randomRow('random, lengths 5–16 over all byte values', 3, {
    alphabet: Array.from({ length: 256 }, (_, byte) => byte),
    lengths: [5, 16],
    count: 1_000,
    size: 300_000,
    plants: 3_000,
  }),
  randomRow('random, lengths 40–60 (stride capped), across chunk edges', 4, {
    alphabet: 'abc0123',
    lengths: [40, 60],
    count: 50,
    size: 3 * SCAN_CHUNK + 123,
    plants: 500,
  }),
  randomRow('random, lengths 8–16, a 1 MB buffer across chunk edges', 5, {
    alphabet: 'abcdefghij0123456789',
    lengths: [8, 16],
    count: 500,
    size: 1_000_000,
    plants: 5_000,
  }),
  variantRow(),
];

const expected = new Map<Row, string[]>();
const expectedOf = (row: Row) => {
  const known = expected.get(row) ?? naive(row.patterns, row.bytes, row.from, row.to);
  expected.set(row, known);
  return known;
};

describe('automaton', () => {
  it('scans with WebAssembly by default here, and with the reference DFA on request', () => {
    const patterns = [Buffer.from('imei')];
    expect(buildAutomaton(patterns).engine).to.equal('wasm');
    expect(buildAutomaton(patterns, { engine: 'js' }).engine).to.equal('js');
  });

  it('falls back to the DFA when no pattern could be scanned by the wasm engine', () => {
    const automaton = buildAutomaton([]);
    expect(automaton.engine).to.equal('js');
    expect(occurrences(automaton, Buffer.from('anything'))).to.deep.equal([]);
    expect(() => buildAutomaton([], { engine: 'wasm' })).to.throw(/js engine/);
  });

  it('refuses a scan from inside its own onMatch, and scans again afterwards', () => {
    const automaton = buildAutomaton([Buffer.from('ab')]);
    const bytes = Buffer.from('xabx');
    expect(() => automaton.scan(bytes, () => automaton.scan(bytes, () => {}))).to.throw(/onMatch/);
    expect(occurrences(automaton, bytes)).to.deep.equal(['0@3']);
  });

  describe('the wasm engine finds exactly the (pattern, end) pairs of the reference DFA', () => {
    for (const row of ROWS) {
      it(row.name, () => {
        const expected = expectedOf(row);
        const reference = occurrences(
          buildAutomaton(row.patterns, { engine: 'js' }),
          row.bytes,
          row.from,
          row.to,
        );
        const wasm = occurrences(
          buildAutomaton(row.patterns, { engine: 'wasm' }),
          row.bytes,
          row.from,
          row.to,
        );
        // The reference itself against indexOf, so that two engines cannot agree on a mistake.
        expect(reference).to.deep.equal(expected);
        expect(wasm).to.deep.equal(reference);
      });
    }

    it('every row but the empty ones has something to find', () => {
      const empty = ROWS.filter((row) => expectedOf(row).length === 0);
      expect(empty.map((row) => row.name)).to.deep.equal([
        'nothing to find',
        'a range that is too short for any pattern',
      ]);
    });

    it('one automaton scans many buffers in turn, small and large', () => {
      const rows = ROWS.filter((row) => row.name.startsWith('random, lengths 4–20'));
      const row = rows[0] as Row;
      const wasm = buildAutomaton(row.patterns);
      const reference = buildAutomaton(row.patterns, { engine: 'js' });
      for (const [from, to] of [
        [0, 10],
        [5, 70_000],
        [0, row.bytes.length],
        [123, 130],
        [199_000, 200_000],
      ] as const) {
        expect(occurrences(wasm, row.bytes, from, to)).to.deep.equal(
          occurrences(reference, row.bytes, from, to),
        );
      }
    });
  });
});
