/** A seeded generator (xorshift32): the benchmark's capture is the same on every run. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  bytes(n: number): Buffer;
}

export function random(seed: number): Random {
  let state = seed >>> 0 || 1;
  const step = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  const generator: Random = {
    next: () => step() / 4294967296,
    int: (n) => Math.floor(generator.next() * n),
    pick: (items) => items[generator.int(items.length)] as (typeof items)[number],
    bytes: (n) => {
      const out = Buffer.allocUnsafe(n);
      for (let i = 0; i + 4 <= n; i += 4) out.writeUInt32LE(step(), i);
      for (let i = n - (n % 4); i < n; i++) out[i] = step() & 0xff;
      return out;
    },
  };
  return generator;
}
