import { chooseDevice, loadDevices, type DeviceEntry } from '../config/devices.ts';
import { formatOutcome } from '../report/console-summary.ts';
import type { RunResult } from '../types.ts';
import { plannedVerdicts } from '../verdict/judge.ts';
import { onScenarioDefined } from './define.ts';
import { checkScenarioFits } from './fit.ts';
import { scenarioFileName } from './load.ts';
import { runScenario } from './run.ts';

/**
 * Under mocha (`npm test`), each scenario becomes a suite on the chosen device
 * (--device is not a mocha flag: PHONEHOME_DEVICE or devices.json's "default" chooses): a
 * `before` hook runs the scenario once, then every verdict of the run is a test — "runs to the
 * end", one per consent, the forbidden hosts, each check — named as in JUnit and the reports, and
 * failing exactly when the verdict is not a pass.
 */
onScenarioDefined((scenario) => {
  if (typeof globalThis.describe !== 'function') return;
  // The harness's own tests (bin/test.js runs them apart) import scenarios as modules: an audit
  // suite is registered only where audits run.
  if (process.env.PHONEHOME_TEST_SUITE === 'harness') return;
  let entry: DeviceEntry | undefined;
  let configError: unknown;
  try {
    entry = chooseDevice(loadDevices());
  } catch (error) {
    configError = error;
  }
  describe(`${scenario.name} on ${entry?.id ?? '(no device)'}`, function () {
    // A real phone takes minutes for a long scenario; the virtual one a second.
    this.timeout(30 * 60 * 1000);
    let result: RunResult | undefined;

    before(async function () {
      if (!entry) throw configError;
      try {
        checkScenarioFits(scenario, entry);
      } catch (error) {
        // Refused, not failed: the reason alone, without a stack to wade through.
        const refusal = new Error(`REFUSED: ${(error as Error).message}`);
        refusal.stack = refusal.message;
        throw refusal;
      }
      const file = this.test?.parent?.file;
      result = await runScenario({
        scenario: file ? { ...scenario, file: scenarioFileName(file) } : scenario,
        entry,
      });
      for (const line of formatOutcome(result, { reveal: false }).split('\n'))
        console.log(`    ${line}`);
    });

    const planned = plannedVerdicts({
      consents: scenario.consents,
      forbiddenHosts: scenario.forbiddenHosts ?? [],
      checks: Object.keys(scenario.checks),
    });
    for (const { name } of planned) {
      it(name, function () {
        if (!result) throw new Error('the scenario did not run');
        const verdict = result.verdicts.find((v) => v.name === name);
        if (!verdict) throw new Error(`the run has no verdict '${name}'`);
        if (verdict.status === 'pass') return;
        // The verdict's own words (which identifier, host and step), without a stack to wade through.
        const failure = new Error(`${verdict.status.toUpperCase()}: ${verdict.message}`);
        failure.stack = failure.message;
        throw failure;
      });
    }
  });
});
