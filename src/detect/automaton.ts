/**
 * A multi-pattern byte automaton: finds every occurrence of every pattern in one pass over the
 * bytes, ASCII letters in any case.
 *
 * Two engines keep the same contract:
 * - `wasm` (wasm-automaton.ts, the default): a sampled gram filter and a trie, compiled at run
 *   time to WebAssembly; it probes one position in `stride` and walks the trie only where a
 *   pattern may start, which measured 1.9–2.9× faster than the DFA on the benchmark's traffic
 *   (docs/detection.md, "Speed").
 * - `js` (below, the reference and the fallback where WebAssembly is missing): Aho-Corasick
 *   compiled to a dense DFA. The npm Aho-Corasick packages measure 10–18 MB/s here, a RegExp
 *   alternation ~28 MB/s; this DFA, one typed-array lookup per byte, runs at hundreds of MB/s.
 *
 * Two choices keep the DFA's table small enough to stay in cache:
 * - bytes map to classes first (byte-classes.ts): every byte that occurs in no pattern shares one
 *   class, and ASCII letters fold to lower case (callers verify case afterwards where it matters);
 * - the table stores premultiplied row offsets, and accepting states are numbered last, so the
 *   hot loop is one load and one comparison per byte.
 */
import { PhonehomeError } from '../errors.ts';
import type { Automaton, AutomatonEngine } from './automaton-contract.ts';
import { byteClasses } from './byte-classes.ts';
import { buildWasmAutomaton, wasmApi } from './wasm-automaton.ts';

export { foldByte } from './byte-classes.ts';

export type { Automaton, AutomatonEngine } from './automaton-contract.ts';

export interface AutomatonOptions {
  /** Default: `wasm` where WebAssembly is available, else `js`. */
  engine?: AutomatonEngine;
}

/**
 * Compiles patterns (case-folded or not: letters match in any case) into an automaton.
 *
 * @example
 *   const automaton = buildAutomaton([Buffer.from('imei'), Buffer.from('mei=')]);
 *   automaton.scan(Buffer.from('IMEI=1'), (p, end) => console.log(p, end)); // → 0 4, then 1 5
 *   buildAutomaton(patterns, { engine: 'js' }).engine // → 'js'
 */
export function buildAutomaton(
  patterns: readonly Uint8Array[],
  options: AutomatonOptions = {},
): Automaton {
  const wasm = wasmApi();
  // An empty pattern would match everywhere: only the DFA's contract covers it (it never fires).
  const wasmFits = patterns.length > 0 && patterns.every((pattern) => pattern.length > 0);
  const engine = options.engine ?? (wasm && wasmFits ? 'wasm' : 'js');
  if (engine === 'js') return buildDfaAutomaton(patterns);
  if (!wasm || !wasmFits) {
    throw new PhonehomeError(
      'AUTOMATON_ENGINE',
      wasm
        ? 'the wasm automaton needs at least one pattern and no empty one; use the js engine'
        : 'this runtime has no WebAssembly (node --jitless?); use the js engine',
    );
  }
  return buildWasmAutomaton(patterns, wasm);
}

/**
 * The reference engine: Aho-Corasick as a dense DFA over byte classes.
 *
 * @example
 *   buildDfaAutomaton([Buffer.from('ab')]).scan(Buffer.from('xab'), (p, end) => …) // → 0 3
 */
