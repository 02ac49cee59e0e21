import { isOpaqueReason } from '../detect/opaque.ts';
import type { OpaqueException } from '../types.ts';

/**
 * The declared exception an opaque part matches, if any: same host (or a subdomain of a
 * "*.example.com"), and the same place or a place inside it ("request-body" matches
 * "request-body>base64"). Only opaque parts can be excepted: a part cut by a budget was never
 * looked at, so no review of it can be declared.
 *
 * @example
 *   exceptionFor({ host: 'push.example.com', where: 'cookie:t>base64', reason: 'opaque: …' },
 *     [{ host: '*.example.com', where: 'cookie:t', reason: 'reviewed: push token' }])
 *   // → { host: '*.example.com', where: 'cookie:t', reason: 'reviewed: push token' }
 */
export function exceptionFor(
  part: { host: string; where: string; reason: string },
  exceptions: readonly OpaqueException[],
): OpaqueException | undefined {
  if (!isOpaqueReason(part.reason)) return undefined;
  return exceptions.find(
    (exception) =>
      hostMatches(part.host, exception.host) &&
      (part.where === exception.where || part.where.startsWith(`${exception.where}>`)),
  );
}

function hostMatches(host: string, pattern: string): boolean {
  const wanted = pattern.toLowerCase();
  const actual = host.toLowerCase();
  if (wanted.startsWith('*.')) return actual.endsWith(wanted.slice(1));
  return actual === wanted;
}

/**
 * Checks a scenario's or a device's declared exceptions; `source` names where they were
 * declared for the error ("scenario 'x'", "devices.json devices[2]").
 *
 * @example
 *   checkOpaqueExceptions([{ host: 'a.example', where: 'request-body' }], "scenario 'x'")
 *   // throws: scenario 'x': opaqueExceptions[0].reason must be a non-empty string (…)
 */
export function checkOpaqueExceptions(exceptions: unknown, source: string): OpaqueException[] {
  if (exceptions === undefined) return [];
  if (!Array.isArray(exceptions))
    throw new Error(`${source}: opaqueExceptions must be an array of { host, where, reason }`);
  return exceptions.map((exception: unknown, index) => {
    for (const field of ['host', 'where', 'reason'] as const) {
      const value = (exception as Record<string, unknown> | null)?.[field];
      if (typeof value !== 'string' || value.trim() === '')
        throw new Error(
          `${source}: opaqueExceptions[${index}].${field} must be a non-empty string (e.g. { host: 'push.example.com', where: 'request-body', reason: 'reviewed: push token' })`,
        );
    }
    return exception as OpaqueException;
  });
}
