import { expect } from 'chai';
import { join } from 'node:path';
import { findDevice, loadDevices, type DeviceEntry } from '../../src/config/devices.ts';
import { defineScenario } from '../../src/index.ts';
import { PROJECT_ROOT } from '../../src/paths.ts';
import { runScenario } from '../../src/scenario/run.ts';
import { tempDir } from '../support/temp.ts';

// A leak over a WebSocket is a leak: the shipped push-channel profile registers with the IMEI
// over wss:// at boot and reports the IMSI over ws:// on a SIM change, both before consent.
describe('the virtual phone leaking over WebSockets', function () {
  this.timeout(120_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  it('fails the consent, naming the messages, their sockets and their steps', async () => {
    const clean = findDevice(loadDevices(join(PROJECT_ROOT, 'devices.json')), 'virtual-clean');
    const entry: DeviceEntry = {
      ...clean,
      id: 'virtual-push-channel',
      capabilities: { ...clean.capabilities, 'appium:firmware': 'push-channel' },
    };
    const result = await runScenario({
      scenario: defineScenario({
        name: 'push-opt-in',
        title: 'No identifier before push notifications are allowed',
        consents: [{ name: 'push-notifications' }],
        async steps(phone) {
          await phone.step('join Wi-Fi', () => phone.setWifi(true));
          await phone.step('insert SIM', () => phone.insertSim());
          await phone.consent('push-notifications', () =>
            phone.setSetting('push-notifications', true),
          );
        },
      }),
      entry,
      reportsDir: join(dirs.path, 'reports'),
      caDir: join(dirs.path, 'ca'),
    });
    expect(result.status).to.equal('fail');
    const early = result.findings
      .filter((f) => f.beforeConsent)
      .map((f) => [f.kind, f.where, f.host, f.step]);
    expect(early).to.deep.include.members([
      // The boot registration goes while the phone powers on, before any step.
      ['imei', 'ws-sent', 'push.vendor.example', 'boot'],
      ['imsi', 'ws-sent', 'push.vendor.example', 'insert SIM'],
    ]);
    const consent = result.verdicts.find((v) => v.rule === 'consent')!;
    expect(consent.message).to.match(/ws-sent/);
  });
});
