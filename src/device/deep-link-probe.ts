import { PhonehomeError, describeError } from '../errors.ts';
import type { DriverSession, ProbeRoute } from './device.ts';

/**
 * A route probe the phone sends by opening the probe URL through Appium's `mobile: deepLink`
 * (a VIEW intent: the phone's browser loads it over the phone's own network, as its apps' traffic
 * goes). UiAutomator2 and the virtual phone both have it, on this host or behind a farm.
 *
 * @example
 *   const probe = deepLinkProbe({ how: 'the browser through the proxy', fix: 'check …', arrives: 'live' });
 *   await probe.send('http://probe.phonehome.invalid/ab12/routing', session);
 */
export function deepLinkProbe(route: Omit<ProbeRoute, 'send'>): ProbeRoute {
  return {
    ...route,
    async send(url: string, session: DriverSession | undefined): Promise<void> {
      if (!session) {
        throw new PhonehomeError(
          'PROBE_UNSENT',
          'the probe is opened through the Appium session, and there is none',
        );
      }
      try {
        await session.execute('mobile: deepLink', { url });
      } catch (error) {
        throw new PhonehomeError(
          'PROBE_UNSENT',
          `the phone could not open ${url} (mobile: deepLink): ${describeError(error)}`,
          { cause: error },
        );
      }
    },
  };
}
