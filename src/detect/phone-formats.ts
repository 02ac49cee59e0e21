import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/** One way a phone number is written, e.g. { form: 'national-spaced', text: '06 12 34 56 78' }. */
export interface PhoneFormat {
  form: string;
  text: string;
  /** Texts vendors hash: the canonical ones, not every spacing. */
  hashed: boolean;
}

/**
 * The ways a phone number is written in traffic. The national formats come from libphonenumber's
 * per-country rules, so "+1 213…" gives "(213) 373-4253" and "+33 6…" gives "06 12 34 56 78".
 * A number not in E.164 is taken in `defaultCountry` (the phone's own number's country) when
 * given, and otherwise used as written.
 *
 * @example
 *   phoneFormats('+33612345678').map((f) => f.text)
 *   // → ['+33612345678', '33612345678', '0033612345678', '0612345678', '612345678', '06 12 34 56 78', …]
 */
export function phoneFormats(value: string, defaultCountry?: CountryCode): PhoneFormat[] {
  const parsed = parsePhoneNumberFromString(value, defaultCountry);
  const formats: PhoneFormat[] = [];
  const add = (form: string, text: string, hashed = false) => {
    if (!formats.some((f) => f.text === text)) formats.push({ form, text, hashed });
  };
  if (!parsed) {
    const digits = value.replace(/\D/g, '');
    add('plain', value, true);
    add('digits', digits, true);
    return formats;
  }
  const e164 = parsed.number;
  const national = parsed.formatNational();
  const international = parsed.formatInternational();
  add('e164', e164, true);
  add('e164-without-plus', e164.slice(1), true);
  add('international-00', `00${e164.slice(1)}`);
  add('national', national.replace(/\D/g, ''));
  add('national-without-trunk', parsed.nationalNumber);
  for (const [form, text] of [
    ['national', national],
    ['international', international],
  ] as const) {
    if (/[^\d+]/.test(text)) add(`${form}-formatted`, text);
    if (text.includes(' ')) {
      add(`${form}-dashed`, text.replace(/ /g, '-'));
      add(`${form}-dotted`, text.replace(/ /g, '.'));
    }
  }
  if (value !== e164 && !formats.some((f) => f.text === value)) add('as-given', value, true);
  return formats;
}

/** The country of a number in E.164, to read other numbers of the same phone in. */
export function countryOf(value: string): CountryCode | undefined {
  return parsePhoneNumberFromString(value)?.country;
}
