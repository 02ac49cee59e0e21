import type { Coverage, RunResult, VerdictStatus } from './types.ts';

export type { Coverage } from './types.ts';

/**
 * The phone's system proxy (an Android global proxy with `adb reverse`, a phone's Wi-Fi proxy
 * setting, the virtual phone's proxy setting): only traffic that honours it arrives.
 */
export const PROXY_COVERAGE: Coverage = {
  route: 'proxy',
  sees: 'HTTP(S) and WebSockets from apps and services that use the system proxy',
  blind: [
    'apps and system services that ignore the system proxy (their own network stack, native code, Flutter, NO_PROXY)',
    'TCP protocols other than HTTP, UDP and QUIC, and DNS lookups',
  ],
  qualifier: 'proxy-aware traffic only',
};

/**
 * The gateway route (src/capture/gateway): the host is the phone's network, so every TCP
 * connection and DNS query the phone makes arrives, whatever app or daemon made it.
 */
export const GATEWAY_COVERAGE: Coverage = {
  route: 'gateway',
  sees: 'every TCP connection (HTTP(S), WebSockets, other protocols byte for byte) and every DNS query from the phone; UDP recorded by destination and size',
  blind: [],
  limits: [
    'UDP/443 (QUIC) rejected so apps fall back to TCP; other UDP is recorded unreadable and dropped',
    "IPv6 on the phone's interface is dropped, so the phone uses IPv4",
  ],
};

/** A journal written before runs recorded their coverage. */
export const UNKNOWN_COVERAGE: Coverage = {
  route: 'unknown',
  sees: 'not recorded: this journal predates coverage records',
  blind: ['everything the route did not hand over, which this journal does not say'],
  qualifier: 'coverage not recorded',
};

/**
 * A run's status as its one word, with the coverage's qualifier on a PASS that could not see
 * everything. The console, report.html, the merged summary and JUnit all use this.
 *
 * @example
 *   statusWord('pass', PROXY_COVERAGE) // → 'PASS (proxy-aware traffic only)'
 *   statusWord('fail', PROXY_COVERAGE) // → 'FAIL'
 */
export function statusWord(status: VerdictStatus, coverage: Coverage | undefined): string {
  const qualifier = statusQualifier(status, coverage);
  return qualifier ? `${status.toUpperCase()} (${qualifier})` : status.toUpperCase();
}

/** What a status word is qualified with: only a PASS, on a route blind to something. */
export function statusQualifier(
  status: VerdictStatus,
  coverage: Coverage | undefined,
): string | undefined {
  if (status !== 'pass') return undefined;
  const seen = coverage ?? UNKNOWN_COVERAGE;
  return seen.blind.length > 0 ? seen.qualifier : undefined;
}

/**
 * An unreadable connection's cause is TLS the proxy could not open, not another protocol or UDP
 * (older journals name TLS causes without the `tls-` prefix).
 */
export function isTlsFailure(cause: string): boolean {
  return cause !== 'not-http' && !cause.startsWith('bad-http:') && !isUdpFlow(cause);
}

/** A UDP flow the gateway counted (it can never be read). */
export function isUdpFlow(cause: string): boolean {
  return cause === 'udp' || cause === 'udp-quic';
}

/**
 * One line saying what the capture saw and did not, with the run's own counts of what it could
 * not read or scan.
 *
 * @example
 *   coverageLine(result) // → 'route proxy: HTTP(S) and WebSockets from apps … ; not seen: apps … ; 2 TLS connections unreadable'
 */
export function coverageLine(
  result: Pick<RunResult, 'coverage' | 'unreadable' | 'unscanned' | 'lookups'>,
): string {
  const coverage = result.coverage ?? UNKNOWN_COVERAGE;
  const parts = [`route ${coverage.route}: ${coverage.sees}`];
  if (coverage.blind.length > 0) parts.push(`not seen: ${coverage.blind.join('; ')}`);
  for (const limit of coverage.limits ?? []) parts.push(limit);
  const tls = result.unreadable.filter((failure) => isTlsFailure(failure.cause)).length;
  const udp = result.unreadable.filter((failure) => isUdpFlow(failure.cause)).length;
  const other = result.unreadable.length - tls - udp;
  if (tls > 0) parts.push(`${tls} TLS connection${tls === 1 ? '' : 's'} unreadable`);
  if (other > 0)
    parts.push(`${other} connection${other === 1 ? '' : 's'} neither HTTP nor TLS, unreadable`);
  if (udp > 0) parts.push(`${udp} UDP flow${udp === 1 ? '' : 's'} unreadable`);
  const lookups = result.lookups ?? 0;
  if (lookups > 0) parts.push(`${lookups} DNS lookup${lookups === 1 ? '' : 's'}`);
  const unscanned = result.unscanned.length;
  if (unscanned > 0) parts.push(`${unscanned} part${unscanned === 1 ? '' : 's'} not scanned`);
  return parts.join('; ');
}
