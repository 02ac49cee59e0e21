import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findDevice, loadDevices, type DeviceEntry } from '../../src/config/devices.ts';
import { defineScenario } from '../../src/index.ts';
import { PROJECT_ROOT } from '../../src/paths.ts';
import { formatOutcome } from '../../src/report/console-summary.ts';
import type { RunRecord } from '../../src/report/json-report.ts';
import { runScenario } from '../../src/scenario/run.ts';
import { tempDir } from '../support/temp.ts';

// The promise of a PASS says what it rests on. On the proxy route, a daemon that ignores the
// system proxy is not seen at all: the shipped proxy-bypass profile's telemetry daemon sends the
// IMEI around the proxy, so the run passes — and every place the verdict is told says it saw
// proxy-aware traffic only.
const scenario = defineScenario({
  name: 'diagnostics-opt-in',
  title: 'No identifier before diagnostics are switched on',
  consents: [{ name: 'diagnostics' }],
  async steps(phone) {
    await phone.step('insert SIM', () => phone.insertSim());
    await phone.step('join Wi-Fi', () => phone.setWifi(true));
    await phone.consent('diagnostics', () => phone.setSetting('diagnostics', true));
  },
});

describe('what a run could see, stated with its verdict', function () {
  this.timeout(120_000);
  const dirs = tempDir();
  after(() => dirs.remove());
  const clean = findDevice(loadDevices(join(PROJECT_ROOT, 'devices.json')), 'virtual-clean');
  const entry: DeviceEntry = {
    ...clean,
    id: 'virtual-proxy-bypass',
    capabilities: { ...clean.capabilities, 'appium:firmware': 'proxy-bypass' },
  };

  it('passes on the proxy route, saying "proxy-aware traffic only" everywhere, and never sees the daemon', async () => {
    const result = await runScenario({
      scenario,
      entry,
      reportsDir: join(dirs.path, 'reports'),
      caDir: join(dirs.path, 'ca'),
    });
    expect(result.status, result.verdicts.map((v) => v.message).join('\n')).to.equal('pass');
    // The daemon's requests never reached the capture; the opt-in's did, after consent.
    expect(result.contacts.map((c) => c.host)).to.not.include('telemetry.vendor.example');
    expect(result.findings.map((f) => [f.host, f.beforeConsent])).to.deep.include([
      'diagnostics.vendor.example',
      false,
    ]);
    expect(result.coverage.route).to.equal('proxy');

    const summary = formatOutcome(result, { reveal: false });
    expect(summary.split('\n')[0]).to.match(
      /^PASS \(proxy-aware traffic only\) {2}diagnostics-opt-in/,
    );
    expect(summary).to.match(
      /^ {2}coverage: route proxy: HTTP\(S\) and WebSockets from apps and services that use the system proxy; not seen: apps and system services that ignore the system proxy/m,
    );
    const record = JSON.parse(readFileSync(join(result.folder, 'run.json'), 'utf8')) as RunRecord;
    expect(record.status).to.equal('pass');
    expect(record.statusWord).to.equal('PASS (proxy-aware traffic only)');
    expect(record.coverage.route).to.equal('proxy');
    expect(record.coverage.statement).to.match(/^route proxy: .*not seen: /);
    const junit = readFileSync(join(result.folder, 'junit.xml'), 'utf8');
    expect(junit).to.include(
      '<property name="statusWord" value="PASS (proxy-aware traffic only)"/>',
    );
    const html = readFileSync(join(result.folder, 'report.html'), 'utf8');
    expect(html).to.include('<title>PASS (proxy-aware traffic only) · diagnostics-opt-in');
    expect(html).to.include('"qualifier":"proxy-aware traffic only"');
    // The journal says it, so a report rebuilt later says the same.
    const journal = readFileSync(join(result.folder, 'journal.ndjson'), 'utf8');
    expect(journal).to.match(/"type":"coverage".*"route":"proxy"/);
  });

  it('a FAIL is a FAIL whatever the route: its word carries no qualifier', async () => {
    const optin = findDevice(
      loadDevices(join(PROJECT_ROOT, 'devices.json')),
      'virtual-redmi-1s-2014',
    );
    const result = await runScenario({
      scenario: defineScenario({
        name: 'sim-leak',
        title: 'No identifier before consent',
        consents: [{ name: 'cloud-messaging' }],
        async steps(phone) {
          await phone.step('insert SIM', () => phone.insertSim());
          await phone.consent('cloud-messaging', () => phone.setSetting('cloud-messaging', true));
        },
      }),
      entry: optin,
      reportsDir: join(dirs.path, 'reports'),
      caDir: join(dirs.path, 'ca'),
    });
    expect(result.status).to.equal('fail');
    expect(formatOutcome(result, { reveal: false }).split('\n')[0]).to.match(/^FAIL {2}sim-leak/);
  });
});
