import { expect } from 'chai';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceEntry } from '../../src/config/devices.ts';
import { findDevice, loadDevices } from '../../src/config/devices.ts';
import { PROJECT_ROOT } from '../../src/paths.ts';
import { defineScenario, type ScenarioDefinition } from '../../src/scenario/define.ts';
import { checkScenarioFits } from '../../src/scenario/fit.ts';
import { runScenario } from '../../src/scenario/run.ts';
import { runCli, runNode } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

const config = loadDevices(join(PROJECT_ROOT, 'devices.json'));
const device = (id: string) => findDevice(config, id);
const android: DeviceEntry = {
  id: 'redmi',
  kind: 'android',
  serial: 'R58M12345',
  capabilities: {},
  identifiers: {},
  settle: { quietMs: 0, maxMs: 0 },
  android: { settings: { 'cloud-messaging': { on: [{ key: 'BACK' }] } } },
};
const farm: DeviceEntry = {
  id: 'galaxy',
  kind: 'remote',
  endpoint: 'https://farm.example.test/wd/hub',
  capabilities: { 'appium:automationName': 'UiAutomator2' },
  identifiers: {},
  settle: { quietMs: 0, maxMs: 0 },
};

const scenario = (fields: Partial<ScenarioDefinition>) =>
  defineScenario({
    name: 'needs',
    title: 'a scenario with needs',
    consents: [{ name: 'cloud-messaging' }],
    async steps() {},
    ...fields,
  });

const refusal = (fields: Partial<ScenarioDefinition>, entry: DeviceEntry) => {
  try {
    checkScenarioFits(scenario(fields), entry);
    return 'fits';
  } catch (error) {
    return (error as Error).message.replace(/; choose a device that fits.*$/, '');
  }
};

