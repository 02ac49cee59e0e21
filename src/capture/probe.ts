import { randomBytes } from 'node:crypto';
import type { Exchange, ProbeMoment, RouteProbe } from '../types.ts';

/**
 * The name a route probe is sent to. `.invalid` can never be a real host (RFC 2606), so no app
 * of the phone's ever contacts it, and the capture answers it itself on every route: the proxy
 * has a rule for it, the gateway's DNS gives it an address like any name.
 */
export const PROBE_HOST = 'probe.phonehome.invalid';

/** The capture's answer to a probe: a body the phone's browser or shell can show. */
export const PROBE_ANSWER = 'phonehome: route probe received\n';

/**
 * A probe URL of this run: a fresh nonce per run, and the moment, in the path, so a probe of
 * another run (or of the same run's other moment) can never be taken for this one.
 *
 * @example
 *   probeUrl('3f9c2a61d0e4b7a8', 'routing') // → 'http://probe.phonehome.invalid/3f9c2a61d0e4b7a8/routing'
 */
export function probeUrl(nonce: string, moment: ProbeMoment): string {
  return `http://${PROBE_HOST}/${nonce}/${moment}`;
}

/** A run's probe nonce: 8 random bytes in hex. */
export function probeNonce(): string {
  return randomBytes(8).toString('hex');
}

/** True for traffic to the probe name: it is the route's proof, never the phone's own traffic. */
export function isProbeHost(host: string): boolean {
  return host.toLowerCase() === PROBE_HOST;
}

/** The probe URL an exchange fetched (scheme and host normalised), or undefined if it is none. */
export function probeArrival(
  exchange: Pick<Exchange, 'host' | 'request' | 'dns'>,
): string | undefined {
  if (exchange.dns || !isProbeHost(exchange.host)) return undefined;
  try {
    const url = new URL(exchange.request.url, `http://${PROBE_HOST}`);
    return `http://${PROBE_HOST}${url.pathname}`;
  } catch {
    return undefined;
  }
}

/**
 * The run's probes from its journal: each probe record, with the time the first exchange that
 * fetched its URL started (over plain HTTP, or HTTPS where a farm's browser upgraded it).
 *
 * @example
 *   routeProbes(records, new Map([['http://probe.phonehome.invalid/ab/routing', 1407492002300]]))
 */
export function routeProbes(
  records: (Omit<RouteProbe, 'sentAt' | 'arrivedAt'> & { at: number })[],
  arrivals: Map<string, number>,
): RouteProbe[] {
  return records.map((record) => {
    const arrivedAt = arrivals.get(record.url);
    return {
      moment: record.moment,
      url: record.url,
      how: record.how,
      fix: record.fix,
      sentAt: record.at,
      ...(arrivedAt !== undefined ? { arrivedAt } : {}),
      ...(record.error !== undefined ? { error: record.error } : {}),
    };
  });
}
