import { expect } from 'chai';
import type { DriverSession } from '../../src/device/device.ts';
import { PhonehomeError } from '../../src/errors.ts';
import { RemoteDevice } from '../../src/device/remote.ts';
import { uiautomator2FarmActions } from '../../src/device/uiautomator2-farm-automation.ts';

/** A WebDriver session that records scripts and answers or refuses like a farm's Appium would. */
function farmSession(
  refuse: (script: string) => string | undefined,
): DriverSession & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async execute(script: string, args?: unknown) {
      calls.push(`${script} ${JSON.stringify(args)}`);
      const refusal = refuse(script);
      if (refusal) throw new Error(refusal);
      return script === 'mobile: isGpsEnabled' ? false : null;
    },
  };
}

describe('UiAutomator2 actions on a farm device (no adb)', () => {
  it("uses UiAutomator2's mobile: commands for Wi-Fi and location", async () => {
    const session = farmSession(() => undefined);
    const actions = uiautomator2FarmActions(session, 'galaxy-bs');
    await actions.setWifi(true);
    await actions.allowLocation();
    await actions.setLocation(60.17, 24.94);
    expect(session.calls).to.deep.equal([
      'mobile: setConnectivity {"wifi":true}',
      'mobile: isGpsEnabled {}',
      'mobile: toggleGps {}',
      'mobile: setGeolocation {"latitude":60.17,"longitude":24.94}',
    ]);
  });

  const refusals: [
    string,
    (a: ReturnType<typeof uiautomator2FarmActions>) => Promise<unknown>,
    RegExp,
  ][] = [
    ['insert SIM', (a) => a.insertSim(), /comes with its SIM/],
    ['add a contact', (a) => a.addContact('Ann', '+447700900123'), /contacts provider over adb/],
    ['make a call', (a) => a.makeCall('+447700900123'), /must not call a scenario number/],
    ['send an SMS', (a) => a.sendSms('+447700900123', 'hi'), /must not text a scenario number/],
    ['cloud login', (a) => a.cloudLogin('me@example.com'), /UI flow/],
  ];
  for (const [step, act, why] of refusals) {
    it(`refuses '${step}' saying why, without touching the phone`, async () => {
      const session = farmSession(() => undefined);
      try {
        await act(uiautomator2FarmActions(session, 'galaxy-bs'));
        expect.fail('the step ran');
      } catch (error) {
        expect((error as PhonehomeError).code).to.equal('STEP_UNSUPPORTED');
        expect((error as Error).message)
          .to.match(why)
          .and.to.include("'galaxy-bs'");
      }
      expect(session.calls).to.deep.equal([]);
    });
  }

  it("names the emulator-only limit when a farm's real phone refuses a fake SMS", async () => {
    const session = farmSession((script) =>
      script === 'mobile: sendSms' ? 'sendSms is only available for emulators' : undefined,
    );
    try {
      await uiautomator2FarmActions(session, 'galaxy-bs').receiveSms('+447700900123', 'hi');
      expect.fail('the step ran');
    } catch (error) {
      expect((error as Error).message).to.match(
        /mobile: sendSms works on emulators only, and the farm's device is a real phone/,
      );
    }
  });
});

// phonehome can hand its proxy to a virtual phone only: a farm's UiAutomator2 phone left on the
// default traffic mode would send the capture nothing, so its entry is refused up front.
describe('a remote UiAutomator2 phone and its traffic mode', () => {
  const entry = (traffic?: object) =>
    ({
      id: 'galaxy-bs',
      kind: 'remote',
      endpoint: 'http://127.0.0.1:4723/',
      capabilities: { platformName: 'Android', 'appium:automationName': 'UiAutomator2' },
      identifiers: {},
      settle: { quietMs: 0, maxMs: 0 },
      ...(traffic ? { traffic } : {}),
    }) as ConstructorParameters<typeof RemoteDevice>[0];

  it('is refused without a traffic.mode, naming the modes that carry its traffic', () => {
    expect(() => new RemoteDevice(entry()))
      .to.throw(PhonehomeError)
      .with.property('message')
      .that.matches(
        /device 'galaxy-bs' is a UiAutomator2 phone .* has no traffic\.mode: phonehome cannot set a farm phone's proxy\. Give "traffic": \{"mode": "tunnel"\}/,
      );
  });

  it("on an explicit proxy mode, opens the probe in the phone's browser and names the fix", async () => {
    const device = new RemoteDevice(entry({ mode: 'proxy' }));
    const probe = device.probeRoute();
    expect(probe.fix).to.include("point the phone's proxy at this host's proxy yourself");
    const session = farmSession(() => undefined);
    await probe.send('http://probe.phonehome.invalid/ab/routing', session);
    expect(session.calls).to.deep.equal([
      'mobile: deepLink {"url":"http://probe.phonehome.invalid/ab/routing"}',
    ]);
  });
});
