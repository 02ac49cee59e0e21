import type { CountryCode } from 'libphonenumber-js';
import type { Evidence, Identifier } from '../types.ts';
import {
  DIGESTS,
  base64Windows,
  digestOf,
  doubleUrlEncoded,
  formEncoded,
  hexOf,
  jsonEscapedAll,
  jsonEscapedNonAscii,
  toBase64Url,
  urlEncoded,
  varintOf,
} from './encodings.ts';
import { coordinateVariants } from './location-variants.ts';
import { phoneFormats } from './phone-formats.ts';
import type { Boundary, Variant } from './variant.ts';

/** Shorter than this, a value occurs by chance: its findings are weak evidence. */
const MIN_STRONG_LENGTH = 6;
/** Hex characters kept of a truncated digest: 64 bits, unique among any capture's hashes. */
const HEX_PREFIX = 16;
/** Base64 characters kept of a truncated digest: 60 bits, what 8 raw bytes always begin with. */
const BASE64_PREFIX = 10;
/** A base64 window shorter than this matches random blobs. */
const MIN_BASE64_WINDOW = 8;

export interface VariantOptions {
  /** Country to read phone numbers in when they are not in E.164 (the phone's own number's). */
  defaultCountry?: CountryCode;
}

/**
 * One written form of the value, before encodings: "06 12 34 56 78" is a written form of
 * +33612345678, and so are the MAC with or without colons. `encode` says which encodings apply.
 */
interface WrittenForm {
  form: string;
  text: string;
  boundary: Boundary;
  anyCase: boolean;
  /** Which encodings this written form is worth: all of them, only text escapes, or none. */
  encode: 'all' | 'escapes' | 'none';
  /** Hash this text: vendors hash canonical forms (lower-case MAC, E.164), not every spacing. */
  hashed: boolean;
  trailingDigits?: number;
}

/**
 * Expands an identifier into the forms it can take on the wire, each labelled with its form so
 * a finding can say "sha256-hex of the IMEI". Case variants are not listed separately: the
 * matcher accepts any case where case is not data and reports which it saw.
 *
 * @example
 *   variantsOf({ kind: 'imei', value: '356938035643809', label: 'IMEI #1', source: 'file' })
 *     .map((v) => v.form)
 *   // → ['plain', 'json-escaped', 'hex', 'base64', 'base64@1', …, 'sha256-hex', 'without-check-digit', 'imeisv', …]
 */
