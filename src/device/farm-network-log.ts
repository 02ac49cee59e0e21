import { writeFileSync } from 'node:fs';
import { PhonehomeError } from '../errors.ts';

/** Where and how to fetch a farm session's network log (HAR). */
export interface FarmLogSource {
  farm: 'browserstack' | 'lambdatest';
  /** The REST API base URL; the farm's public one by default (tests point it at a local stub). */
  api?: string;
  user: string;
  key: string;
}

const DEFAULT_API: Record<FarmLogSource['farm'], string> = {
  browserstack: 'https://api-cloud.browserstack.com',
  lambdatest: 'https://mobile-api.lambdatest.com',
};

/**
 * Downloads the HAR a farm recorded for one Appium session and writes it to `file`, through the
 * farm's documented REST API (basic auth):
 * - BrowserStack App Automate: `GET /app-automate/sessions/<id>.json` names the build (in its
 *   `browser_url`), then `GET /app-automate/builds/<build>/sessions/<id>/networklogs`. The session
 *   needs the capability `browserstack.networkLogs: true` (`bstack:options.networkLogs`).
 * - LambdaTest app automation: `GET /mobile-automation/api/v1/sessions/<id>/log/network`, with the
 *   capability `lt:options.network: true`.
 * These endpoints are from the farms' documentation; they were tested here only against a local
 * stub of each API (test/device/farm-network-log.test.ts), not against the live farms.
 *
 * @example
 *   await downloadNetworkLog({ farm: 'browserstack', user, key }, session.sessionId, 'reports/run/farm.har');
 */
export async function downloadNetworkLog(
  source: FarmLogSource,
  sessionId: string,
  file: string,
): Promise<void> {
  const base = (source.api ?? DEFAULT_API[source.farm]).replace(/\/$/, '');
  const auth = `Basic ${Buffer.from(`${source.user}:${source.key}`).toString('base64')}`;
  const get = async (path: string): Promise<string> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        headers: { authorization: auth, accept: 'application/json' },
      });
    } catch (error) {
      throw new PhonehomeError(
        'FARM_UNREACHABLE',
        `cannot reach ${source.farm}'s API at ${base}: ${(error as Error).message}; check the network and traffic.har.api`,
        { cause: error },
      );
    }
    const text = await response.text();
    if (response.status === 401 || response.status === 403) {
      throw new PhonehomeError(
        'FARM_AUTH',
        `${source.farm} refused the credentials (HTTP ${response.status}); check traffic.har.user and traffic.har.key in devices.json and the variables they name`,
      );
    }
    if (!response.ok) {
      throw new PhonehomeError(
        'FARM_NETWORK_LOG',
        `${source.farm} answered HTTP ${response.status} for ${path}; was the network log enabled for this session (${source.farm === 'browserstack' ? 'browserstack.networkLogs' : 'lt:options.network'})?`,
      );
    }
    return text;
  };

  let har: string;
  if (source.farm === 'browserstack') {
    const details = JSON.parse(
      await get(`/app-automate/sessions/${encodeURIComponent(sessionId)}.json`),
    ) as {
      automation_session?: { browser_url?: string; build_hashed_id?: string };
    };
    const session = details.automation_session ?? {};
    const build =
      session.build_hashed_id ??
      /\/builds\/([^/]+)\/sessions\//.exec(session.browser_url ?? '')?.[1];
    if (!build) {
      throw new PhonehomeError(
        'FARM_NETWORK_LOG',
        `BrowserStack's session details for ${sessionId} name no build`,
      );
    }
    har = await get(
      `/app-automate/builds/${encodeURIComponent(build)}/sessions/${encodeURIComponent(sessionId)}/networklogs`,
    );
  } else {
    har = await get(
      `/mobile-automation/api/v1/sessions/${encodeURIComponent(sessionId)}/log/network`,
    );
  }
  writeFileSync(file, har, { mode: 0o600 });
}
