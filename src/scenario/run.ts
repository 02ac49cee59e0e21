import { remote } from 'webdriverio';
import { acquireAppium } from '../appium/server.ts';
import { loadOrCreateCa } from '../capture/ca.ts';
import { CaptureSession } from '../capture/session.ts';
import type { DeviceEntry } from '../config/devices.ts';
import { readEnvironment } from '../config/env.ts';
import type { Device, DriverSession, RouteContext } from '../device/device.ts';
import { createDevice } from '../device/registry.ts';
import { PhonehomeError, describeError } from '../errors.ts';
import { openRun } from '../journal/open-run.ts';
import type { JournalWriter } from '../journal/writer.ts';
import { writeRunReports } from '../report/write-run-reports.ts';
import { onShutdown } from '../shutdown.ts';
import type { IdentifierValues, Mark, Verdict } from '../types.ts';
import { analyseJournal } from '../verdict/analyse.ts';
import { evaluateChecks } from '../verdict/chai.ts';
import { CanaryMaker } from './canary.ts';
import type { Scenario } from './define.ts';
import { ScenarioPhone } from './phone.ts';
import type { RunResult } from './result.ts';

export interface RunOptions {
  scenario: Scenario;
  entry: DeviceEntry;
  /** Progress lines for people (steps, counts). */
  log?: (line: string) => void;
  reportsDir?: string;
  caDir?: string;
}

export interface ScenarioOutcome {
  result: RunResult;
  /** The scenario's own checks, evaluated on the result. */
  checks: Verdict[];
}

/**
 * Runs one scenario on one device, the whole pipeline: run folder and journal, proxy, routing,
 * Appium session, the steps with their marks, then detection and verdicts from the journal.
 * Whatever was changed on the phone is restored — at the end, on error, and on Ctrl-C — and what
 * was captured is kept and judged even when a step fails.
 *
 * @example
 *   const { result, checks } = await runScenario({ scenario, entry: findDevice(loadDevices(), 'virtual-redmi-1s-2014') });
 */
export async function runScenario(options: RunOptions): Promise<ScenarioOutcome> {
  const { scenario, entry } = options;
  const env = readEnvironment();
  const log = options.log ?? (() => {});
  const device = createDevice(entry);
  const { folder, journal, versions } = openRun(options.reportsDir ?? env.reportsDir, {
    scenario: scenario.name,
    scenarioTitle: scenario.title,
    device: {
      id: entry.id,
      kind: entry.kind,
      ...(device.firmware ? { firmware: device.firmware } : {}),
    },
    identifiers: entry.identifiers,
    consents: scenario.consents,
    forbiddenHosts: scenario.forbiddenHosts ?? [],
  });
  const mark = (m: Mark) => journal.append({ type: 'mark', mark: m });
  let capture: CaptureSession | undefined;
  let appium: Awaited<ReturnType<typeof acquireAppium>> | undefined;
  let session: WebdriverIO.Browser | undefined;
  let runError: unknown;

  const teardown = async () => {
    // Order matters: the phone first (it must never be left without internet), then the rest.
    await safely('restore the phone', () => device.restore(), log);
    await safely('end the Appium session', () => session?.deleteSession(), log);
    await safely('stop Appium', () => appium?.release(), log);
    await safely('stop the proxy', () => capture?.stop(), log);
  };
  const unregister = onShutdown(`run ${folder.id}`, async () => {
    await teardown();
    journal.append({ type: 'run-end', at: Date.now(), error: 'interrupted (SIGINT/SIGTERM)' });
    journal.close();
    console.error(`phonehome: what was captured is in ${folder.path}/journal.ndjson`);
  });

  try {
    const ca = await loadOrCreateCa(options.caDir ?? env.caDir);
    capture = await CaptureSession.start({
      ca,
      journal,
      answers: { hosts: scenario.answers ?? {}, otherwise: 'not-found' },
      tlsPassthroughHosts: entry.android?.tlsPassthroughHosts,
      log: (line) => log(`proxy: ${line}`),
    });
    const context: RouteContext = {
      proxyPort: capture.port,
      proxyUrl: capture.proxyUrl,
      ca,
      runFolder: folder.path,
      log,
    };
    await device.route(context);
    for (const text of device.notes ?? []) {
      journal.append({ type: 'note', at: Date.now(), text });
      log(`  note: ${text}`);
    }
    appium =
      device.appium.kind === 'embedded'
        ? await acquireAppium({
            allowInsecure: device.appium.allowInsecure,
            useDrivers: device.appium.useDrivers,
          })
        : undefined;
    const appiumUrl = device.appium.kind === 'remote' ? device.appium.url : appium!.server.url;
    mark({ type: 'step', name: 'power on', at: Date.now() });
    session = await openSession(appiumUrl, device.capabilities(context), entry.id);
    const driver: DriverSession = session;
    const settle = () => capture!.waitQuiet(entry.settle.quietMs, entry.settle.maxMs);
    await settle();
    const read = await readIdentifiers(device, driver, log);
    if (Object.keys(read).length > 0)
      journal.append({ type: 'identifiers', source: 'device', values: read });

    const canary = new CanaryMaker();
    const phone = new ScenarioPhone({
      actions: device.actions(driver),
      consents: scenario.consents,
      canary,
      mark,
      settle,
      onStep: (name, consent) => {
        // Canaries are journalled before the step that uses them, so a kill mid-step keeps them.
        flushCanaries(canary, journal);
        const counts = capture!.counters;
        log(`  ${consent ? 'consent' : 'step'}: ${name}  (${counts.exchanges} exchanges so far)`);
      },
    });
    try {
      await scenario.steps(phone);
    } finally {
      flushCanaries(canary, journal);
      await settle();
    }
    if (device.afterSession) {
      // The farm finalises its network log when the session ends.
      const sessionId = session.sessionId;
      await session.deleteSession();
      session = undefined;
      await device.afterSession({
        sessionId,
        runFolder: folder.path,
        addExchange: (exchange) => journal.append({ type: 'exchange', exchange }),
        log,
      });
    }
  } catch (error) {
    runError = error;
    log(`  stopped: ${describeError(error)}`);
  } finally {
    await teardown();
    unregister();
    journal.append({
      type: 'run-end',
      at: Date.now(),
      ...(runError ? { error: describeError(runError) } : {}),
    });
    journal.close();
  }

  const { result, identifiers } = await analyseJournal(journal.path);
  const checks = evaluateChecks(scenario.checks, result);
  if (runError) {
    checks.unshift({
      name: 'the scenario ran to the end',
      status: 'fail',
      message: `the run stopped early: ${describeError(runError)} (what was captured until then is judged)`,
    });
  }
  await writeRunReports({ result, identifiers, versions, checks });
  return { result, checks };
}

