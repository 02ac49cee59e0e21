import { expect } from 'chai';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findDevice, loadDevices, type DeviceEntry } from '../../src/config/devices.ts';
import { defineScenario } from '../../src/index.ts';
import { PROJECT_ROOT } from '../../src/paths.ts';
import { runScenario } from '../../src/scenario/run.ts';
import { tempDir } from '../support/temp.ts';

const SHIPPED = join(PROJECT_ROOT, 'drivers', 'virtual-phone', 'firmware', 'location-tracker.json');

// A location consent, exercised on the virtual phone: the shipped location-tracker profile's ad
// SDK sends each fix whatever the setting says; its weather service waits for the setting.
const scenario = defineScenario({
  name: 'location-consent',
  title: 'No location before the weather service is allowed it',
  consents: [{ name: 'weather-location', covers: ['location'] }],
  async steps(phone) {
    await phone.step('join Wi-Fi', () => phone.setWifi(true));
    await phone.step('allow location', () => phone.allowLocation());
    const here = phone.canary.location(48.85661, 2.35222);
    await phone.step('a first fix', () => phone.setLocation(here.latitude, here.longitude));
    await phone.consent('weather-location', () => phone.setSetting('weather-location', true));
    const there = phone.canary.location(45.764, 4.8357);
    await phone.step('a second fix', () => phone.setLocation(there.latitude, there.longitude));
  },
});

describe('the virtual phone with a firmware profile of its user', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  after(() => dirs.remove());
  const clean = findDevice(loadDevices(join(PROJECT_ROOT, 'devices.json')), 'virtual-clean');
  const withFirmware = (capabilities: Record<string, unknown>): DeviceEntry => {
    const rest = { ...clean.capabilities };
    delete rest['appium:firmware'];
    return { ...clean, id: 'virtual-own-firmware', capabilities: { ...rest, ...capabilities } };
  };
  const run = (entry: DeviceEntry) =>
    runScenario({
      scenario,
      entry,
      reportsDir: join(dirs.path, 'reports'),
      caDir: join(dirs.path, 'ca'),
    });

  for (const [how, capabilities] of [
    ['the shipped location-tracker profile', { 'appium:firmware': 'location-tracker' }],
    [
      'the same profile as a file of its own',
      { 'appium:firmwareFile': join('own', 'tracker.json') },
    ],
  ] as const) {
    it(`fails a location consent on ${how}: the ad SDK sent the fix before it`, async () => {
      const own = join(dirs.path, 'own');
      mkdirSync(own, { recursive: true });
      copyFileSync(SHIPPED, join(own, 'tracker.json'));
      const cwd = process.cwd();
      process.chdir(dirs.path); // a relative firmwareFile is relative to the working directory
      let result;
      try {
        result = await run(withFirmware(capabilities));
      } finally {
        process.chdir(cwd);
      }
      const consent = result.verdicts.find((v) => v.rule === 'consent')!;
      expect(consent.status, consent.message).to.equal('fail');
      const located = result.findings.filter((f) => f.kind === 'location');
      expect(located.map((f) => [f.host, f.step, f.beforeConsent])).to.deep.include.members([
        ['ads.tracker.example.test', 'a first fix', true],
        ['ads.tracker.example.test', 'a second fix', false],
        ['weather.example.test', 'a second fix', false],
      ]);
      expect(located.some((f) => f.host === 'weather.example.test' && f.beforeConsent)).to.equal(
        false,
      );
    });
  }

  it('names the file and the field when the profile is wrong, and runs nothing', async () => {
    const bad = join(dirs.path, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ name: 'bad', description: '', requests: [{ on: 'boot', method: 'GET' }] }),
    );
    const error = await run(withFirmware({ 'appium:firmwareFile': bad })).then(
      (result) => new Error(`ran: ${result.status} ${result.error ?? ''}`),
      (thrown: unknown) => thrown as Error,
    );
    expect(error.message).to.include(`${bad}: requests[0].url must be a non-empty string`);
  });
});
