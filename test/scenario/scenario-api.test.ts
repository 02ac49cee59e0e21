import { expect } from 'chai';
import { join } from 'node:path';
import { findDevice, loadDevices } from '../../src/config/devices.ts';
import { defineScenario } from '../../src/index.ts';
import { runScenario } from '../../src/scenario/run.ts';
import { tempDir } from '../support/temp.ts';

// What a scenario author reaches for beyond the user actions: the WebdriverIO session itself,
// and waiting for traffic an action causes. On the virtual phone, through the real pipeline.
describe('the scenario API: phone.driver and phone.waitForTraffic', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  after(() => dirs.remove());
  const config = loadDevices(join(import.meta.dirname, '..', '..', 'devices.json'));

  it('drives the phone through its WebdriverIO session and waits for the traffic it causes', async () => {
    const waited: string[] = [];
    const scenario = defineScenario({
      name: 'driver-and-wait',
      title: 'the SIM inserted through the driver',
      consents: [{ name: 'cloud-messaging' }],
      answers: { 'api.account.xiaomi.com': { status: 200, json: { code: 0 } } },
      async steps(phone) {
        await phone.step('insert the SIM through the driver', async () => {
          await phone.driver.execute('mobile: insertSim', {});
        });
        // Landed already (during the step's settle): it counts.
        await phone.waitForTraffic({ host: 'xiaomi.com', timeoutMs: 5000 });
        waited.push('xiaomi.com');
        await phone.step('wait for a host the phone never calls');
        await phone.waitForTraffic({ host: 'never.example', timeoutMs: 300 }).catch((error) => {
          waited.push((error as Error).message);
        });
      },
    });
    const result = await runScenario({
      scenario,
      entry: findDevice(config, 'virtual-redmi-1s-2014'),
      reportsDir: join(dirs.path, 'reports'),
      caDir: join(dirs.path, 'ca'),
    });
    expect(waited[0]).to.equal('xiaomi.com');
    expect(waited[1]).to.match(
      /^no exchange with never\.example within 300 ms \(\d+ captured in all\)$/,
    );
    const imei = result.findings.find((f) => f.kind === 'imei');
    expect(imei?.step).to.equal('insert the SIM through the driver');
    expect(imei?.host).to.equal('api.account.xiaomi.com');
  });
});
