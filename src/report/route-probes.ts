import type { RouteProbe, RunResult } from '../types.ts';

const WHEN: Record<RouteProbe['moment'], string> = {
  routing: 'after routing',
  'last-step': 'after the last step',
  'by-hand': 'opened by hand',
};

/**
 * One line per route probe, saying whether the capture got it, how the phone sent it, and the
 * fix when it did not arrive; one line saying the run sent none. The console, run.json, JUnit and
 * report.html show these same lines.
 *
 * @example
 *   probeLines(result)
 *   // → ['route probe after routing: arrived after 14 ms (the virtual phone's browser …; http://probe.phonehome.invalid/…/routing)', …]
 */
export function probeLines(result: Pick<RunResult, 'probes'>): string[] {
  const probes = result.probes;
  if (probes === undefined) return [];
  if (probes.length === 0)
    return ['route probe: none was sent, so the route is not proven to have carried anything'];
  return probes.map((probe) => {
    const head = `route probe ${WHEN[probe.moment]}`;
    const detail = `(${probe.how}; ${probe.url})`;
    if (probe.error !== undefined)
      return `${head}: NOT SENT — ${probe.error} ${detail}; ${probe.fix}`;
    if (probe.arrivedAt === undefined) return `${head}: NEVER ARRIVED ${detail}; ${probe.fix}`;
    return `${head}: arrived after ${Math.max(0, probe.arrivedAt - probe.sentAt)} ms ${detail}`;
  });
}
