import { readFileSync } from 'node:fs';
import { PhonehomeError } from '../errors.ts';
import {
  IDENTIFIER_KINDS,
  isIdentifierKind,
  type Identifier,
  type IdentifierKind,
  type IdentifierSource,
  type IdentifierValues,
} from '../types.ts';

/** How each kind is named in labels: labels are printed instead of the values themselves. */
const KIND_NAMES: Record<IdentifierKind, string> = {
  imei: 'IMEI',
  imsi: 'IMSI',
  iccid: 'ICCID',
  msisdn: 'phone number',
  serial: 'serial number',
  android_id: 'Android ID',
  ad_id: 'advertising ID',
  wifi_mac: 'Wi-Fi MAC',
  bt_mac: 'Bluetooth MAC',
  operator: 'operator name',
  email: 'email',
  contact_number: 'contact number',
  contact_name: 'contact name',
  sms_text: 'SMS text',
  location: 'location',
};

/** The printable name of a kind, e.g. "phone number" for `msisdn`. */
export function kindName(kind: IdentifierKind): string {
  return KIND_NAMES[kind];
}

/**
 * Turns identifier values (as in devices.json or an identifiers file) into identifiers with
 * labels that are safe to print; the label number is the value's 1-based position in its kind.
 *
 * @example
 *   identifiersFrom({ imei: ['356938035643809', '356938035643817'] }, 'devices.json')
 *   // → [{ kind: 'imei', value: '356938035643809', label: 'IMEI #1', … }, { …, label: 'IMEI #2' }]
 */
export function identifiersFrom(values: IdentifierValues, source: IdentifierSource): Identifier[] {
  const identifiers: Identifier[] = [];
  // Iterate in the canonical kind order so labels and findings come out the same on every run.
  for (const kind of IDENTIFIER_KINDS) {
    const list = values[kind] ?? [];
    list.forEach((value, index) => {
      identifiers.push({ kind, value, label: `${KIND_NAMES[kind]} #${index + 1}`, source });
    });
  }
  return identifiers;
}

/** What a value of each kind must look like, and an example to show in the error. */
interface KindRule {
  check: (value: string) => boolean;
  expect: string;
}

const DIGITS = (min: number, max: number) => (value: string) =>
  new RegExp(`^\\d{${min},${max}}$`).test(value);
const MAC = /^[0-9a-f]{2}([:-]?[0-9a-f]{2}){5}$/i;
const PHONE = /^\+?[\d ()./-]{3,24}$/;

const KIND_RULES: Partial<Record<IdentifierKind, KindRule>> = {
  imei: { check: DIGITS(14, 16), expect: '14 to 16 digits, e.g. "356938035643809"' },
  imsi: { check: DIGITS(6, 15), expect: 'up to 15 digits, e.g. "208011234567890"' },
  iccid: { check: DIGITS(18, 22), expect: '18 to 22 digits, e.g. "8933011234567890123"' },
  msisdn: {
    check: (v) => PHONE.test(v) && /\d{3}/.test(v.replace(/\D/g, '')),
    expect: 'a phone number, best in E.164, e.g. "+33612345678"',
  },
  contact_number: {
    check: (v) => PHONE.test(v) && /\d{3}/.test(v.replace(/\D/g, '')),
    expect: 'a phone number, best in E.164, e.g. "+33698765432"',
  },
  wifi_mac: { check: (v) => MAC.test(v), expect: 'a MAC address, e.g. "a4:50:46:12:34:56"' },
  bt_mac: { check: (v) => MAC.test(v), expect: 'a MAC address, e.g. "a4:50:46:12:34:57"' },
  location: {
    check: (v) => parseLocation(v) !== undefined,
    expect: 'a "lat,lon" pair in decimal degrees, e.g. "48.85661,2.35222"',
  },
  email: {
    check: (v) => /^[^@\s]+@[^@\s]+$/.test(v),
    expect: 'an address, e.g. "ana@example.com"',
  },
};

/**
 * Parses a `"lat,lon"` location value. Returns undefined when it is not two decimal numbers in
 * range. The original text of each number is kept: its precision is what the phone would send.
 *
 * @example
 *   parseLocation('48.85661,2.35222') // → { lat: 48.85661, lon: 2.35222, latText: '48.85661', lonText: '2.35222' }
 */
export function parseLocation(
  value: string,
): { lat: number; lon: number; latText: string; lonText: string } | undefined {
  const match = /^\s*(-?\d{1,3}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$/.exec(value);
  if (!match) return undefined;
  const latText = match[1] as string;
  const lonText = match[2] as string;
  const lat = Number(latText);
  const lon = Number(lonText);
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) return undefined;
  return { lat, lon, latText, lonText };
}

/**
 * Checks identifier values read from a file (an identifiers file, a devices.json entry, a journal)
 * and returns them typed. Errors name `where` (file and JSON path) and say how to fix it.
 *
 * @example
 *   validateIdentifierValues(JSON.parse(text), 'ids.json')
 *   // throws PhonehomeError IDENTIFIERS_INVALID: "ids.json: unknown identifier kind 'imeii'; known: imei, imsi, …"
 */
export function validateIdentifierValues(values: unknown, where: string): IdentifierValues {
  const fail = (message: string): never => {
    throw new PhonehomeError('IDENTIFIERS_INVALID', `${where}: ${message}`);
  };
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    fail(
      `identifiers must be an object of arrays by kind, e.g. { "imei": ["356938035643809"] }; got ${describe(values)}`,
    );
  }
  const result: IdentifierValues = {};
  for (const [key, list] of Object.entries(values as Record<string, unknown>)) {
    if (!isIdentifierKind(key)) {
      fail(`unknown identifier kind '${key}'; known: ${IDENTIFIER_KINDS.join(', ')}`);
      continue;
    }
    if (!Array.isArray(list)) {
      fail(
        `.${key} must be an array of strings, e.g. ["${exampleOf(key)}"]; got ${describe(list)}`,
      );
      continue;
    }
    const rule = KIND_RULES[key];
    result[key] = list.map((item: unknown, index) => {
      const path = `.${key}[${index}]`;
      if (typeof item !== 'string' || item.trim() === '') {
        return fail(`${path} must be a non-empty string; got ${describe(item)}`);
      }
      if (rule && !rule.check(item.trim())) {
        return fail(`${path} is not a valid ${KIND_NAMES[key]}: expected ${rule.expect}`);
      }
      return item.trim();
    });
  }
  return result;
}

function exampleOf(kind: IdentifierKind): string {
  const expect = KIND_RULES[kind]?.expect;
  const quoted = expect && /"([^"]+)"/.exec(expect);
  return quoted ? (quoted[1] as string) : '…';
}

/** Describes a wrong value by its type only: the value itself may be personal data. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  return `a ${typeof value}`;
}

/**
 * Reads an identifiers file — `{ "imei": ["…"], "msisdn": ["…"] }`, the format `scan` and
 * `capture` take with --identifiers — with errors that name the file and the fix.
 *
 * @example
 *   readIdentifiersFile('ids.json') // → { imei: ['356938035643809'] }
 */
export function readIdentifiersFile(file: string): IdentifierValues {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PhonehomeError(
      'IDENTIFIERS_INVALID',
      code === 'ENOENT'
        ? `${file} does not exist; write it as { "imei": ["…"], "msisdn": ["…"] }`
        : `${file} is not valid JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return validateIdentifierValues(data, file);
}
