/**
 * Finds where runs of base64-alphabet bytes long enough to be a blob start: the question
 * `findBlobs` asks of every text part, most of which (JSON, HTML) is short words and numbers.
 *
 * Why not a loop over a lookup table: runs of 2–12 alphabet bytes between punctuation make every
 * branch of such a loop unpredictable, and it ran ~600 MB/s, a quarter of the detector's time.
 * The WebAssembly here classifies 16 bytes at once with SIMD (two nibble lookups) and finds a
 * run of 16 in the resulting bit masks with four shifts and ANDs: 3+ GB/s here, branch-free but
 * for one test per 32 bytes.
 */
import { PhonehomeError } from '../../errors.ts';
import { wasmApi } from '../wasm-automaton.ts';
import { i32, moduleBytes, uleb, type Code } from '../wasm-encoder.ts';

/** A run must be this long to be reported: the shortest blob `findBlobs` decodes. */
export const RUN = 16;

/** 1 for bytes of either base64 alphabet (padding excluded). */
export const BASE64_BYTE = new Uint8Array(256);
for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_') {
  BASE64_BYTE[char.charCodeAt(0)] = 1;
}

/**
 * For one buffer: the first position at or after `from` where RUN alphabet bytes start (the
 * whole run lies in the buffer), or -1.
 */
export type RunFinder = (from: number) => number;

export interface RunFinderOptions {
  /** 'wasm' when the runtime has WebAssembly with SIMD (the default), else the JS loop. */
  engine?: 'wasm' | 'js';
  /** Bytes copied into the module's memory at a time; tests make it small to cross edges. */
  chunkBytes?: number;
}

/**
 * Bytes copied at a time: 16 KB does not push the scan's tables out of the CPU caches, and keeps
 * the module's memory at one page.
 */
const CHUNK = 1 << 14;
/** Below this a part is searched in JS: copying it and calling into wasm would cost more. */
const SMALL = 256;

/**
 * A finder of blob-length alphabet runs over `bytes`.
 *
 * @example
 *   const next = runFinder(Buffer.from('{"a":"aGVsbG8gd29ybGQgaGVsbG8h"}'));
 *   next(0) // → 6; next(23) // → -1
 */
export function runFinder(bytes: Uint8Array, options: RunFinderOptions = {}): RunFinder {
  const engine = options.engine ?? (bytes.length < SMALL ? 'js' : 'wasm');
  const wasm = engine === 'wasm' ? wasmFinder() : undefined;
  if (!wasm) return (from) => nextRunJs(bytes, from);
  return wasm(bytes, options.chunkBytes ?? CHUNK);
}

/**
 * The JS loop, used for small parts and where WebAssembly is missing. It tests the last byte of
 * the window first and jumps past the first non-alphabet byte it meets going back, so a byte is
 * looked at about once however the runs fall.
 */
function nextRunJs(bytes: Uint8Array, from: number): number {
  const length = bytes.length;
  let start = from;
  // Bytes before `known` back to the window's start are already known to be in the alphabet.
  let known = start;
  while (start + RUN <= length) {
    let at = start + RUN - 1;
    while (at >= known && BASE64_BYTE[bytes[at] as number] === 1) at--;
    if (at < known) return start;
    known = start + RUN;
    start = at + 1;
  }
  return -1;
}

/** The nibble tables: a byte is in the alphabet when LOW[byte & 15] & HIGH[byte >> 4] ≠ 0. */
const HIGH = new Uint8Array(16);
const LOW = new Uint8Array(16);
// One bit per group of the alphabet that shares a high nibble and a range of low nibbles.
const GROUPS: [highs: number[], lows: (low: number) => boolean][] = [
  [[0x2], (low) => low === 0xb || low === 0xd || low === 0xf], // + - /
  [[0x3], (low) => low <= 9], // 0-9
  [[0x4, 0x6], (low) => low >= 1], // A-O a-o
  [[0x5, 0x7], (low) => low <= 0xa], // P-Z p-z
  [[0x5], (low) => low === 0xf], // _
];
GROUPS.forEach(([highs, lows], bit) => {
  for (const high of highs) HIGH[high] = (HIGH[high] as number) | (1 << bit);
  for (let low = 0; low < 16; low++) if (lows(low)) LOW[low] = (LOW[low] as number) | (1 << bit);
});
for (let byte = 0; byte < 256; byte++) {
  const inTables = ((LOW[byte & 15] as number) & (HIGH[byte >> 4] as number)) !== 0;
  // A check at load time: an edit that breaks the tables must fail loudly, not miss blobs.
  if (inTables !== (BASE64_BYTE[byte] === 1))
    throw new PhonehomeError(
      'INTERNAL',
      `base64-runs.ts: the nibble tables disagree with the alphabet at byte ${byte}; fix GROUPS`,
    );
}

/** SIMD opcodes (prefix 0xfd) of the WebAssembly SIMD proposal, merged into the core spec 2.0. */
const simd = {
  load: (address: Code, offset: number): Code => [...address, 0xfd, 0x00, 0, ...uleb(offset)],
  zero: (): Code => [0xfd, 0x0c, ...new Uint8Array(16)],
  swizzle: (table: Code, index: Code): Code => [...table, ...index, 0xfd, 0x0e],
  eq: (a: Code, b: Code): Code => [...a, ...b, 0xfd, 0x23],
  and: (a: Code, b: Code): Code => [...a, ...b, 0xfd, 0x4e],
  bitmask: (vector: Code): Code => [...vector, 0xfd, 0x64],
  shrU16: (vector: Code, count: Code): Code => [...vector, ...count, 0xfd, 0x8d, 0x01],
};
const I32_CTZ = 0x68;
const I32_XOR = 0x73;
const RETURN = 0x0f;

