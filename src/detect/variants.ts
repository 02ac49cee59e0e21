import type { Identifier } from '../types.ts';
import type { Variant } from './variant.ts';

/**
 * Expands an identifier into the forms it can take on the wire.
 *
 * @example
 *   variantsOf({ kind: 'imei', value: '356938035643809', label: 'IMEI #1', source: 'file' })
 *     .map((v) => v.form) // → ['plain', …]
 */
export function variantsOf(identifier: Identifier): Variant[] {
  const out = new Map<string, Variant>();
  const add = (form: string, text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const key = bytes.toString('latin1');
    if (!out.has(key)) {
      out.set(key, { identifier, form, bytes, anyCase: true, boundary: 'none', evidence: 'strong' });
    }
  };
  add('plain', identifier.value);
  add('url-encoded', encodeURIComponent(identifier.value));
  return [...out.values()];
}
