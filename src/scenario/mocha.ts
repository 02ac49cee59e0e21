import { chooseDevice, loadDevices, type DeviceEntry } from '../config/devices.ts';
import { describeError } from '../errors.ts';
import { formatOutcome } from '../report/console-summary.ts';
import { onScenarioDefined } from './define.ts';
import { runScenario, type ScenarioOutcome } from './run.ts';

/**
 * Under mocha (`npm test`), each scenario becomes a suite on the chosen device
 * (--device is not a mocha flag: PHONEHOME_DEVICE or devices.json's "default" chooses): a
 * `before` hook runs the scenario once, then each named check is a test over the result.
 */
onScenarioDefined((scenario) => {
  if (typeof globalThis.describe !== 'function') return;
  let entry: DeviceEntry | undefined;
  let configError: unknown;
  try {
    entry = chooseDevice(loadDevices());
  } catch (error) {
    configError = error;
  }
  describe(`${scenario.name} on ${entry?.id ?? '(no device)'}: ${scenario.title}`, function () {
    // A real phone takes minutes for a long scenario; the virtual one a second.
    this.timeout(30 * 60 * 1000);
    let outcome: ScenarioOutcome | undefined;

    before(async function () {
      if (!entry) throw configError;
      outcome = await runScenario({ scenario, entry });
      for (const line of formatOutcome(outcome, { reveal: false }).split('\n'))
        console.log(`    ${line}`);
    });

    it('runs to the end', function () {
      // A run that stopped early (an error, a lost phone) writes why into its journal's end.
      if (outcome?.result.error) throw new Error(outcome.result.error);
    });

    for (const [name, check] of Object.entries(scenario.checks)) {
      it(name, function () {
        if (!outcome) throw new Error('the scenario did not run');
        try {
          check(outcome.result);
        } catch (error) {
          // Keep chai's message (it says which identifier, host and step); drop the stack noise.
          const failure = new Error(describeError(error));
          failure.stack = failure.message;
          throw failure;
        }
      });
    }
  });
});
