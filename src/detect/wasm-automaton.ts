/**
 * The fast scan: a sampled gram filter and a trie, compiled at run time to WebAssembly.
 *
 * Why not the DFA of automaton.ts in wasm: a DFA takes one dependent table load per byte, and
 * even with four interleaved lanes it measured ~1.6× the JS loop here. Most bytes of real traffic
 * are nowhere near an identifier, so this engine looks at only a sample of positions:
 *
 * - Every pattern is at least `m` bytes long. Starts are taken in windows of `stride` consecutive
 *   positions, and only one B-byte gram (B = min(4, m)) per window is probed: the one at the
 *   window's last position. An occurrence starting anywhere in the window covers that gram (at
 *   its offset 0 … stride - 1, which all lie within its first m bytes), so the filter holds the
 *   grams at those offsets of every pattern, folded and hashed into a bitset small enough for L1.
 *   With m = 5 that is one probe every 2 bytes; with 16-byte patterns one every 13.
 * - A probe that hits (≈ 1% of windows on the benchmark's traffic) walks the patterns' trie from
 *   each start of the window; the walk stops at the first byte no pattern continues with.
 *
 * Each start is walked at most once, so every (pattern, end) is reported exactly once, as the
 * DFA reports it. Bytes go to the module's memory in chunks (whose data overlaps by the longest
 * pattern, while their starts do not), so memory stays small whatever the size of a part.
 */
import { PhonehomeError } from '../errors.ts';
import type { Automaton } from './automaton-contract.ts';
import { byteClasses } from './byte-classes.ts';
import { control, i32, moduleBytes, type Code } from './wasm-encoder.ts';

/** The part of the WebAssembly API this file uses: lib "ES2023" has no types for it. */
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** Starts scanned per copy into the module's memory: the chunk stays in the CPU's L2 cache. */
export const SCAN_CHUNK = 1 << 18;
/** Windows probed per loop turn: independent probes overlap in the CPU (up to ~15% faster). */
const UNROLL = 4;
/** A hit walks `stride` starts: bounding it keeps a hit cheap when patterns are very long. */
const MAX_STRIDE = 32;
/** Fibonacci hashing: 2^32 / golden ratio spreads grams over the bitset's high bits. */
const HASH = 0x9e3779b1 | 0;
/** ASCII letters fold to lower case by setting 0x20; other bytes may collide, never miss. */
const FOLD = 0x20202020;

/** Addresses in the module's memory. */
const RESUME = 0;
const CLASSES = 64;

/** The WebAssembly API when this runtime has it (not under `node --jitless`). */
export function wasmApi(): WasmApi | undefined {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
}

/**
 * Builds the WebAssembly engine for non-empty patterns; same contract as the DFA in automaton.ts.
 *
 * @example
 *   const automaton = buildWasmAutomaton([Buffer.from('imei'), Buffer.from('mei=')], wasmApi()!);
 *   automaton.scan(Buffer.from('IMEI=1'), (p, end) => console.log(p, end)); // → 0 4, then 1 5
 */
