/**
 * Masks the matched value inside a fragment ("deviceId=⟦865432101234564⟧" →
 * "deviceId=⟦86…564⟧") so console output and messages can be pasted without the identifier.
 *
 * @example
 *   maskFragment('deviceId=⟦865432101234564⟧') // → 'deviceId=⟦86…564⟧'
 */
export function maskFragment(fragment: string, reveal = false): string {
  if (reveal) return fragment;
  return (
    fragment
      .replace(/⟦([^⟧]*)⟧/g, (_match, value: string) => `⟦${maskValue(value)}⟧`)
      // Other identifiers in the context (an IMEI beside the matched number) are masked too:
      // long digit runs, hex runs and e-mail addresses.
      .replace(/(?:\+|%2B)?\d{6,}|[0-9a-f]{16,}|[\w.+-]+@[\w-]+(?:\.[\w-]+)+/gi, (value) =>
        maskValue(value),
      )
  );
}

/** The first two and last three characters of a value; "…" alone for a short one. */
export function maskValue(value: string): string {
  if (value.length <= 6) return '…';
  return `${value.slice(0, 2)}…${value.slice(-3)}`;
}