export function variantsOf(identifier: Identifier, options: VariantOptions = {}): Variant[] {
  const evidence = evidenceOf(identifier);
  const variants: Variant[] = [];
  const seen = new Set<string>();
  const add = (
    form: string,
    bytes: Uint8Array,
    boundary: Boundary,
    anyCase: boolean,
    extra: Partial<Variant> = {},
  ) => {
    const key = `${anyCase ? Buffer.from(bytes).toString('latin1').toLowerCase() : Buffer.from(bytes).toString('latin1')}|${extra.trailingDigits ?? 0}`;
    if (bytes.length === 0 || seen.has(key)) return;
    seen.add(key);
    variants.push({ identifier, form, bytes, anyCase, boundary, evidence, ...extra });
  };
  const text = (
    form: string,
    value: string,
    boundary: Boundary,
    anyCase: boolean,
    extra: Partial<Variant> = {},
  ) => add(form, Buffer.from(value, 'utf8'), boundary, anyCase, extra);

  if (identifier.kind === 'location') return coordinateVariants(identifier);

  for (const written of writtenForms(identifier, options)) {
    // The written form's own name prefixes its encodings: "national-formatted" then
    // "url-encoded national-formatted". The canonical one ("plain") stays short.
    const name = (encoding: string) =>
      written.form === 'plain' ? encoding : `${encoding} ${written.form}`;
    const extra = written.trailingDigits ? { trailingDigits: written.trailingDigits } : {};
    text(written.form, written.text, written.boundary, written.anyCase, extra);
    if (written.encode === 'none') continue;
    const url = urlEncoded(written.text);
    if (url) text(name('url-encoded'), url, 'none', true);
    const form = formEncoded(written.text);
    if (form) text(name('form-encoded'), form, 'none', true);
    const double = doubleUrlEncoded(written.text);
    if (double) text(name('double-url-encoded'), double, 'none', true);
    const escaped = jsonEscapedNonAscii(written.text);
    if (escaped) text(name('json-escaped'), escaped, 'none', true);
    // Escaped, a letter's case is in the escape's digits (\u0041, \u0061), out of the matcher's
    // case folding: each spelling (upper-case, without dashes) needs its own.
    text(name('json-escaped-all'), jsonEscapedAll(written.text), 'none', true, { caseless: true });
    if (written.encode === 'escapes') continue;
    text(name('hex'), hexOf(written.text), 'none', true);
    base64Windows(Buffer.from(written.text, 'utf8')).forEach((window, offset) => {
      if (window.length < MIN_BASE64_WINDOW) return;
      const suffix = offset === 0 ? '' : `@${offset}`;
      text(name(`base64${suffix}`), window, 'none', false);
      text(name(`base64url${suffix}`), toBase64Url(window), 'none', false);
    });
  }
  for (const written of writtenForms(identifier, options)) {
    if (!written.hashed) continue;
    const name = (encoding: string) =>
      written.form === 'plain' ? encoding : `${encoding} ${written.form}`;
    for (const digest of DIGESTS) {
      const raw = digestOf(digest, written.text);
      const hex = raw.toString('hex');
      const base64 = raw.toString('base64').replace(/=+$/, '');
      text(name(`${digest}-hex`), hex, 'none', true);
      text(name(`${digest}-hex-prefix`), hex.slice(0, HEX_PREFIX), 'hex-start', true);
      text(name(`${digest}-base64`), base64, 'none', false);
      text(name(`${digest}-base64-prefix`), base64.slice(0, BASE64_PREFIX), 'none', false);
      text(name(`${digest}-base64url`), toBase64Url(base64), 'none', false);
      text(
        name(`${digest}-base64url-prefix`),
        toBase64Url(base64).slice(0, BASE64_PREFIX),
        'none',
        false,
      );
    }
    const varint = varintOf(written.text);
    // Fewer than 5 bytes of varint is a small number that any binary body contains.
    if (varint && varint.length >= 5) add(name('protobuf-varint'), varint, 'none', false);
    if (/^\d+$/.test(written.text)) integerForms(BigInt(written.text), name);
  }
  if (identifier.kind === 'android_id' && /^[0-9a-f]{16}$/i.test(identifier.value)) {
    // Android's own check-in sends the ID as a 64-bit integer (a fixed64, and varints elsewhere).
    const number = BigInt(`0x${identifier.value}`);
    const varint = varintOf(number.toString());
    if (varint && varint.length >= 5) add('protobuf-varint', varint, 'none', false);
    integerForms(number, (encoding) => encoding);
  }
  if (
    identifier.kind === 'ad_id' &&
    /^[0-9a-f]{8}(-?[0-9a-f]{4}){3}-?[0-9a-f]{12}$/i.test(identifier.value)
  ) {
    // A UUID as its 16 bytes: a protobuf bytes field, Java's two longs, base64 of them decoded.
    const raw = Buffer.from(identifier.value.replace(/-/g, ''), 'hex');
    add('uuid-bytes', raw, 'none', false, { binary: true });
  }
  return variants;

  /**
   * An integer as 8 bytes in either byte order (protobuf fixed64, Java's writeLong): only in
   * binary parts. Under 2^32 its 8 bytes are mostly zeros any binary body has: weak.
   */
  function integerForms(number: bigint, name: (encoding: string) => string) {
    if (number >= 1n << 64n) return;
    const strength: Evidence = number >= 1n << 32n ? evidence : 'weak';
    for (const encoding of ['fixed64-le', 'int64-be'] as const) {
      const bytes = Buffer.alloc(8);
      if (encoding === 'fixed64-le') bytes.writeBigUInt64LE(number);
      else bytes.writeBigUInt64BE(number);
      add(name(encoding), bytes, 'none', false, { binary: true, evidence: strength });
    }
  }
}