export function buildWasmAutomaton(patterns: readonly Uint8Array[], wasm: WasmApi): Automaton {
  const { classOf, classCount } = byteClasses(patterns);
  const rowBytes = classCount * 4;
  const trie = buildTrie(patterns, classOf, classCount);
  const lengths = patterns.map((pattern) => pattern.length);
  const minLength = Math.min(...lengths);
  const maxLength = Math.max(...lengths);
  const gram = Math.min(4, minLength);
  const stride = Math.min(minLength - gram + 1, MAX_STRIDE);
  const filter = gramFilter(patterns, gram, stride);

  // One loop turn may emit UNROLL windows × stride starts × one entry per pattern length.
  const burst = UNROLL * stride * new Set(lengths).size;
  const outEntries = 4096 + burst;
  const filterAt = CLASSES + 256 * 4;
  const trieAt = align(filterAt + filter.bits.length);
  const outAt = align(trieAt + trie.table.length * 4);
  const inputAt = align(outAt + outEntries * 8);
  // A gram load may read 3 bytes past the data; the chunk carries maxLength - 1 bytes of overlap.
  const memoryBytes = inputAt + SCAN_CHUNK + maxLength + 8;
  const memory = new wasm.Memory({ initial: Math.ceil(memoryBytes / 65536) });
  const bytesView = new Uint8Array(memory.buffer);
  const words = new Int32Array(memory.buffer);
  words.set(
    Array.from(classOf, (cls) => cls * 4),
    CLASSES / 4,
  );
  bytesView.set(filter.bits, filterAt);
  words.set(trie.table, trieAt / 4);

  const code = scanFunction({
    gram,
    stride,
    hashShift: 32 - filter.log2Bits,
    filterAt,
    trieAt,
    ownRow: trie.ownRow,
    outAt,
    outLimit: outAt + (outEntries - burst) * 8,
  });
  const instance = new wasm.Instance(new wasm.Module(code), { env: { memory } });
  const run = instance.exports.scan as (
    j: number,
    lastJ: number,
    startLimit: number,
    dataEnd: number,
  ) => number;

  let scanning = false;
  const scan = (
    bytes: Uint8Array,
    onMatch: (pattern: number, end: number) => void,
    from = 0,
    to = bytes.length,
  ) => {
    // The chunk and the matches live in the module's one memory: a nested scan would overwrite them.
    if (scanning) {
      throw new PhonehomeError(
        'AUTOMATON_REENTERED',
        'the wasm automaton cannot scan from inside its own onMatch; collect the matches first',
      );
    }
    scanning = true;
    try {
      scanChunks(bytes, onMatch, from, to);
    } finally {
      scanning = false;
    }
  };
  const scanChunks = (
    bytes: Uint8Array,
    onMatch: (pattern: number, end: number) => void,
    from: number,
    to: number,
  ) => {
    for (let chunk = from; chunk < to; chunk += SCAN_CHUNK) {
      const startsEnd = Math.min(chunk + SCAN_CHUNK, to);
      const dataEnd = Math.min(startsEnd + maxLength - 1, to);
      if (dataEnd - chunk < minLength) return;
      bytesView.set(bytes.subarray(chunk, dataEnd), inputAt);
      const startLimit = inputAt + (startsEnd - chunk);
      const limit = inputAt + (dataEnd - chunk);
      // The last window: it starts before startLimit, and its gram lies within the data.
      const lastJ = Math.min(startLimit + stride - 2, limit - gram);
      // The wasm loop returns when its output buffer is nearly full: drain it and go on.
      let j = inputAt + stride - 1;
      while (j <= lastJ) {
        const outEnd = run(j, lastJ, startLimit, limit);
        for (let entry = outAt / 4; entry < outEnd / 4; entry += 2) {
          const end = (words[entry] as number) - inputAt + chunk;
          const own = trie.own[((words[entry + 1] as number) - trie.ownRow) / rowBytes] as number[];
          for (const pattern of own) onMatch(pattern, end);
        }
        j = words[RESUME / 4] as number;
      }
    }
  };

  return { engine: 'wasm', patternCount: patterns.length, stateCount: trie.states, scan };
}

function align(address: number): number {
  return (address + 63) & ~63;
}

interface Trie {
  /** Dense rows of `classCount` entries: the byte offset of the next state's row, 0 for none. */
  table: Int32Array;
  states: number;
  /** States that end a pattern are numbered last: a walk emits when its row is at least this. */
  ownRow: number;
  /** The patterns each such state ends (several when patterns repeat). */
  own: number[][];
}

/** A plain trie (no failure links: each start is walked on its own). The root is row 0. */
function buildTrie(patterns: readonly Uint8Array[], classOf: Uint8Array, classCount: number): Trie {
  let next = new Int32Array(256 * classCount);
  const ends: number[][] = [[]];
  patterns.forEach((pattern, index) => {
    let state = 0;
    for (const byte of pattern) {
      const slot = state * classCount + (classOf[byte] as number);
      let child = next[slot] as number;
      if (child === 0) {
        child = ends.length;
        ends.push([]);
        if (ends.length * classCount > next.length) {
          const bigger = new Int32Array(next.length * 2);
          bigger.set(next);
          next = bigger;
        }
        next[slot] = child;
      }
      state = child;
    }
    (ends[state] as number[]).push(index);
  });
  const states = ends.length;
  // Renumber: states that end no pattern first (the root stays 0), then those that do.
  const id = new Int32Array(states);
  let count = 0;
  for (let state = 0; state < states; state++) if (ends[state]?.length === 0) id[state] = count++;
  const firstOwn = count;
  const own: number[][] = [];
  for (let state = 0; state < states; state++) {
    if (ends[state]?.length === 0) continue;
    id[state] = count++;
    own.push(ends[state] as number[]);
  }
  const table = new Int32Array(states * classCount);
  for (let state = 0; state < states; state++) {
    for (let cls = 0; cls < classCount; cls++) {
      const child = next[state * classCount + cls] as number;
      if (child !== 0)
        table[(id[state] as number) * classCount + cls] = (id[child] as number) * classCount * 4;
    }
  }
  return { table, states, ownRow: firstOwn * classCount * 4, own };
}

/**
 * The bitset of hashed grams, about 1 bit in 128 set: a probe that misses every pattern still
 * passes ~1% of the time here (hash collisions), and each pass costs a mispredicted branch and a
 * few trie walks. 1 in 32 measured 20% slower overall; the 32 KB cap keeps it in L1.
 */
