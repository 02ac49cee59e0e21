import { expect } from 'chai';
import { join } from 'node:path';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import { RunSession } from '../../src/session/run-session.ts';
import type { RunResult } from '../../src/types.ts';
import { androidEntry, fakeAdbSuite, rootedPhone, stockPhone } from './fake-adb.ts';

/**
 * A run on a stock phone on the proxy route, as `capture --device` makes it: routed, the probe
 * after routing, then `between` (what happens to the phone meanwhile), the probe after the last
 * step, restore. The fake adb's `nc` reaches the capture only through a live `adb reverse`.
 */
async function probedRun(
  folder: string,
  between: () => void = () => {},
  route: 'proxy' | 'iptables' = 'proxy',
): Promise<RunResult> {
  const entry = androidEntry({
    identifiers: { imei: ['865432101234564'] },
    ...(route === 'iptables' ? { android: { route } } : {}),
  });
  const device = new AndroidDevice(entry, {
    stateDir: join(folder, 'state'),
    tunnelCheckMs: 0,
  });
  const run = await RunSession.open({
    reportsDir: join(folder, 'reports'),
    caDir: join(folder, 'ca'),
    start: {
      scenario: 'route-probe',
      scenarioTitle: 'route probe',
      device: { id: 'pixel', kind: 'android' },
      identifiers: { imei: ['865432101234564'] },
      consents: [{ name: 'consent', covers: 'all' }],
      forbiddenHosts: [],
    },
    device,
    capture: { answers: { hosts: {}, otherwise: 'not-found' } },
    log: () => {},
    probeTimeoutMs: 500,
    exitOnSignal: false,
  });
  try {
    await run.start();
    await run.probe('routing');
    between();
    await run.probe('last-step');
  } finally {
    await run.close();
  }
  return (await run.finish()).result;
}

// The android proxy route's probe: the phone reads its global proxy and sends the probe there
// with toybox nc, over adb shell — the path its proxy-aware apps' requests take.
describe('a phone on the proxy route proves its route with a probe over adb', function () {
  this.timeout(30_000);
  const suite = fakeAdbSuite();

  it('passes when both probes came through adb reverse into the capture', async () => {
    const fake = suite.use({ R58M12345: stockPhone() });
    const result = await probedRun(join(suite.dirs.path, 'alive'));
    expect(result.probes!.map((p) => [p.moment, p.arrivedAt !== undefined, p.error])).to.deep.equal(
      [
        ['routing', true, undefined],
        ['last-step', true, undefined],
      ],
    );
    expect(result.status).to.equal('pass');
    expect(fake.commands().filter((line) => line.includes('| nc -w 5 127.0.0.1'))).to.have.length(
      2,
    );
  });

  it("is inconclusive when a vendor's settings app reset the proxy during the run", async () => {
    const fake = suite.use({ R58M12345: stockPhone() });
    const result = await probedRun(join(suite.dirs.path, 'reset'), () =>
      fake.update((model) => {
        model.devices.R58M12345!.settings.global!.http_proxy = ':0';
      }),
    );
    expect(result.status).to.equal('inconclusive');
    expect(result.verdicts[1]!.summary).to.equal(
      'inconclusive: route not proven: the probe after the last step could not be sent',
    );
    expect(result.verdicts[1]!.message).to.include("the phone's global proxy is ':0'");
    expect(result.verdicts[1]!.message).to.include('adb reverse --list');
  });

  it('is inconclusive when adb dropped the reverse tunnel: the probe gets no answer', async () => {
    const fake = suite.use({ R58M12345: stockPhone() });
    const result = await probedRun(join(suite.dirs.path, 'dropped'), () =>
      fake.update((model) => {
        model.devices.R58M12345!.reverse = [];
      }),
    );
    expect(result.status).to.equal('inconclusive');
    expect(result.verdicts[1]!.message).to.include('got no answer from the capture');
  });
});

// The iptables route's probe: nc from adb shell to an address outside the phone, which only
// phonehome's nat redirect brings into adb reverse and the capture.
describe('a rooted phone on the iptables route proves its route with a probe over adb', function () {
  this.timeout(30_000);
  const suite = fakeAdbSuite();

  it('passes when the redirect brought both probes into the capture', async () => {
    const fake = suite.use({ R58M12345: rootedPhone() });
    const result = await probedRun(join(suite.dirs.path, 'redirected'), () => {}, 'iptables');
    expect(result.probes!.map((p) => [p.moment, p.arrivedAt !== undefined, p.error])).to.deep.equal(
      [
        ['routing', true, undefined],
        ['last-step', true, undefined],
      ],
    );
    expect(result.status).to.equal('pass');
    expect(
      fake.commands().filter((line) => line.includes('| nc -w 5 192.0.2.1 80')),
    ).to.have.length(2);
  });

  it('is inconclusive when the redirect rules were flushed during the run', async () => {
    const fake = suite.use({ R58M12345: rootedPhone() });
    const result = await probedRun(
      join(suite.dirs.path, 'flushed'),
      () =>
        fake.update((model) => {
          const nat = model.devices.R58M12345!.iptables!['iptables nat']!;
          for (const chain of Object.keys(nat)) nat[chain] = [];
        }),
      'iptables',
    );
    expect(result.status).to.equal('inconclusive');
    expect(result.verdicts[1]!.summary).to.equal(
      'inconclusive: route not proven: the probe after the last step could not be sent',
    );
    expect(result.verdicts[1]!.message).to.include('iptables -t nat -S');
  });
});
