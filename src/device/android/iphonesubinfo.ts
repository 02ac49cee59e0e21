import type { IdentifierKind } from '../../types.ts';

/** The identifier kinds `service call iphonesubinfo` can read. */
export type SubscriberKind = Extract<IdentifierKind, 'imei' | 'imsi' | 'iccid' | 'msisdn'>;

/** One `service call iphonesubinfo` to try: transaction code and the arguments after it. */
export interface SubInfoCall {
  code: number;
  args: string[];
}

/**
 * The transaction codes of IPhoneSubInfo by API level. A code is the 1-based position of the
 * method in IPhoneSubInfo.aidl of that release (AIDL numbers methods in declaration order), so
 * the codes move whenever Android adds a method before the one read:
 *
 * | API | getDeviceId | getSubscriberId | getIccSerialNumber | getLine1Number | arguments |
 * |---|---|---|---|---|---|
 * | ≤17 (≤4.2) | 1 | 3 | 4 | 5 | none |
 * | 18–20 (4.3–4.4, getGroupIdLevel1 added) | 1 | 3 | 5 | 6 | none |
 * | 21 (5.0, per-subscription variants) | 1 | 5 or 6 | 9 or 10 | 11 or 12 | none |
 * | 22–29 (5.1–10) | 1 | 7 | 11 (10) | 13 (12) | callingPackage from 23 |
 * | 30–34 (11–14, …WithFeature variants) | 1 | 8 | 12 | 15 | callingPackage |
 * | ≥35 (15, getGroupIdLevel2 added) | 1 | 8 | 13 (12) | 16 (15) | callingPackage |
 *
 * Codes in parentheses are tried second: vendors' builds and point releases move methods. A
 * value is accepted only when it has the shape of its kind (`acceptSubscriberValue`), so a
 * wrong guess reads nothing rather than a wrong identifier. From API 23 the methods check the
 * calling package: `com.android.shell`, which holds READ_PRIVILEGED_PHONE_STATE. Trailing
 * arguments left out (callingFeatureId) arrive as null, which the phone accepts.
 *
 * @example
 *   subInfoCalls(34).imsi // → [{ code: 8, args: ['s16', 'com.android.shell'] }]
 */
export function subInfoCalls(api: number): Record<SubscriberKind, SubInfoCall[]> {
  const args = api >= 23 ? ['s16', 'com.android.shell'] : [];
  const calls = (...codes: number[]) => codes.map((code) => ({ code, args }));
  if (api <= 17) return { imei: calls(1), imsi: calls(3), iccid: calls(4), msisdn: calls(5) };
  if (api <= 20) return { imei: calls(1), imsi: calls(3), iccid: calls(5), msisdn: calls(6) };
  if (api === 21) {
    return { imei: calls(1), imsi: calls(5, 6), iccid: calls(9, 10), msisdn: calls(11, 12) };
  }
  if (api <= 29)
    return { imei: calls(1), imsi: calls(7), iccid: calls(11, 10), msisdn: calls(13, 12) };
  if (api <= 34) return { imei: calls(1), imsi: calls(8), iccid: calls(12), msisdn: calls(15) };
  return { imei: calls(1), imsi: calls(8), iccid: calls(13, 12), msisdn: calls(16, 15) };
}

/** What a `service call` returned: a string (null when the phone has none), or an exception. */
export type ParcelString = { ok: true; value: string | null } | { ok: false; reason: string };

const EXCEPTIONS: Record<number, string> = {
  [-1]: 'SecurityException',
  [-2]: 'BadParcelableException',
  [-3]: 'IllegalArgumentException',
  [-4]: 'NullPointerException',
  [-5]: 'IllegalStateException',
  [-6]: 'NetworkOnMainThreadException',
  [-7]: 'UnsupportedOperationException',
  [-8]: 'ServiceSpecificException',
  [-9]: 'ParcelableException',
};

/** Binder reply headers that come before the exception code (Parcel.readExceptionCode). */
const EX_HAS_NOTED_APPOPS_REPLY_HEADER = -127;
const EX_HAS_STRICTMODE_REPLY_HEADER = -128;

