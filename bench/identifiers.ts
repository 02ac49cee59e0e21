import type { IdentifierValues } from '../src/types.ts';
import { luhnDigit } from '../src/detect/variants.ts';
import type { Random } from './random.ts';

/**
 * Fifty made-up identifiers of every kind, as a phone with two SIMs, an account, a contact list
 * and an SMS inbox would have. Made up from a seeded generator: no real person's data.
 *
 * @example
 *   benchIdentifiers(random(1)).imei // → ['3569380…', '3569380…']
 */
export function benchIdentifiers(rng: Random): IdentifierValues {
  const digits = (n: number) => Array.from({ length: n }, () => rng.int(10)).join('');
  const hex = (n: number) => Array.from({ length: n }, () => rng.int(16).toString(16)).join('');
  const imei = () => {
    const core = `35693803${digits(6)}`;
    return core + luhnDigit(core);
  };
  const mac = () => (hex(12).match(/../g) as string[]).join(':');
  const words = [
    'Ana',
    'Bruno',
    'Chen',
    'Dilnoza',
    'Émile',
    'Fatou',
    'Goran',
    'Hana',
    'Ivo',
    'Jun',
  ];
  return {
    imei: [imei(), imei()],
    imsi: [`20801${digits(10)}`, `20810${digits(10)}`],
    iccid: [`893301${digits(13)}`, `893310${digits(13)}`],
    msisdn: [`+336${digits(8)}`, `+337${digits(8)}`],
    serial: [`R58M${hex(8).toUpperCase()}`],
    android_id: [hex(16)],
    ad_id: [`${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`],
    wifi_mac: [mac()],
    bt_mac: [mac()],
    operator: ['Orange F'],
    email: [`canary.${hex(6)}@example.com`],
    contact_number: Array.from({ length: 10 }, () => `+336${digits(8)}`),
    contact_name: words.map((word) => `${word} Canary${hex(4)}`),
    sms_text: Array.from({ length: 8 }, () => `see you at ${rng.int(24)}h, code ${hex(6)} canary`),
    location: Array.from(
      { length: 6 },
      () => `${(43 + rng.next() * 6).toFixed(6)},${(-1 + rng.next() * 7).toFixed(6)}`,
    ),
  };
}
