import type { Exchange, FileBody, Finding, HeaderPair, Identifier } from '../types.ts';
import { childrenOf } from './children.ts';
import { decodeScope } from './decode-budget.ts';
import { exchangeParts, headerValue, type LoadedBodies } from './exchange-parts.ts';
import { DEFAULT_WINDOWING, loadFileBody, type LoadedBody, type Windowing } from './file-body.ts';
import { fragmentOf } from './fragment.ts';
import { opaqueTokensIn, opaqueWhole } from './opaque-parts.ts';
import { countryOf } from './phone-formats.ts';
import { pairLocations } from './location-pairs.ts';
import { actsAsNothing, createMatcher, type Matcher, type RawMatch } from './matcher.ts';
import type { Child, DecodeScope, Part } from './part.ts';
import type { Variant } from './variant.ts';
import { variantsOf } from './variants.ts';

/** A part of an exchange the scan could not see into, and why. */
export interface UnscannedIn {
  /** Where, as a finding would name it: "request-body", "request-body>json:$.d>base64>gzip". */
  where: string;
  reason: string;
}

/** What the scan of one exchange found, and what it could not scan. */
export interface ExchangeScan {
  findings: Finding[];
  unscanned: UnscannedIn[];
}

/** Finds identifiers in exchanges. Findings are data: a leak is never an exception. */
export interface Detector {
  /**
   * All findings in one exchange, and every part of it that was not scanned (a body the capture
   * could not decode, a nested decoding past the budget); `index` is its 0-based position in the
   * journal or HAR, which findings carry as `exchange`.
   */
  scan(exchange: Exchange, index: number): ExchangeScan;
  /**
   * `scan`, reading bodies kept in files too: streamed, content-encoding undone within the
   * budget, a body too large to read whole scanned in overlapping windows. Without file bodies,
   * the same as `scan`.
   */
  scanAsync(exchange: Exchange, index: number): Promise<ExchangeScan>;
  /** `scan(…).findings`: for callers that only look for identifiers (redaction). */
  scanExchange(exchange: Exchange, index: number): Finding[];
  /** The variants looked for, for the benchmark and for `scan --explain`. */
  readonly variants: readonly Variant[];
  /** Bytes scanned so far, decoded parts included. */
  bytesScanned(): number;
}

/**
 * Builds a detector for a set of identifiers: every identifier is expanded into its variants once,
 * and every part of every exchange is scanned for all of them in one pass of one automaton.
 *
 * @example
 *   const detector = createDetector(identifiersFrom({ imei: ['356938035643809'] }, 'file'));
 *   detector.scanExchange(exchange, 0) // → [{ kind: 'imei', form: 'plain', where: 'cookie:deviceId', … }]
 */
