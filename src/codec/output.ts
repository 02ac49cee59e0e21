/** What decoding came to: the bytes, or why there are none. */
export type Decoded = { bytes: Uint8Array } | { overBudget: true } | { invalid: true };

/**
 * The decoded bytes so far, in a buffer that grows by doubling up to the budget: what a frame
 * declares is the sender's claim, so memory follows what was actually decoded.
 *
 * @example
 *   const out = new Output(1024, 10);
 *   if (out.reserve(3)) { out.buffer.set([1, 2, 3], out.size); out.size += 3; }
 *   out.result() // → <01 02 03>
 */
export class Output {
  buffer: Buffer;
  size = 0;
  constructor(
    readonly limit: number,
    inputLength: number,
  ) {
    this.buffer = Buffer.allocUnsafe(Math.min(limit, Math.max(64 * 1024, inputLength * 4)));
  }

  /** Room for `more` bytes; false when they would pass the budget. */
  reserve(more: number): boolean {
    const needed = this.size + more;
    if (needed <= this.buffer.length) return true;
    if (needed > this.limit) return false;
    const grown = Buffer.allocUnsafe(
      Math.min(this.limit, Math.max(needed, this.buffer.length * 2)),
    );
    grown.set(this.buffer.subarray(0, this.size));
    this.buffer = grown;
    return true;
  }

  /** The bytes decoded; copied out when most of the buffer would sit unused behind them. */
  result(): Buffer {
    const bytes = this.buffer.subarray(0, this.size);
    return this.buffer.length - this.size > 1024 * 1024 ? Buffer.from(bytes) : bytes;
  }
}
