import { request } from 'node:http';
import { join } from 'node:path';
import type { DeviceEntry } from '../../src/config/devices.ts';
import type { PhoneActions } from '../../src/device/device.ts';
import { CanaryMaker } from '../../src/scenario/canary.ts';
import { ScenarioPhone } from '../../src/scenario/phone.ts';
import { RunSession } from '../../src/session/run-session.ts';
import type { ConsentDeclaration, Mark, RunResult } from '../../src/types.ts';

/** What a test's steps get: the scenario's phone, and a way to send as an app on the phone would. */
export interface ScenarioSessionContext {
  phone: ScenarioPhone;
  /** A plain HTTP POST through the run's proxy (an absolute URL, as to a system proxy). */
  post: (url: string, body: string) => Promise<number>;
}

/**
 * A scenario's steps on a device's user actions, through the real run session: run folder and
 * journal, the mockttp proxy, the scenario phone's marks and planted values, then the verdicts
 * and every report file. For devices no Appium session can drive here (the android kind over the
 * fake adb): the actions are given, and the phone's traffic is what `post` sends.
 *
 * @example
 *   const result = await scenarioSession({ folder, entry, actions, steps: async ({ phone, post }) => { … } });
 */
export async function scenarioSession(options: {
  folder: string;
  entry: DeviceEntry;
  actions: PhoneActions;
  consents?: ConsentDeclaration[];
  steps: (context: ScenarioSessionContext) => Promise<void>;
}): Promise<RunResult> {
  const consents = options.consents ?? [{ name: 'cloud-messaging', covers: 'all' }];
  const run = await RunSession.open({
    reportsDir: join(options.folder, 'reports'),
    caDir: join(options.folder, 'ca'),
    start: {
      scenario: 'test-steps',
      scenarioTitle: 'steps under test',
      device: { id: options.entry.id, kind: options.entry.kind },
      identifiers: options.entry.identifiers,
      consents,
      forbiddenHosts: [],
    },
    capture: { answers: { hosts: {}, otherwise: 'not-found' }, log: () => {} },
    log: () => {},
    exitOnSignal: false,
  });
  let error: unknown;
  try {
    await run.start();
    const boot: Mark = { type: 'step', name: 'boot', at: Date.now() };
    run.mark(boot);
    const phone = new ScenarioPhone({
      driver: {} as WebdriverIO.Browser,
      waitFor: async () => {},
      actions: options.actions,
      consents,
      canary: new CanaryMaker(),
      mark: (mark) => run.mark(mark),
      plant: (values) => run.identifiers('planted', values),
      settle: async () => {},
      currentStep: boot,
    });
    await options.steps({ phone, post: (url, body) => postThrough(run.capture.port, url, body) });
  } catch (caught) {
    error = caught;
  } finally {
    await run.close(error);
  }
  if (error) throw error;
  return (await run.finish()).result;
}

function postThrough(proxyPort: number, url: string, body: string): Promise<number> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: proxyPort,
        method: 'POST',
        path: url,
        headers: { host: target.host, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
