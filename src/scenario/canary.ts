import { randomBytes, randomInt } from 'node:crypto';
import type { IdentifierKind } from '../types.ts';

/** A value the scenario plants on the phone, unique to this run, and so an identifier too. */
export interface Canary {
  kind: IdentifierKind;
  value: string;
}

/**
 * Makes canaries. Numbers come from ranges reserved for fiction (UK Ofcom's drama range
 * +44 7700 900000–900999), so a canary never rings a real person; names and texts carry a random
 * tag so they cannot occur by chance in traffic.
 *
 * @example
 *   const number = canaries.phoneNumber('contact_number'); // "+447700900417"
 */
export class CanaryMaker {
  readonly planted: Canary[] = [];
  private readonly used = new Set<string>();

  phoneNumber(kind: IdentifierKind = 'contact_number'): string {
    let value: string;
    do value = `+447700900${String(randomInt(0, 1000)).padStart(3, '0')}`;
    while (this.used.has(value));
    return this.plant(kind, value);
  }

  name(kind: IdentifierKind = 'contact_name'): string {
    const tag = randomBytes(3).toString('hex');
    return this.plant(kind, `Canary ${tag.toUpperCase()}`);
  }

  text(kind: IdentifierKind = 'sms_text'): string {
    return this.plant(kind, `phonehome canary ${randomBytes(6).toString('hex')}`);
  }

  /** An account address under example.com (RFC 2606), for the vendor cloud login. */
  email(): string {
    return this.plant('email', `phonehome.${randomBytes(4).toString('hex')}@example.com`);
  }

  /** A point near the given one (±0.05°), as "lat,lon" with 6 decimals. */
  location(latitude: number, longitude: number): { latitude: number; longitude: number } {
    const jitter = () => (randomInt(0, 100_001) - 50_000) / 1_000_000;
    const lat = Number((latitude + jitter()).toFixed(6));
    const lon = Number((longitude + jitter()).toFixed(6));
    this.plant('location', `${lat},${lon}`);
    return { latitude: lat, longitude: lon };
  }

  private plant(kind: IdentifierKind, value: string): string {
    this.used.add(value);
    this.planted.push({ kind, value });
    return value;
  }
}
