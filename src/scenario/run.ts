import { remote } from 'webdriverio';
import { acquireAppium } from '../appium/server.ts';
import type { DeviceEntry } from '../config/devices.ts';
import { readEnvironment } from '../config/env.ts';
import type { Device, DriverSession } from '../device/device.ts';
import { createDevice } from '../device/registry.ts';
import { PhonehomeError, describeError } from '../errors.ts';
import { RunSession } from '../session/run-session.ts';
import { BOOT_STEP } from '../timeline/timeline.ts';
import type { IdentifierValues, Mark, OpaqueException, RunResult } from '../types.ts';
import { CanaryMaker } from './canary.ts';
import type { Scenario } from './define.ts';
import { checkScenarioFits } from './fit.ts';
import { ScenarioPhone } from './phone.ts';

export interface RunOptions {
  scenario: Scenario;
  entry: DeviceEntry;
  /** Progress lines for people (steps, counts). */
  log?: (line: string) => void;
  reportsDir?: string;
  caDir?: string;
}

/**
 * Runs one scenario on one device, the whole pipeline: run folder and journal, proxy, routing,
 * Appium session, the steps with their marks, then detection and verdicts from the journal.
 * Whatever was changed on the phone is restored — at the end, on error, and on Ctrl-C — and what
 * was captured is kept and judged even when a step fails (the run's "runs to the end" verdict is
 * then an error).
 *
 * @example
 *   const result = await runScenario({ scenario, entry: findDevice(loadDevices(), 'virtual-redmi-1s-2014') });
 *   result.status // → 'fail'
 */
export async function runScenario(options: RunOptions): Promise<RunResult> {
  const { scenario, entry } = options;
  checkScenarioFits(scenario, entry);
  const env = readEnvironment();
  const log = options.log ?? (() => {});
  const device = createDevice(entry);
  const run = await RunSession.open({
    reportsDir: options.reportsDir ?? env.reportsDir,
    caDir: options.caDir ?? env.caDir,
    start: {
      scenario: scenario.name,
      scenarioTitle: scenario.title,
      ...(scenario.file ? { scenarioFile: scenario.file } : {}),
      device: {
        id: entry.id,
        kind: entry.kind,
        ...(device.firmware ? { firmware: device.firmware } : {}),
      },
      identifiers: entry.identifiers,
      consents: scenario.consents,
      forbiddenHosts: scenario.forbiddenHosts ?? [],
      ...opaqueExceptionsOf(entry, scenario),
    },
    device,
    capture: {
      answers: { hosts: scenario.answers ?? {}, otherwise: 'not-found' },
      tlsPassthroughHosts: entry.android?.tlsPassthroughHosts,
      log: (line) => log(`proxy: ${line}`),
    },
    log,
  });
  let runError: unknown;
  try {
    const context = await run.start();
    const appium =
      device.appium.kind === 'embedded'
        ? await acquireAppium({
            allowInsecure: device.appium.allowInsecure,
            useDrivers: device.appium.useDrivers,
          })
        : undefined;
    if (appium) run.defer('stop Appium', () => appium.release());
    const appiumUrl = device.appium.kind === 'remote' ? device.appium.url : appium!.server.url;
    // The phone's own traffic before the first step (the virtual phone's boot requests) is the
    // `boot` step's, never the first scenario step's.
    const boot: Mark = { type: 'step', name: BOOT_STEP, at: Date.now() };
    run.mark(boot);
    let session: WebdriverIO.Browser | undefined = await openSession(
      appiumUrl,
      device.capabilities(context),
      entry.id,
    );
    run.defer('end the Appium session', () => session?.deleteSession());
    const driver: DriverSession = session;
    const settle = () => run.capture.waitQuiet(entry.settle.quietMs, entry.settle.maxMs);
    await settle();
    // The route is proven to carry the phone's traffic before any step counts on it…
    await run.probe('routing', driver);
    run.identifiers('device', await readIdentifiers(device, driver, log));

    const canary = new CanaryMaker();
    const phone = new ScenarioPhone({
      driver: session,
      waitFor: (wanted) => run.capture.waitForExchange(wanted),
      actions: device.actions(driver),
      consents: scenario.consents,
      ...(scenario.settings ? { settings: scenario.settings } : {}),
      canary,
      mark: (mark) => {
        run.mark(mark);
        if (mark.skipped) log(`    skipped: ${mark.skipped}`);
      },
      currentStep: boot,
      plant: (values) => run.identifiers('planted', values),
      settle,
      onStep: (name, consent) => {
        // Canaries are journalled before the step that uses them, so a kill mid-step keeps them.
        flushCanaries(canary, run);
        const counts = run.capture.counters;
        log(`  ${consent ? 'consent' : 'step'}: ${name}  (${counts.exchanges} exchanges so far)`);
      },
    });
    try {
      await scenario.steps(phone);
    } finally {
      flushCanaries(canary, run);
      await settle();
      // …and again once the steps are done: a route that died on the way proves nothing.
      await run.probe('last-step', driver);
    }
    if (device.afterSession) {
      // The farm finalises its network log when the session ends.
      const sessionId = session.sessionId;
      await session.deleteSession();
      session = undefined;
      await device.afterSession({
        sessionId,
        runFolder: run.folder.path,
        addExchange: (exchange) => run.journal.append({ type: 'exchange', exchange }),
        log,
      });
    }
  } catch (error) {
    runError = error;
    log(`  stopped: ${describeError(error)}`);
  } finally {
    await run.close(runError);
  }
  return (await run.finish(scenario.checks)).result;
}

function flushCanaries(canary: CanaryMaker, run: RunSession): void {
  const planted = canary.planted.splice(0);
  const values: IdentifierValues = {};
  for (const { kind, value } of planted) (values[kind] ??= []).push(value);
  run.identifiers('canary', values);
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

/** The device's declared opaque exceptions, then the scenario's: kept in the journal's run-start. */
function opaqueExceptionsOf(
  entry: DeviceEntry,
  scenario: Scenario,
): { opaqueExceptions?: OpaqueException[] } {
  const all = [...(entry.opaqueExceptions ?? []), ...(scenario.opaqueExceptions ?? [])];
  return all.length > 0 ? { opaqueExceptions: all } : {};
}
