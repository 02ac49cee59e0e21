import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { remote } from 'webdriverio';
import { acquireAppium } from '../../src/appium/server.ts';
import { findDevice, loadDevices } from '../../src/config/devices.ts';
import { freePort } from '../../src/appium/server.ts';
import { createDevice } from '../../src/device/registry.ts';
import type { RunRecord } from '../../src/report/json-report.ts';
import { RunSession } from '../../src/session/run-session.ts';
import type { RunResult } from '../../src/types.ts';
import { tempDir } from '../support/temp.ts';

/**
 * One run of the opt-in virtual phone (which leaks nothing before consent) through a real
 * RunSession: proxy, embedded Appium, the driver's browser. `proxyOf` decides where the phone's
 * proxy setting points: phonehome's proxy (a live route), or a port nobody listens on (a route
 * that carries nothing, as a proxy setting that never took or a tunnel that dropped).
 */
async function probedRun(
  folder: string,
  proxyOf: (ours: string) => Promise<string>,
): Promise<RunResult> {
  const entry = findDevice(
    loadDevices(join(import.meta.dirname, '..', '..', 'devices.json')),
    'virtual-redmi-1s-optin',
  );
  const device = createDevice(entry);
  const run = await RunSession.open({
    reportsDir: join(folder, 'reports'),
    caDir: join(folder, 'ca'),
    start: {
      scenario: 'route-probe',
      scenarioTitle: 'route probe',
      device: { id: entry.id, kind: entry.kind },
      identifiers: entry.identifiers,
      consents: [{ name: 'cloud-messaging', covers: 'all' }],
      forbiddenHosts: ['xiaomi.com'],
    },
    device,
    capture: { answers: { hosts: {}, otherwise: 'not-found' } },
    log: () => {},
    probeTimeoutMs: 1000,
    exitOnSignal: false,
  });
  let failure: unknown;
  try {
    const context = await run.start();
    const appium = await acquireAppium({ useDrivers: ['phonehome-virtual'] });
    run.defer('stop Appium', () => appium.release());
    const endpoint = new URL(appium.server.url);
    const capabilities = device.capabilities(context);
    capabilities['appium:proxy'] = await proxyOf(context.proxyUrl);
    const session = await remote({
      hostname: endpoint.hostname,
      port: Number(endpoint.port),
      path: '/',
      logLevel: 'silent',
      connectionRetryCount: 0,
      capabilities: capabilities as WebdriverIO.Capabilities,
    });
    run.defer('end the session', () => session.deleteSession());
    await run.probe('routing', session);
    await session.execute('mobile: insertSim', {});
    await run.probe('last-step', session);
  } catch (error) {
    failure = error;
  } finally {
    await run.close(failure);
  }
  return (await run.finish()).result;
}

// The virtual phone's route probe: its browser opens the probe URL through the proxy it was
// handed (`mobile: deepLink`), exactly the way its firmware's requests go.
describe('the virtual phone proves its route with a probe', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  it('passes when the probes after routing and after the last step reached the capture', async () => {
    const result = await probedRun(join(dirs.path, 'alive'), async (ours) => ours);
    expect(result.probes!.map((p) => [p.moment, p.arrivedAt !== undefined])).to.deep.equal([
      ['routing', true],
      ['last-step', true],
    ]);
    expect(result.verdicts.map((v) => v.status)).to.deep.equal(['pass', 'pass', 'pass']);
    // The probe is the route's proof, never the phone's traffic: no contact, no exchange counted.
    expect(result.contacts.map((c) => c.host)).to.not.include('probe.phonehome.invalid');
    const record = JSON.parse(readFileSync(join(result.folder, 'run.json'), 'utf8')) as RunRecord;
    expect(record.route!.statement[0]).to.match(
      /^route probe after routing: arrived after \d+ ms \(the virtual phone's browser/,
    );
    expect(readFileSync(join(result.folder, 'junit.xml'), 'utf8')).to.include(
      '<property name="route" value="route probe after routing: arrived',
    );
    expect(readFileSync(join(result.folder, 'report.html'), 'utf8')).to.include(
      'route probe after the last step: arrived',
    );
  });

  it('is inconclusive, naming the probe and the fix, when its proxy goes nowhere', async () => {
    const result = await probedRun(
      join(dirs.path, 'dead'),
      async () => `http://127.0.0.1:${await freePort()}`,
    );
    expect(result.exchanges).to.equal(0);
    expect(result.status).to.equal('inconclusive');
    const consent = result.verdicts[1]!;
    expect(consent.status).to.equal('inconclusive');
    expect(consent.summary).to.equal(
      'inconclusive: route not proven: the probe after routing could not be sent',
    );
    expect(consent.message).to.include('ECONNREFUSED');
    expect(consent.message).to.include('check that the virtual phone can reach the proxy URL');
    expect(result.verdicts[2]!.status).to.equal('inconclusive');
    const junit = readFileSync(join(result.folder, 'junit.xml'), 'utf8');
    expect(junit).to.include('type="inconclusive" message="inconclusive: route not proven');
  });
});
