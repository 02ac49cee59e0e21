import { expect } from 'chai';
import { join } from 'node:path';
import { scanCommand } from '../../src/cli/scan.ts';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import type { Finding, JudgedFinding } from '../../src/types.ts';
import { androidEntry, fakeAdbSuite, rootedPhone, stockPhone } from '../device/fake-adb.ts';
import { RecordingSession } from '../device/recording-session.ts';
import { scenarioSession } from '../support/scenario-session.ts';

const PEER_NUMBER = '+8613900000001';
const OWN_NUMBER = '+8613912345678';

/** Runs `phonehome scan <folder> --json` in process and returns its findings. */
async function scanJson(folder: string): Promise<Finding[]> {
  const out: string[] = [];
  const { log } = console;
  console.log = (...args: unknown[]) => out.push(args.join(' '));
  try {
    await scanCommand([folder, '--json']);
    return (JSON.parse(out.join('\n')) as { findings: Finding[] }).findings;
  } finally {
    console.log = log;
  }
}

// On a real phone the peer texts and calls: the phone under test sees the peer's real number, not
// the scenario's made-up one. That number is what a leak would carry, so the run searches for it.
describe("values a step shows the phone are searched for (a peer's real number)", function () {
  this.timeout(60_000);
  const suite = fakeAdbSuite();

  it("finds a leak of the peer's number after a real phone received an SMS from it, in the run and in `scan`", async () => {
    suite.use({
      R58M12345: rootedPhone(),
      PEER0001: stockPhone({ phoneNumber: PEER_NUMBER }),
    });
    const entry = androidEntry({
      serial: 'R58M12345',
      identifiers: { msisdn: [OWN_NUMBER] },
      android: { peer: { serial: 'PEER0001', phoneNumber: PEER_NUMBER }, callHoldMs: 0 },
    });
    const device = new AndroidDevice(entry, {
      stateDir: join(suite.dirs.path, 'state'),
      tunnelCheckMs: 0,
    });
    const result = await scenarioSession({
      folder: join(suite.dirs.path, 'run'),
      entry,
      actions: device.actions(new RecordingSession()),
      steps: async ({ phone, post }) => {
        const scenarioNumber = phone.canary.phoneNumber();
        await phone.step('receive an SMS', () => phone.receiveSms(scenarioNumber, 'hello there'));
        // The vendor's messaging service reports the sender it saw: the peer's real number.
        await post('http://telemetry.example.test/sender', JSON.stringify({ from: PEER_NUMBER }));
      },
    });

    const leak = (f: Pick<JudgedFinding, 'kind' | 'host' | 'where'>) =>
      `${f.kind} → ${f.host} in ${f.where}`;
    const peerFindings = result.findings.filter((f) => f.fragment.includes('13900000001'));
    expect(peerFindings.map(leak)).to.deep.equal([
      'contact_number → telemetry.example.test in request-body',
    ]);
    expect(peerFindings.every((f) => f.beforeConsent && f.step === 'receive an SMS')).to.equal(
      true,
    );
    const verdict = result.verdicts.find((v) => v.consent === 'cloud-messaging');
    expect(verdict?.status).to.equal('fail');

    const scanned = await scanJson(result.folder);
    expect(scanned.filter((f) => f.kind === 'contact_number').map(leak)).to.deep.equal(
      peerFindings.map(leak),
    );
  });

  it('refuses an incoming SMS on a real phone when the peer has no number to search for', async () => {
    suite.use({ R58M12345: rootedPhone(), PEER0001: stockPhone() });
    const entry = androidEntry({
      serial: 'R58M12345',
      identifiers: { msisdn: [OWN_NUMBER] },
      android: { peer: { serial: 'PEER0001' }, callHoldMs: 0 },
    });
    const device = new AndroidDevice(entry, {
      stateDir: join(suite.dirs.path, 'state-2'),
      tunnelCheckMs: 0,
    });
    const error = await device
      .actions(new RecordingSession())
      .receiveSms('+447700900123', 'hello')
      .catch((caught: unknown) => caught as Error);
    expect((error as Error).message).to.match(
      /the peer PEER0001 has no phone number in devices\.json.*add "phoneNumber" to "android\.peer"/,
    );
  });
});
