/**
 * The contract both automaton engines keep (automaton.ts builds the one to use): the JS DFA and
 * the WebAssembly gram filter.
 */

/** `wasm`: the sampled gram filter in WebAssembly; `js`: the reference DFA. */
export type AutomatonEngine = 'wasm' | 'js';

export interface Automaton {
  /** Which engine scans: the benchmark reports it. */
  readonly engine: AutomatonEngine;
  /** Number of patterns, repeats included. */
  readonly patternCount: number;
  readonly stateCount: number;
  /**
   * Calls `onMatch(pattern, end)` for every occurrence, `end` exclusive, in no particular order
   * (the DFA runs two lanes at once; the wasm engine reports a chunk at a time).
   * `from`/`to` bound the scan within `bytes`: only occurrences wholly inside count.
   * `onMatch` must not scan with the same automaton (the wasm engine throws if it does).
   */
  scan(
    bytes: Uint8Array,
    onMatch: (pattern: number, end: number) => void,
    from?: number,
    to?: number,
  ): void;
}
