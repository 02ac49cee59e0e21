import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import { formatOutcome } from '../../src/report/console-summary.ts';
import type { Mark } from '../../src/types.ts';
import { androidEntry, fakeAdbSuite, rootedPhone } from '../device/fake-adb.ts';
import { RecordingSession } from '../device/recording-session.ts';
import { scenarioSession } from '../support/scenario-session.ts';

const IMEI = '865432101234564';
const WHY = 'a SIM was already in and ready, and software cannot insert one';

// A real phone with its SIM in cannot have one inserted: the step does nothing. What the phone
// sends meanwhile is not what a SIM going in causes, and every report must say so beside it.
describe('a step the device did not perform is reported as skipped', function () {
  this.timeout(60_000);
  const suite = fakeAdbSuite();

  it('marks insertSim on a real phone with a SIM in as skipped, beside the leak during it, in every report', async () => {
    suite.use({ R58M12345: rootedPhone() });
    const entry = androidEntry({ serial: 'R58M12345', identifiers: { imei: [IMEI] } });
    const device = new AndroidDevice(entry, {
      stateDir: join(suite.dirs.path, 'state'),
      tunnelCheckMs: 0,
    });
    const result = await scenarioSession({
      folder: join(suite.dirs.path, 'run'),
      entry,
      actions: device.actions(new RecordingSession()),
      steps: async ({ phone, post }) => {
        await phone.step('insert SIM', () => phone.insertSim());
        await post('http://telemetry.example.test/activate', JSON.stringify({ imei: IMEI }));
        await phone.step('connect to Wi-Fi');
      },
    });

    const steps = result.marks.map((m: Mark) => [m.name, m.skipped?.slice(0, WHY.length)]);
    expect(steps).to.deep.equal([
      ['boot', undefined],
      ['insert SIM', WHY],
      ['connect to Wi-Fi', undefined],
    ]);
    const label = `insert SIM (skipped: ${WHY}`;
    const imei = result.findings.filter((f) => f.kind === 'imei');
    expect(imei).to.not.be.empty;
    expect(imei.every((f) => f.step.startsWith(label))).to.equal(true);
    const verdict = result.verdicts.find((v) => v.consent === 'cloud-messaging');
    expect(verdict?.status).to.equal('fail');
    expect(verdict?.message).to.include(`during step '${label}`);
    expect(
      result.notes?.some((n) =>
        n.startsWith(`step 'insert SIM' was skipped by the device: ${WHY}`),
      ),
    ).to.equal(true);

    expect(formatOutcome(result, { reveal: false })).to.include(`from step '${label}`);
    const runJson = JSON.parse(readFileSync(join(result.folder, 'run.json'), 'utf8')) as {
      marks: Mark[];
      notes: string[];
    };
    expect(runJson.marks.find((m) => m.name === 'insert SIM')?.skipped).to.match(
      new RegExp(`^${WHY}`),
    );
    const findingsJson = JSON.parse(readFileSync(join(result.folder, 'findings.json'), 'utf8')) as {
      findings: { kind: string; step: string }[];
    };
    expect(
      findingsJson.findings
        .filter((f) => f.kind === 'imei')
        .map((f) => f.step.slice(0, label.length)),
    ).to.deep.equal(imei.map(() => label));
    expect(readFileSync(join(result.folder, 'report.html'), 'utf8')).to.include(label);
    const junit = readFileSync(join(result.folder, 'junit.xml'), 'utf8');
    expect(junit).to.include(`<property name="skippedStep" value="insert SIM: ${WHY}`);
    expect(junit).to.include(`during step 'insert SIM (skipped: ${WHY}`);
  });
});