function gramFilter(
  patterns: readonly Uint8Array[],
  gram: number,
  stride: number,
): { bits: Uint8Array; log2Bits: number } {
  const mask = gramMask(gram);
  const grams = new Set<number>();
  for (const pattern of patterns) {
    for (let offset = 0; offset < stride; offset++) {
      let value = 0;
      for (let k = 0; k < gram; k++) value |= (pattern[offset + k] as number) << (8 * k);
      grams.add((value | FOLD) & mask);
    }
  }
  const log2Bits = Math.min(18, Math.max(10, Math.ceil(Math.log2(grams.size * 128))));
  const bits = new Uint8Array((1 << log2Bits) / 8);
  for (const value of grams) {
    const hash = Math.imul(value, HASH) >>> (32 - log2Bits);
    bits[hash >>> 3] = (bits[hash >>> 3] as number) | (1 << (hash & 7));
  }
  return { bits, log2Bits };
}

/** Keeps the low `gram` bytes of a little-endian 4-byte load. */
function gramMask(gram: number): number {
  return gram === 4 ? -1 : (1 << (8 * gram)) - 1;
}

interface ScanLayout {
  gram: number;
  stride: number;
  hashShift: number;
  filterAt: number;
  trieAt: number;
  ownRow: number;
  outAt: number;
  outLimit: number;
}

/**
 * `scan(j, lastJ, startLimit, dataEnd) → outEnd`: probes the windows ending at j, j + stride, …
 * up to lastJ; walks start before `startLimit` and read before `dataEnd`; writes (end, state)
 * pairs from `outAt`; stores the next j at RESUME and returns the end of what it wrote.
 */
function scanFunction(layout: ScanLayout): Uint8Array {
  const { gram, stride, hashShift, filterAt, trieAt, ownRow, outAt, outLimit } = layout;
  // Parameters, then locals.
  const [j, lastJ, startLimit, dataEnd, out, state, k, hash, start, lastStart] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
  ];
  const { get, set, tee, load, load8, store, add, sub, mul, and, or, shl, shrU } = i32;
  const { block, loop, when, br, brIf } = control;
  const constant = i32.const;
  const mask = gramMask(gram);

  /** The folded gram at j + offset. */
  const gramAt = (offset: number) => {
    const folded = or(load(get(j), offset), constant(FOLD));
    return mask === -1 ? folded : and(folded, constant(mask));
  };

  /** 1 when the gram at j + offset is in the filter (or collides with one that is). */
  const probe = (offset: number) => {
    const hashed = tee(hash, shrU(mul(gramAt(offset), constant(HASH)), constant(hashShift)));
    const byte = load8(shrU(hashed, constant(3)), filterAt);
    return and(shrU(byte, and(get(hash), constant(7))), constant(1));
  };

  /** Walks the trie from one start; emits (end, state) at each state that ends a pattern. */
  const walk = block(
    loop(
      brIf(1, i32.geU(get(k), get(dataEnd))),
      // state = trie[state + class(byte at k)]; 0 when no pattern goes on with this byte.
      brIf(
        1,
        i32.eqz(
          tee(state, load(add(get(state), load(shl(load8(get(k)), constant(2)), CLASSES)), trieAt)),
        ),
      ),
      set(k, add(get(k), constant(1))),
      when(
        i32.geU(get(state), constant(ownRow)),
        store(get(out), get(k)),
        store(get(out), get(state), 4),
        set(out, add(get(out), constant(8))),
      ),
      br(0),
    ),
  );

  /** After a hit on the window ending at j + offset: walks from each of its starts. */
  const window = (offset: number) =>
    when(
      probe(offset),
      set(start, add(get(j), constant(offset - stride + 1))),
      // The next chunk owns the starts from startLimit on.
      set(lastStart, i32.minU(add(get(j), constant(offset)), sub(get(startLimit), constant(1)))),
      block(
        loop(
          brIf(1, i32.gtU(get(start), get(lastStart))),
          set(state, constant(0)),
          set(k, get(start)),
          walk,
          set(start, add(get(start), constant(1))),
          br(0),
        ),
      ),
    );

  const unrolled: Code[] = [];
  for (let u = 0; u < UNROLL; u++) unrolled.push(window(u * stride));
  const outFull = i32.geU(get(out), constant(outLimit));
  const body = [
    ...set(out, constant(outAt)),
    ...block(
      // UNROLL windows a turn while they all fit, then one at a time.
      block(
        loop(
          brIf(2, outFull),
          brIf(1, i32.gtS(add(get(j), constant((UNROLL - 1) * stride)), get(lastJ))),
          ...unrolled,
          set(j, add(get(j), constant(UNROLL * stride))),
          br(0),
        ),
      ),
      loop(
        brIf(1, outFull),
        brIf(1, i32.gtS(get(j), get(lastJ))),
        window(0),
        set(j, add(get(j), constant(stride))),
        br(0),
      ),
    ),
    ...store(constant(RESUME), get(j)),
    ...get(out),
  ];
  return moduleBytes({ name: 'scan', params: 4, locals: 6, body });
}
