import type { Exchange, Finding, Identifier } from '../types.ts';
import { childrenOf } from './children.ts';
import { exchangeParts } from './exchange-parts.ts';
import { fragmentOf } from './fragment.ts';
import { createMatcher, type Matcher, type RawMatch } from './matcher.ts';
import type { Part } from './part.ts';
import { variantsOf } from './variants.ts';

/** Finds identifiers in exchanges. Findings are data: a leak is never an exception. */
export interface Detector {
  /**
   * All findings in one exchange; `index` is its 0-based position in the journal or HAR, which
   * findings carry as `exchange`.
   */
  scanExchange(exchange: Exchange, index: number): Finding[];
}

/**
 * Builds a detector for a set of identifiers: every identifier is expanded into its variants once,
 * and every part of every exchange is scanned for all of them in one pass.
 *
 * @example
 *   const detector = createDetector(identifiersFrom({ imei: ['356938035643809'] }, 'file'));
 *   detector.scanExchange(exchange, 0) // → [{ kind: 'imei', form: 'plain', where: 'cookie:deviceId', … }]
 */
export function createDetector(identifiers: Identifier[]): Detector {
  const matcher = createMatcher(identifiers.flatMap((identifier) => variantsOf(identifier)));
  return {
    scanExchange(exchange, index) {
      const findings = new Map<string, Finding>();
      const report = (part: Part, match: RawMatch) => {
        const variant = matcher.variants[match.variant];
        if (!variant) return;
        const { identifier } = variant;
        const key = `${identifier.kind}\u0000${identifier.value}\u0000${variant.form}\u0000${part.where}`;
        if (findings.has(key)) return;
        findings.set(key, {
          exchange: index,
          exchangeId: exchange.id,
          kind: identifier.kind,
          label: identifier.label,
          form: variant.form,
          where: part.where,
          host: exchange.host,
          offset: match.start,
          evidence: variant.evidence,
          fragment: fragmentOf(part.bytes, match.start, match.end),
          startedAt: exchange.startedAt,
        });
      };
      for (const part of exchangeParts(exchange)) scanPart(matcher, part, undefined, report);
      return [...findings.values()];
    },
  };
}

/**
 * Scans one part and what is inside it; returns the identifiers found in it, so the parent can
 * drop its own weaker explanation of the same bytes (a base64 match of a blob that the child
 * decoded and matched plainly).
 */
function scanPart(
  matcher: Matcher,
  part: Part,
  inherited: RawMatch[] | undefined,
  report: (part: Part, match: RawMatch) => void,
): Set<Identifier> {
  let matches = inherited ?? matcher.scan(part.bytes);
  const found = new Set<Identifier>();
  for (const child of childrenOf(part)) {
    if (child.slice) {
      const inside = matches.filter((m) => m.start >= child.start && m.end <= child.end);
      if (inside.length === 0 && !mayHoldEncodedData(child)) continue;
      matches = matches.filter((m) => !(m.start >= child.start && m.end <= child.end));
      const shifted = inside.map((m) => ({ ...m, start: m.start - child.start, end: m.end - child.start }));
      for (const identifier of scanPart(matcher, child, shifted, report)) found.add(identifier);
    } else {
      const childFound = scanPart(matcher, child, undefined, report);
      matches = matches.filter(
        (m) =>
          !(
            m.start >= child.start &&
            m.end <= child.end &&
            childFound.has((matcher.variants[m.variant] as { identifier: Identifier }).identifier)
          ),
      );
      for (const identifier of childFound) found.add(identifier);
    }
  }
  for (const match of matches) {
    report(part, match);
    found.add((matcher.variants[match.variant] as { identifier: Identifier }).identifier);
  }
  return found;
}

/** A slice with no match of its own can still hold a decodable blob worth opening. */
function mayHoldEncodedData(_child: Part): boolean {
  return true;
}