// A scenario run on a phone it was not written for passes for the wrong reason: nothing it
// switches exists there. It says what it needs, and a device that does not fit is refused.
describe('a scenario says what it needs, and a device that does not fit is refused', function () {
  this.timeout(120_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  const rows: [string, Partial<ScenarioDefinition>, DeviceEntry, string][] = [
    ['no needs', {}, device('virtual-clean'), 'fits'],
    ['its device', { meantFor: { devices: ['virtual-clean'] } }, device('virtual-clean'), 'fits'],
    [
      'another device',
      { meantFor: { devices: ['redmi'] } },
      device('virtual-clean'),
      "scenario 'needs' is meant for the devices 'redmi', not device 'virtual-clean'",
    ],
    ['its kind', { meantFor: { kinds: ['android'] } }, android, 'fits'],
    [
      'another kind',
      { meantFor: { kinds: ['android'] } },
      device('virtual-redmi-1s-optin'),
      "scenario 'needs' is meant for devices of kind 'android', and device 'virtual-redmi-1s-optin' is of kind 'virtual'",
    ],
    [
      'its firmware',
      { meantFor: { firmware: ['redmi-1s-2014'] } },
      device('virtual-redmi-1s-2014'),
      'fits',
    ],
    [
      'another firmware',
      { meantFor: { firmware: ['redmi-1s-2014'] } },
      device('virtual-redmi-1s-optin'),
      "scenario 'needs' is meant for the firmware 'redmi-1s-2014', and device 'virtual-redmi-1s-optin' runs the firmware 'redmi-1s-optin-update'",
    ],
    [
      'a firmware, on a phone on USB',
      { meantFor: { firmware: ['redmi-1s-2014'] } },
      android,
      "scenario 'needs' is meant for the firmware 'redmi-1s-2014', and device 'redmi' (kind android) names no firmware profile",
    ],
    [
      'a setting its firmware has',
      { settings: ['cloud-messaging'] },
      device('virtual-redmi-1s-optin'),
      'fits',
    ],
    [
      'a setting its firmware lacks',
      { settings: ['cloud-messaging'] },
      device('virtual-clean'),
      "scenario 'needs' switches the setting 'cloud-messaging', which device 'virtual-clean' cannot switch (firmware 'clean' has none)",
    ],
    [
      'settings a firmware lacks, naming those it has',
      { settings: ['cloud-messaging', 'personalised-ads'] },
      device('virtual-redmi-1s-2014'),
      "scenario 'needs' switches the setting 'personalised-ads', which device 'virtual-redmi-1s-2014' cannot switch (firmware 'redmi-1s-2014' has 'cloud-messaging')",
    ],
    ['a setting with taps in devices.json', { settings: ['cloud-messaging'] }, android, 'fits'],
    [
      'a setting without taps in devices.json',
      { settings: ['personalised-ads'] },
      android,
      `scenario 'needs' switches the setting 'personalised-ads', which device 'redmi' cannot switch (devices.json "android.settings" has 'cloud-messaging')`,
    ],
    [
      'a setting, on a farm phone',
      { settings: ['cloud-messaging'] },
      farm,
      "scenario 'needs' switches the setting 'cloud-messaging', which device 'galaxy' cannot switch (a farm phone (no setting flows) has none)",
    ],
  ];
  for (const [what, fields, entry, expected] of rows) {
    it(`${expected === 'fits' ? 'runs' : 'refuses'}: ${what}`, () => {
      expect(refusal(fields, entry)).to.equal(expected);
    });
  }

  it('refuses a bad declaration when the scenario is defined, naming the field', () => {
    expect(() => scenario({ settings: [] })).to.throw(/settings must be a non-empty list of names/);
    expect(() => scenario({ meantFor: { kinds: ['ios' as 'android'] } })).to.throw(
      /meantFor\.kinds names 'ios'; kinds: virtual, android, remote/,
    );
  });

  it('`phonehome run` refuses the F-Secure scenario on the clean firmware with exit 2, before any run', async () => {
    const reports = join(dirs.path, 'run-reports');
    const run = await runCli(
      ['run', join('scenarios', 'fsecure-out-of-box.scenario.ts'), '--device', 'virtual-clean'],
      { PHONEHOME_REPORTS_DIR: reports, PHONEHOME_CA_DIR: join(dirs.path, 'ca') },
    );
    expect(run.code, run.stderr).to.equal(2);
    expect(run.stderr).to.include(
      "scenario 'fsecure-out-of-box' switches the setting 'cloud-messaging', which device 'virtual-clean' cannot switch (firmware 'clean' has none); choose a device that fits",
    );
    expect(existsSync(reports) ? readdirSync(reports) : []).to.deep.equal([]);
  });

  it('`npm test -- <scenario>` on the default phone refuses a scenario meant for phones on USB, and fails', async () => {
    const result = await runNode(
      join(PROJECT_ROOT, 'bin', 'test.js'),
      [join('test', 'fixtures', 'scenarios', 'android-only.scenario.ts')],
      {
        PHONEHOME_TEST_SUITE: 'audits',
        PHONEHOME_DEVICE: '',
        PHONEHOME_REPORTS_DIR: join(dirs.path, 'mocha-reports'),
        PHONEHOME_CA_DIR: join(dirs.path, 'ca'),
      },
    );
    expect(result.code, result.stdout).to.not.equal(0);
    expect(result.stdout).to.include(
      "REFUSED: scenario 'android-only' is meant for devices of kind 'android', and device 'virtual-redmi-1s-optin' is of kind 'virtual'",
    );
    expect(existsSync(join(dirs.path, 'mocha-reports'))).to.equal(false);
  });

  it("errors on a setting the virtual phone's firmware lacks, naming it and the firmware's settings", async () => {
    const result = await runScenario({
      scenario: scenario({
        async steps(phone) {
          await phone.step('personalised ads on', () => phone.setSetting('personalised-ads', true));
        },
      }),
      entry: device('virtual-redmi-1s-2014'),
      reportsDir: join(dirs.path, 'reports'),
      caDir: join(dirs.path, 'ca'),
    });
    expect(result.status).to.equal('error');
    expect(result.error).to.include(
      "the firmware 'redmi-1s-2014' has no setting 'personalised-ads'; its settings: cloud-messaging",
    );
  });

  it('errors on a setting the scenario did not declare, before the phone is touched', async () => {
    const result = await runScenario({
      scenario: scenario({
        settings: ['cloud-messaging'],
        async steps(phone) {
          await phone.step('diagnostics on', () => phone.setSetting('diagnostics', true));
        },
      }),
      entry: device('virtual-redmi-1s-2014'),
      reportsDir: join(dirs.path, 'reports'),
      caDir: join(dirs.path, 'ca'),
    });
    expect(result.error).to.include(
      "setting 'diagnostics' is not in the scenario's settings (cloud-messaging); add it there",
    );
  });
});