export function createDetector(
  identifiers: Identifier[],
  options: { windowing?: Windowing } = {},
): Detector {
  const windowing = options.windowing ?? DEFAULT_WINDOWING;
  // National numbers of contacts are read in the country of the phone's own number.
  const own = identifiers.find((identifier) => identifier.kind === 'msisdn');
  const defaultCountry = own ? countryOf(own.value) : undefined;
  const variants = identifiers.flatMap((identifier) =>
    variantsOf(identifier, defaultCountry ? { defaultCountry } : {}),
  );
  const matcher = createMatcher(variants);
  /** One exchange's scan in progress: its findings (one per identifier, form and place) and gaps. */
  const begin = (exchange: Exchange, index: number) => {
    const findings = new Map<string, Finding>();
    const unscanned: UnscannedIn[] = [];
    const report = (part: Part, match: RawMatch) => {
      const variant = variants[match.variant] as Variant;
      const { identifier } = variant;
      const form = formOf(match.form ?? variant.form, match.caseForm);
      const key = `${identifier.kind}\u0000${identifier.value}\u0000${form}\u0000${part.where}`;
      if (findings.has(key)) return;
      const context = part.context ?? { bytes: part.bytes, offset: 0 };
      findings.set(key, {
        exchange: index,
        exchangeId: exchange.id,
        kind: identifier.kind,
        label: identifier.label,
        form,
        where: part.where,
        host: exchange.host,
        offset: (part.streamOffset ?? 0) + match.start,
        evidence: match.evidence ?? variant.evidence,
        fragment: fragmentOf(
          context.bytes,
          context.offset + match.start,
          context.offset + match.end,
        ),
        startedAt: exchange.startedAt,
        ...(exchange.app ? { app: exchange.app } : {}),
      });
    };
    const scanParts = (loaded?: LoadedBodies) => {
      const scope = decodeScope((where, reason) => unscanned.push({ where, reason }));
      for (const part of exchangeParts(exchange, loaded)) {
        if (part.unscanned) unscanned.push({ where: part.where, reason: part.unscanned });
        scanPart(matcher, part, undefined, report, scope);
      }
    };
    const result = (): ExchangeScan => ({ findings: [...findings.values()], unscanned });
    return { report, unscanned, scanParts, result };
  };
  const scan: Detector['scan'] = (exchange, index) => {
    const run = begin(exchange, index);
    run.scanParts();
    return run.result();
  };
  const scanAsync: Detector['scanAsync'] = async (exchange, index) => {
    const files = fileBodiesOf(exchange);
    if (files.length === 0) return scan(exchange, index);
    const run = begin(exchange, index);
    const loaded: LoadedBodies = {};
    const windowed: { where: string; body: Extract<LoadedBody, { windows: unknown }> }[] = [];
    for (const { which, body, headers } of files) {
      const where = `${which}-body`;
      const read = await loadFileBody(body, headerValue(headers, 'content-encoding'), windowing);
      if ('whole' in read) {
        loaded[which] = {
          bytes: read.whole,
          ...(read.decodeError ? { decodeError: read.decodeError } : {}),
        };
        for (const reason of read.unscanned) run.unscanned.push({ where, reason });
      } else {
        loaded[which] = null;
        windowed.push({ where, body: read });
        if (body.unscanned) run.unscanned.push({ where, reason: body.unscanned });
      }
    }
    run.scanParts(loaded);
    for (const { where, body } of windowed) {
      // Each window is a body of its own to the decoders (its own budget); the findings keep
      // their offset in the whole body, and one seen in two windows' overlap is reported once.
      for await (const window of body.windows) {
        const scope = decodeScope((at, reason) => run.unscanned.push({ where: at, reason }));
        const part: Part = { where, bytes: window.bytes, depth: 0, streamOffset: window.start };
        scanPart(matcher, part, undefined, run.report, scope);
      }
      for (const reason of body.unscanned) run.unscanned.push({ where, reason });
    }
    return run.result();
  };
  return {
    variants,
    bytesScanned: () => matcher.bytesScanned,
    // A function, not a method: `const { scanExchange } = detector` works too.
    scanExchange: (exchange, index) => scan(exchange, index).findings,
    scan,
    scanAsync,
  };
}

/** "plain" seen in upper case is "upper-case"; any other form says its case in front. */
function formOf(form: string, caseForm: RawMatch['caseForm']): string {
  if (!caseForm) return form;
  const name = caseForm === 'mixed-case' ? 'mixed-case' : `${caseForm}-case`;
  return form === 'plain' ? name : `${name} ${form}`;
}

/**
 * Scans one part and what is inside it, reports its findings, and returns the identifiers found
 * in it: the parent then drops its own weaker account of the same bytes (a base64 match over a
 * blob that the child decoded and matched as plain text). `opaque` counts the opaque parts told
 * so far, so that a part whose inside was opaque is not told again as a whole (null: a piece of
 * a token told already); `source` is the text a decoded part was decoded from.
 */
