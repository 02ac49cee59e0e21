/** A seeded generator (xorshift32): a failing row fails the same way on every run. */
export function seededRandom(seed: number) {
  let state = seed >>> 0 || 1;
  const int = (n: number) => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % n;
  };
  const pick = <T>(items: readonly T[]) => items[int(items.length)] as T;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { int, pick, bytes };
}

export type SeededRandom = ReturnType<typeof seededRandom>;