export function buildDfaAutomaton(patterns: readonly Uint8Array[]): Automaton {
  const { classOf, classCount } = byteClasses(patterns);

  // The trie, as growable arrays: goto[state * classCount + class] = next state or -1.
  let goto = new Int32Array(1024 * classCount).fill(-1);
  let capacity = 1024;
  const outputs: number[][] = [[]];
  let states = 1;
  patterns.forEach((pattern, index) => {
    let state = 0;
    for (const byte of pattern) {
      const cls = classOf[byte] as number;
      const slot = state * classCount + cls;
      let next = goto[slot] as number;
      if (next === -1) {
        if (states === capacity) {
          const bigger = new Int32Array(capacity * 2 * classCount).fill(-1);
          bigger.set(goto);
          goto = bigger;
          capacity *= 2;
        }
        next = states++;
        goto[slot] = next;
        outputs.push([]);
      }
      state = next;
    }
    (outputs[state] as number[]).push(index);
  });

  // Breadth-first: failure links, dictionary outputs merged, and the dense transition table.
  const fail = new Int32Array(states);
  const order: number[] = [0];
  for (let cls = 0; cls < classCount; cls++) {
    const next = goto[cls] as number;
    if (next === -1) goto[cls] = 0;
    else {
      fail[next] = 0;
      order.push(next);
    }
  }
  for (let head = 1; head < order.length; head++) {
    const state = order[head] as number;
    const failState = fail[state] as number;
    const failOutputs = outputs[failState] as number[];
    if (failOutputs.length > 0) outputs[state] = [...(outputs[state] as number[]), ...failOutputs];
    for (let cls = 0; cls < classCount; cls++) {
      const slot = state * classCount + cls;
      const next = goto[slot] as number;
      if (next === -1) goto[slot] = goto[failState * classCount + cls] as number;
      else {
        fail[next] = goto[failState * classCount + cls] as number;
        order.push(next);
      }
    }
  }

  // Renumber: non-accepting states first, so "accepting" is one comparison in the hot loop.
  const newId = new Int32Array(states);
  let nextId = 0;
  for (let state = 0; state < states; state++)
    if ((outputs[state] as number[]).length === 0) newId[state] = nextId++;
  const firstAccepting = nextId;
  for (let state = 0; state < states; state++)
    if ((outputs[state] as number[]).length > 0) newId[state] = nextId++;
  // Root must stay 0: it has no outputs (no empty pattern), so it was numbered first.

  const table = new Int32Array(states * classCount);
  for (let state = 0; state < states; state++) {
    const row = (newId[state] as number) * classCount;
    for (let cls = 0; cls < classCount; cls++) {
      table[row + cls] = (newId[goto[state * classCount + cls] as number] as number) * classCount;
    }
  }
  // Outputs of accepting state k (numbered from firstAccepting) are outputList[outputStart[k] ..
  // outputStart[k + 1]).
  const accepting: number[][] = [];
  for (let state = 0; state < states; state++) {
    const list = outputs[state] as number[];
    if (list.length > 0) accepting[(newId[state] as number) - firstAccepting] = list;
  }
  const outputStart = new Int32Array(accepting.length + 1);
  const outputList: number[] = [];
  accepting.forEach((list, k) => {
    outputStart[k] = outputList.length;
    outputList.push(...list);
  });
  outputStart[accepting.length] = outputList.length;
  const outputOf = Int32Array.from(outputList);
  const acceptingRow = firstAccepting * classCount;
  const overlap = Math.max(0, ...patterns.map((pattern) => pattern.length)) - 1;

  const emit = (row: number, end: number, onMatch: (pattern: number, end: number) => void) => {
    const k = (row - acceptingRow) / classCount;
    const stop = outputStart[k + 1] as number;
    for (let o = outputStart[k] as number; o < stop; o++) onMatch(outputOf[o] as number, end);
  };

  /**
   * Two lanes walk the two halves of the range at once. One lane is bound by the latency of its
   * table load (each state depends on the last); two independent chains let the CPU overlap
   * them, which measured 1.5–2× faster here. The second lane starts `overlap` bytes early so a
   * match straddling the middle is found, and reports only matches ending past the middle.
   */
  const scan = (
    bytes: Uint8Array,
    onMatch: (pattern: number, end: number) => void,
    from = 0,
    to = bytes.length,
  ) => {
    let a = 0;
    let b = 0;
    const length = to - from;
    if (length < 4096 || length < overlap * 8) {
      for (let i = from; i < to; i++) {
        a = table[a + (classOf[bytes[i] as number] as number)] as number;
        if (a >= acceptingRow) emit(a, i + 1, onMatch);
      }
      return;
    }
    const middle = from + (length >> 1);
    let i = from;
    let j = middle - overlap;
    // Lane b runs `overlap` more steps than lane a: first alone, then both together.
    for (; j < middle; j++) {
      b = table[b + (classOf[bytes[j] as number] as number)] as number;
    }
    for (; i < middle; i++, j++) {
      a = table[a + (classOf[bytes[i] as number] as number)] as number;
      b = table[b + (classOf[bytes[j] as number] as number)] as number;
      if (a >= acceptingRow) emit(a, i + 1, onMatch);
      if (b >= acceptingRow) emit(b, j + 1, onMatch);
    }
    for (; j < to; j++) {
      b = table[b + (classOf[bytes[j] as number] as number)] as number;
      if (b >= acceptingRow) emit(b, j + 1, onMatch);
    }
  };

  return {
    engine: 'js',
    patternCount: patterns.length,
    stateCount: states,
    scan,
  };
}