function scanPart(
  matcher: Matcher,
  part: Part,
  inherited: RawMatch[] | undefined,
  report: (part: Part, match: RawMatch) => void,
  scope: DecodeScope,
  opaque: OpaqueCount | null = { count: 0 },
  source?: Uint8Array,
): Set<Identifier> {
  // Coordinates pair before the matches move into slices: a latitude and a longitude in two
  // fields of one message (two OTLP attributes) are a location of the message.
  let matches = inherited ?? pairLocations(matcher.scan(part.bytes), matcher.variants);
  const found = new Set<Identifier>();
  const children = childrenOf(part, scope);
  const opaqueBefore = opaque?.count ?? 0;
  const tokens = opaque ? opaqueTokensIn(part, children) : [];
  for (const { where, reason } of tokens) scope.unscanned(where, reason);
  if (opaque) opaque.count += tokens.length;
  for (const child of children) {
    // A child inside an opaque token is a piece of it (base64 between two "%2B"): told already.
    const inside = tokens.some((token) => child.start < token.end && child.end > token.start);
    const quiet = inside ? null : opaque;
    if (child.slice) {
      // A slice is the same bytes under a more precise name: its matches move to it. One value
      // of a structure whose framing looks like text (a tag '2' after a string) is scanned on its
      // own bytes instead, where the tag and length around it are nothing. Either way, a match
      // that runs across the slice's edge mixes framing with value (an IMEI and the next tag
      // '2' read as an IMEISV) and is dropped.
      const own = child.field === true && framingCounts(child);
      const moved: RawMatch[] = [];
      if (matches.length > 0) {
        const kept: RawMatch[] = [];
        for (const match of matches) {
          const inside = match.start >= child.start && match.end <= child.end;
          // A location pair across fields is its message's, framing between them and all.
          if (match.end <= child.start || match.start >= child.end || (match.form && !inside))
            kept.push(match);
          else if (!own && inside) {
            moved.push({
              ...match,
              start: match.start - child.start,
              end: match.end - child.start,
            });
          }
        }
        matches = kept;
      }
      for (const identifier of scanPart(
        matcher,
        child,
        own ? undefined : moved,
        report,
        scope,
        quiet,
      ))
        found.add(identifier);
    } else {
      const from = part.bytes.subarray(child.start, child.end);
      const childFound = scanPart(matcher, child, undefined, report, scope, quiet, from);
      if (childFound.size === 0) continue;
      matches = matches.filter(
        (match) =>
          !(
            match.start >= child.start &&
            match.end <= child.end &&
            childFound.has(identifierOf(matcher, match))
          ),
      );
      for (const identifier of childFound) found.add(identifier);
    }
  }
  // What no decoder opened and looks encrypted is told as unscanned: it may carry anything.
  const whole = opaque && opaqueWhole(part, children, opaque.count > opaqueBefore, source);
  if (whole && opaque) {
    scope.unscanned(whole.where, whole.reason);
    opaque.count++;
  }
  if (matches.length === 0) return found;
  for (const match of withoutContained(pairLocations(matches, matcher.variants), matcher)) {
    report(part, match);
    found.add(identifierOf(matcher, match));
  }
  return found;
}

/** How many opaque parts one exchange's scan has told so far. */
interface OpaqueCount {
  count: number;
}

/**
 * Whether the bytes just outside a structure's value (its length header, the next field's tag)
 * could have changed a match's boundary in the bytes the value was scanned in. Most framing bytes
 * are control bytes and count as nothing: the matches inside then move into the value as they
 * are, and only the others cost a scan of the value's bytes.
 */
function framingCounts(child: Child): boolean {
  const { bytes, offset } = child.context ?? { bytes: child.bytes, offset: 0 };
  return !actsAsNothing(bytes[offset - 1]) || !actsAsNothing(bytes[offset + child.bytes.length]);
}

/**
 * A plain function, not a closure made per part: under tsx each named closure costs a
 * defineProperty call (esbuild's keepNames), measurable at a closure per part.
 */
function identifierOf(matcher: Matcher, match: RawMatch): Identifier {
  return (matcher.variants[match.variant] as Variant).identifier;
}

/**
 * Drops a match that lies inside a longer match of the same identifier: the 14-digit IMEI core
 * inside the 15-digit IMEI, a truncated hash inside the full one. Matches come sorted by start,
 * longest first.
 */
function withoutContained(matches: RawMatch[], matcher: Matcher): RawMatch[] {
  const reach = new Map<Identifier, number>();
  const kept: RawMatch[] = [];
  for (const match of matches) {
    const identifier = identifierOf(matcher, match);
    const end = reach.get(identifier);
    if (end !== undefined && match.end <= end) continue;
    reach.set(identifier, Math.max(end ?? 0, match.end));
    kept.push(match);
  }
  return kept;
}

/** The bodies of an exchange that are kept in files. */
function fileBodiesOf(
  exchange: Exchange,
): { which: 'request' | 'response'; body: FileBody; headers: HeaderPair[] }[] {
  const files: { which: 'request' | 'response'; body: FileBody; headers: HeaderPair[] }[] = [];
  if (exchange.request.body.encoding === 'file')
    files.push({
      which: 'request',
      body: exchange.request.body,
      headers: exchange.request.headers,
    });
  if (exchange.response?.body.encoding === 'file')
    files.push({
      which: 'response',
      body: exchange.response.body,
      headers: exchange.response.headers,
    });
  return files;
}