/**
 * Memory layout: the nibble tables and a mask first (a load of a constant from memory is one
 * instruction, a v128.const in the loop measured several), the data from DATA on.
 */
const TABLES = Uint8Array.from([...HIGH, ...LOW, ...new Uint8Array(16).fill(0x0f)]);
const DATA = 64;
/** Zeros after the data: the loop reads two blocks of 16 past a position before the end. */
const TAIL = 32;

/**
 * `(from, end) → start`: the first start ≥ from of RUN alphabet bytes in data[from, end), or -1
 * (positions relative to DATA). The data must be followed by TAIL zero bytes.
 */
function findRunCode(): Code {
  const [from, end, at, previous, mask0, mask1, runs] = [0, 1, 2, 3, 4, 5, 6];
  const get = i32.get;
  const table = (offset: number) => simd.load(i32.const(0), offset);
  // One bit per byte of the 16 at `at + offset`: 1 when the byte is in the alphabet.
  const classify = (offset: number): Code => {
    const vector = () => simd.load(get(at), DATA + offset);
    // High nibbles by a 16-bit shift and a mask: wasm's 8-bit shift has no x64 instruction.
    const high = simd.and(simd.shrU16(vector(), i32.const(4)), table(32));
    const low = simd.and(vector(), table(32));
    const groups = simd.and(simd.swizzle(table(0), high), simd.swizzle(table(16), low));
    return [...simd.bitmask(simd.eq(groups, simd.zero())), ...i32.const(0xffff), I32_XOR];
  };
  // runs: bit k set when bits k … k+15 of (mask << 16 | before) are all set, i.e. a run of 16
  // starts k bytes before the block. Runs are found in the order of their ends, so the lowest
  // bit of the first non-zero `runs` is the first start.
  const runsOf = (mask: number, before: number): Code => [
    ...i32.set(runs, i32.or(i32.shl(get(mask), i32.const(16)), get(before))),
    ...[1, 2, 4, 8].flatMap((shift) =>
      i32.set(runs, i32.and(get(runs), i32.shrU(get(runs), i32.const(shift)))),
    ),
  ];
  const returnIfRuns = (blockStart: Code): Code => [
    ...get(runs),
    ...[0x04, 0x40], // if runs ≠ 0
    ...i32.add(i32.sub(blockStart, i32.const(16)), [...get(runs), I32_CTZ]),
    RETURN,
    0x0b, // end if
  ];
  // Two blocks a turn: the loop's own work is shared, and the blocks' work overlaps in the CPU.
  return [
    ...i32.set(at, get(from)),
    ...i32.set(previous, i32.const(0)),
    ...[0x02, 0x40], // block
    ...[0x03, 0x40], // loop
    ...i32.geU(get(at), get(end)),
    ...[0x0d, 1], // br_if out of the block
    ...i32.set(mask0, classify(0)),
    ...i32.set(mask1, classify(16)),
    ...runsOf(mask0, previous),
    ...returnIfRuns(get(at)),
    ...runsOf(mask1, mask0),
    ...returnIfRuns(i32.add(get(at), i32.const(16))),
    ...i32.set(previous, get(mask1)),
    ...i32.set(at, i32.add(get(at), i32.const(32))),
    ...[0x0c, 0], // br to the loop's start
    0x0b, // end loop
    0x0b, // end block
    ...i32.const(-1),
  ];
}

type WasmFinder = (bytes: Uint8Array, chunkBytes: number) => RunFinder;
let cached: WasmFinder | null | undefined;

/** The wasm finder, built once per thread; null when the runtime has no WebAssembly SIMD. */
function wasmFinder(): WasmFinder | undefined {
  if (cached === undefined) cached = buildWasmFinder() ?? null;
  return cached ?? undefined;
}

function buildWasmFinder(): WasmFinder | undefined {
  const wasm = wasmApi();
  if (!wasm) return undefined;
  const code = moduleBytes({ name: 'findRun', params: 2, locals: 5, body: findRunCode() });
  let findRun: (from: number, end: number) => number;
  // Memory for the largest chunk and its zero tail; chunks never need more.
  const memory = new wasm.Memory({ initial: Math.ceil((DATA + CHUNK + TAIL) / 65536) });
  try {
    const instance = new wasm.Instance(new wasm.Module(code), { env: { memory } });
    findRun = instance.exports.findRun as typeof findRun;
  } catch {
    // A runtime without SIMD rejects the module: the JS loop gives the same answers.
    return undefined;
  }
  const view = new Uint8Array(memory.buffer);
  view.set(TABLES, 0);
  // The finder whose chunk is in memory: a finder used after another copies its chunk again.
  let owner: object | undefined;
  return (bytes, chunkBytes) => {
    const self = {};
    // A chunk must hold more than one run, or the search could not move on.
    const size = Math.max(2 * RUN, Math.min(chunkBytes, CHUNK));
    // bytes[base, base + loaded) are in memory at DATA while this finder owns it. (No named
    // closure here: under tsx each costs a defineProperty call, and this runs per text part.)
    let base = 0;
    let loaded = 0;
    return (from) => {
      let at = from;
      while (at + RUN <= bytes.length) {
        if (owner !== self || at < base || at + RUN > base + loaded) {
          owner = self;
          base = at;
          loaded = Math.min(size, bytes.length - at);
          view.set(bytes.subarray(at, at + loaded), DATA);
          view.fill(0, DATA + loaded, DATA + loaded + TAIL);
        }
        const found = findRun(at - base, loaded);
        if (found >= 0) return base + found;
        if (base + loaded >= bytes.length) return -1;
        // No run starts before the chunk's last RUN - 1 bytes: go on from there.
        at = base + loaded - RUN + 1;
      }
      return -1;
    };
  };
}