function flushCanaries(canary: CanaryMaker, journal: JournalWriter): void {
  const planted = canary.planted.splice(0);
  if (planted.length === 0) return;
  const values: IdentifierValues = {};
  for (const { kind, value } of planted) (values[kind] ??= []).push(value);
  journal.append({ type: 'identifiers', source: 'canary', values });
}

async function readIdentifiers(
  device: Device,
  session: DriverSession,
  log: (line: string) => void,
): Promise<IdentifierValues> {
  try {
    return await device.readIdentifiers(session);
  } catch (error) {
    // Reading is a help, not a need: devices.json's identifiers are still searched for.
    log(`  could not read identifiers from the phone: ${describeError(error)}`);
    return {};
  }
}

/** Opens the WebDriver session, turning low-level network errors into what to do next. */
async function openSession(
  url: string,
  capabilities: Record<string, unknown>,
  deviceId: string,
): Promise<WebdriverIO.Browser> {
  const endpoint = new URL(url);
  try {
    return await remote({
      protocol: endpoint.protocol.replace(':', ''),
      hostname: endpoint.hostname,
      port: Number(endpoint.port || (endpoint.protocol === 'https:' ? 443 : 80)),
      path: endpoint.pathname === '' ? '/' : endpoint.pathname,
      ...(endpoint.username
        ? {
            user: decodeURIComponent(endpoint.username),
            key: decodeURIComponent(endpoint.password),
          }
        : {}),
      logLevel: 'silent',
      connectionRetryCount: 0,
      capabilities: capabilities as WebdriverIO.Capabilities,
    });
  } catch (error) {
    const message = describeError(error);
    const shown = `${endpoint.protocol}//${endpoint.host}${endpoint.pathname}`;
    if (/fetch failed|ECONNREFUSED|ENOTFOUND/i.test(message)) {
      throw new PhonehomeError(
        'APPIUM_UNREACHABLE',
        `cannot reach the Appium server at ${shown} for device '${deviceId}'; check the endpoint in devices.json and that the server runs`,
        { cause: error },
      );
    }
    throw new PhonehomeError(
      'SESSION_NOT_CREATED',
      `Appium could not open a session on '${deviceId}': ${message}`,
      {
        cause: error,
      },
    );
  }
}

async function safely(
  what: string,
  work: () => unknown,
  log: (line: string) => void,
): Promise<void> {
  try {
    await work();
  } catch (error) {
    // Teardown goes on: one failure must not leave the phone routed or the proxy open.
    log(`  could not ${what}: ${describeError(error)}`);
  }
}