/**
 * Reads the String a `service call` printed. The reply is a Parcel dumped as 32-bit words in
 * hex: the exception code (0: none), then the string's length in UTF-16 units (-1: null), then
 * the units two per word, low half first. A non-zero exception code is followed by its message.
 *
 * @example
 *   parseServiceCallString("Result: Parcel(00000000 00000002 00310030   '........0.1.')")
 *   // → { ok: true, value: '01' }
 */
export function parseServiceCallString(output: string): ParcelString {
  if (!/Result: Parcel\(/.test(output)) {
    return { ok: false, reason: output.trim().split('\n')[0] || 'no answer from the service' };
  }
  const error = /Result: Parcel\(Error: ([^)]*)\)/.exec(output);
  if (error) return { ok: false, reason: `binder error ${error[1]!.trim()}` };
  const words = parcelWords(output);
  let at = 0;
  const next = () => (at < words.length ? words[at++]! | 0 : undefined);
  let code = next();
  if (code === EX_HAS_NOTED_APPOPS_REPLY_HEADER) {
    // A count of noted app-ops, each a 64-bit mask, then the real exception code.
    const count = next() ?? 0;
    at += Math.max(0, count) * 2;
    code = next();
  }
  if (code === EX_HAS_STRICTMODE_REPLY_HEADER) {
    // Its size in bytes counts from the size word itself; the call succeeded.
    const start = at;
    const size = next() ?? 4;
    at = start + Math.max(1, Math.ceil(size / 4));
    code = 0;
  }
  if (code === undefined) return { ok: false, reason: 'empty reply' };
  if (code !== 0) {
    const message = readString16(words, at).value;
    const name = EXCEPTIONS[code] ?? `exception ${code}`;
    return { ok: false, reason: message ? `${name}: ${message}` : name };
  }
  return { ok: true, value: readString16(words, at).value };
}

function readString16(words: number[], at: number): { value: string | null } {
  if (at >= words.length) return { value: null };
  const length = words[at]! | 0;
  if (length < 0) return { value: null };
  const units: number[] = [];
  for (let i = at + 1; i < words.length && units.length < length; i += 1) {
    units.push(words[i]! & 0xffff, words[i]! >>> 16);
  }
  return { value: String.fromCharCode(...units.slice(0, length)) };
}

/** The hex words of a Parcel dump, without offsets and the ASCII column. */
function parcelWords(output: string): number[] {
  const words: number[] = [];
  const body = output.slice(output.indexOf('Result: Parcel(') + 'Result: Parcel('.length);
  for (const line of body.split('\n')) {
    const withoutOffset = line.replace(/^\s*0x[0-9a-f]+:/i, '');
    const hex = withoutOffset.split("'")[0]!;
    for (const match of hex.matchAll(/\b[0-9a-f]{8}\b/gi))
      words.push(Number.parseInt(match[0], 16));
  }
  return words;
}

/** Passes the Luhn check that IMEIs carry in their last digit. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/**
 * Whether a value read for `kind` has that kind's shape, so a transaction code that answered
 * with another field (or another method moved into its place) is not taken for an identifier.
 * `simOperator` is the SIM's MCC+MNC (gsm.sim.operator.numeric), which starts every IMSI; on a
 * dual-SIM phone the property lists one per slot ("46000,46001"), and the IMSI Android answers
 * is the default SIM's, which may be either: any slot's operator will do.
 *
 * @example
 *   acceptSubscriberValue('imei', '865432101234564', {}) // → true
 */
export function acceptSubscriberValue(
  kind: SubscriberKind,
  value: string,
  context: { simOperator?: string },
): boolean {
  switch (kind) {
    case 'imei':
      return (/^\d{15}$/.test(value) && luhnValid(value)) || /^[0-9A-F]{14}$/i.test(value);
    case 'imsi':
      // Every IMSI starts with the MCC, and MCCs start with 2–7.
      return (
        /^[2-7]\d{5,14}$/.test(value) &&
        (!context.simOperator ||
          context.simOperator
            .split(',')
            .map((operator) => operator.trim())
            .filter(Boolean)
            .some((operator) => value.startsWith(operator)))
      );
    case 'iccid':
      return /^89\d{15,19}F?$/i.test(value);
    case 'msisdn':
      return /^\+?\d{3,15}$/.test(value);
  }
}
