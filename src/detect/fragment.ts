/** How many characters of context a fragment shows on each side of the match. */
export const FRAGMENT_CONTEXT = 40;

/**
 * A short printable excerpt around a match, the match between ⟦ and ⟧. Bytes are read as
 * latin1 so binary stays one character a byte; control bytes become "·" so a fragment is one line.
 *
 * @example
 *   fragmentOf(Buffer.from('deviceId=356938035643809; lang=en'), 9, 24)
 *   // → 'deviceId=⟦356938035643809⟧; lang=en'
 */
export function fragmentOf(bytes: Uint8Array, start: number, end: number): string {
  const from = Math.max(0, start - FRAGMENT_CONTEXT);
  const to = Math.min(bytes.length, end + FRAGMENT_CONTEXT);
  // A long match (a whole base64 blob) is shortened in the middle: the fragment stays readable.
  const match =
    end - start > 2 * FRAGMENT_CONTEXT
      ? `${printable(bytes, start, start + FRAGMENT_CONTEXT)}…${printable(bytes, end - FRAGMENT_CONTEXT, end)}`
      : printable(bytes, start, end);
  return `${from > 0 ? '…' : ''}${printable(bytes, from, start)}⟦${match}⟧${printable(bytes, end, to)}${to < bytes.length ? '…' : ''}`;
}

function printable(bytes: Uint8Array, from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) {
    const byte = bytes[i] as number;
    text +=
      byte < 0x20 || byte === 0x7f || (byte >= 0x80 && byte < 0xa0)
        ? '·'
        : String.fromCharCode(byte);
  }
  return text;
}