/** The written forms of a value, by kind. */
function writtenForms(identifier: Identifier, options: VariantOptions): WrittenForm[] {
  const value = identifier.value;
  const plain = (
    form: string,
    text: string,
    boundary: Boundary,
    more: Partial<WrittenForm> = {},
  ): WrittenForm => ({
    form,
    text,
    boundary,
    anyCase: true,
    encode: 'all',
    hashed: true,
    ...more,
  });
  switch (identifier.kind) {
    case 'imei': {
      // An IMEI is 14 digits of TAC and serial, then a Luhn check digit (15) or a two-digit
      // software version instead (IMEISV, 16). Any of them identifies the phone.
      const core = value.slice(0, 14);
      const forms = [plain('plain', value, 'digit')];
      if (value.length !== 14)
        forms.push(plain('without-check-digit', core, 'digit', { encode: 'escapes' }));
      const check = luhnDigit(core);
      if (value.length !== 15)
        forms.push(plain('with-check-digit', core + check, 'digit', { encode: 'escapes' }));
      forms.push(
        plain('imeisv', core, 'digit', { encode: 'none', hashed: false, trailingDigits: 2 }),
      );
      return forms;
    }
    case 'imsi':
    case 'iccid':
    case 'serial':
      return [plain('plain', value, /^\d+$/.test(value) ? 'digit' : 'word')];
    case 'msisdn':
    case 'contact_number':
      return phoneFormats(value, options.defaultCountry).map((format, index) =>
        plain(index === 0 ? 'plain' : format.form, format.text, 'digit', {
          // The first (E.164) gets every encoding; the other spellings only text escapes.
          encode: index === 0 || format.form === 'e164-without-plus' ? 'all' : 'escapes',
          hashed: format.hashed,
        }),
      );
    case 'wifi_mac':
    case 'bt_mac': {
      const hex = value.replace(/[^0-9a-f]/gi, '').toLowerCase();
      const pairs = hex.match(/../g) as string[];
      return [
        plain('plain', pairs.join(':'), 'hex'),
        plain('dashed', pairs.join('-'), 'hex', { encode: 'escapes', hashed: false }),
        plain('bare', hex, 'hex', { encode: 'escapes' }),
        // Hash inputs are case-sensitive: the upper-case spelling is hashed too.
        plain('upper', pairs.join(':').toUpperCase(), 'hex', { encode: 'escapes' }),
        plain('upper-bare', hex.toUpperCase(), 'hex', { encode: 'escapes', hashed: false }),
      ];
    }
    case 'android_id':
      return [
        plain('plain', value.toLowerCase(), 'hex'),
        plain('upper', value.toUpperCase(), 'hex', { encode: 'escapes' }),
      ];
    case 'ad_id': {
      // iOS writes the advertising ID in upper case, Android in lower; SDKs strip the dashes
      // and hash either spelling (MD5 of the upper-case IDFA without dashes, …).
      const lower = value.toLowerCase();
      const upper = value.toUpperCase();
      const forms = [
        plain('plain', lower, 'hex'),
        plain('upper', upper, 'hex', { encode: 'escapes' }),
      ];
      if (lower.includes('-'))
        forms.push(
          plain('without-dashes', lower.replace(/-/g, ''), 'hex', { encode: 'escapes' }),
          plain('upper-without-dashes', upper.replace(/-/g, ''), 'hex', { encode: 'escapes' }),
        );
      return forms;
    }
    case 'email':
      // Ad networks hash the trimmed, lower-cased address (hashed e-mail matching).
      return [plain('plain', value.trim().toLowerCase(), 'word')];
    case 'operator':
      // An operator name is weak evidence whatever its dress: no digests of it.
      return [plain('plain', value, 'word', { hashed: false })];
    case 'contact_name':
      return [plain('plain', value, 'word')];
    case 'sms_text':
      return [plain('plain', value, 'none', { hashed: true })];
    case 'location':
      return [];
  }
}

/** Operator names and short values occur by chance in ordinary text. */
function evidenceOf(identifier: Identifier): Evidence {
  if (identifier.kind === 'operator') return 'weak';
  const significant = identifier.value.replace(/[\s().+-]/g, '');
  return significant.length < MIN_STRONG_LENGTH ? 'weak' : 'strong';
}

/** The Luhn check digit of an IMEI's first 14 digits. */
export function luhnDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}
