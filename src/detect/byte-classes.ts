/** Lowercases ASCII letters: the automaton's view of a byte. */
export function foldByte(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

/** Which class each byte value falls in; class 0 holds every byte that is in no pattern. */
export interface ByteClasses {
  classOf: Uint8Array;
  classCount: number;
}

/**
 * Groups byte values the way both automata see them: bytes that fold to the same byte share a
 * class, and bytes that occur in no pattern share class 0. Transition tables are then rows of
 * `classCount` entries instead of 256, which keeps them small enough for the CPU cache.
 *
 * @example
 *   const { classOf, classCount } = byteClasses([Buffer.from('ab')]);
 *   // classCount → 3; classOf[0x61] === classOf[0x41] → 1; classOf[0x7a] → 0
 */
export function byteClasses(patterns: readonly Uint8Array[]): ByteClasses {
  const classOf = new Uint8Array(256);
  let classCount = 1;
  const classByFolded = new Int16Array(256).fill(-1);
  for (const pattern of patterns) {
    for (const byte of pattern) {
      const folded = foldByte(byte);
      if (classByFolded[folded] === -1) classByFolded[folded] = classCount++;
    }
  }
  for (let byte = 0; byte < 256; byte++) {
    const cls = classByFolded[foldByte(byte)] as number;
    classOf[byte] = cls === -1 ? 0 : cls;
  }
  return { classOf, classCount };
}
