import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitCodeForStatus } from '../../src/errors.ts';
import { PROJECT_ROOT } from '../../src/paths.ts';
import type { RunRecord } from '../../src/report/json-report.ts';
import { runCli, runNode, type CliResult } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

const FIXTURES = join('test', 'fixtures', 'scenarios', 'agreement');
const SCENARIOS: Record<string, string> = {
  'fsecure-out-of-box': join('scenarios', 'fsecure-out-of-box.scenario.ts'),
  'rules-only': join(FIXTURES, 'rules-only.scenario.ts'),
  'location-only': join(FIXTURES, 'location-only.scenario.ts'),
  'forbidden-host': join(FIXTURES, 'forbidden-host.scenario.ts'),
};
/** One device per shipped firmware of the virtual phone. */
const DEVICES = ['virtual-redmi-1s-2014', 'virtual-redmi-1s-optin', 'virtual-clean'];

/**
 * What each run must come to, verdict by verdict (runs to the end first). Derived by hand from
 * the firmware profiles: the 2014 firmware sends IMEI, number and operator at SIM insertion and
 * the contact's number as it is added; the update waits for Cloud Messaging; clean sends nothing.
 */
const EXPECTED: Record<string, Record<string, string[]>> = {
  'virtual-redmi-1s-2014': {
    'fsecure-out-of-box': ['pass', 'fail'],
    'rules-only': ['pass', 'fail', 'fail'],
    // IMEI and number go out, but no consent covers them; the location never does.
    'location-only': ['pass', 'pass'],
    // Its consent covers the IMSI and contacts, sent only later; the host and the number fail.
    'forbidden-host': ['pass', 'pass', 'fail', 'fail'],
  },
  'virtual-redmi-1s-optin': {
    'fsecure-out-of-box': ['pass', 'pass'],
    'rules-only': ['pass', 'pass', 'pass'],
    'location-only': ['pass', 'pass'],
    'forbidden-host': ['pass', 'pass', 'pass', 'fail'],
  },
  'virtual-clean': {
    // The clean firmware has no Cloud Messaging to switch: a scenario that switches it does not
    // fit, and is refused rather than passed.
    'fsecure-out-of-box': ['refused'],
    'rules-only': ['refused'],
    'location-only': ['pass', 'pass'],
    'forbidden-host': ['refused'],
  },
};

interface MochaReport {
  tests: { title: string; fullTitle: string; err: { message?: string } }[];
  /** Failed tests and hooks (a refusal fails the suite's `before all` hook). */
  failures: { title: string; fullTitle: string; err: { message?: string } }[];
  stats: { failures: number };
}

/** The run.json of every run folder under `dir`, by scenario name (reports/latest skipped). */
function runRecords(dir: string): Map<string, RunRecord> {
  const records = new Map<string, RunRecord>();
  if (!existsSync(dir)) return records;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const run = JSON.parse(readFileSync(join(dir, entry.name, 'run.json'), 'utf8')) as RunRecord;
    records.set(run.scenario.name, run);
  }
  return records;
}

// The promise of a PASS: `npm test` (mocha), `phonehome run` and run.json give one answer, for
// every shipped firmware and every shape of scenario (no checks, a consent covering one kind, a
// forbidden host, a check of its own).
describe('one verdict under npm test, phonehome run and run.json', function () {
  this.timeout(600_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  for (const device of DEVICES) {
    describe(`on ${device}`, () => {
      let mocha: CliResult;
      let mochaReport: MochaReport;
      let mochaRuns: Map<string, RunRecord>;
      const cli = new Map<string, { run: CliResult; record: RunRecord | undefined }>();

      before(async () => {
        const env = (name: string) => ({
          // As npm test's audit run: the scenarios' suites register there.
          PHONEHOME_TEST_SUITE: 'audits',
          PHONEHOME_DEVICE: device,
          PHONEHOME_REPORTS_DIR: join(dirs.path, device, name),
          PHONEHOME_CA_DIR: join(dirs.path, 'ca'),
        });
        const output = join(dirs.path, `${device}-mocha.json`);
        mocha = await runNode(
          join(PROJECT_ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js'),
          [
            '--no-config',
            '--node-option',
            'import=tsx',
            '--timeout',
            '120000',
            '--exit',
            '--reporter',
            'json',
            '--reporter-option',
            `output=${output}`,
            ...Object.values(SCENARIOS),
          ],
          env('mocha'),
        );
        mochaReport = JSON.parse(readFileSync(output, 'utf8')) as MochaReport;
        mochaRuns = runRecords(join(dirs.path, device, 'mocha'));
        for (const [name, file] of Object.entries(SCENARIOS)) {
          const reports = join(dirs.path, device, `run-${name}`);
          const run = await runCli(['run', file, '--device', device, '--quiet'], {
            ...env(`run-${name}`),
            PHONEHOME_REPORTS_DIR: reports,
          });
          cli.set(name, { run, record: [...runRecords(reports).values()][0] });
        }
      });

      for (const scenario of Object.keys(SCENARIOS)) {
        if (EXPECTED[device]![scenario]![0] === 'refused') {
          it(`${scenario}: refused by mocha and by phonehome run alike, naming the device and the need, with no run`, () => {
            const need = new RegExp(
              `scenario '${scenario}' switches the setting 'cloud-messaging', which device '${device}' cannot switch`,
            );
            expect(mochaRuns.has(scenario)).to.equal(false);
            const failures = mochaReport.failures.filter((test) =>
              test.fullTitle.startsWith(`${scenario} on ${device} `),
            );
            expect(failures.map((test) => test.err.message)).to.satisfy((messages: string[]) =>
              messages.some((message) => /^REFUSED: /.test(message) && need.test(message)),
            );
            const { run, record } = cli.get(scenario)!;
            expect(record).to.equal(undefined);
            expect(run.code, run.stderr).to.equal(2);
            expect(run.stderr).to.match(need);
          });
          continue;
        }
        it(`${scenario}: mocha's tests, run.json and phonehome run's exit code say the same`, () => {
          const record = mochaRuns.get(scenario)!;
          expect(record, `a run folder for ${scenario}`).to.not.equal(undefined);
          const suite = `${scenario} on ${device} `;
          const tests = mochaReport.tests
            .filter((test) => test.fullTitle.startsWith(suite))
            .map((test) => [test.title, test.err.message === undefined ? 'pass' : 'not pass']);
          // Every verdict is a mocha test of the same name, failing exactly when it does not pass.
          expect(tests).to.deep.equal(
            record.verdicts.map((v) => [v.name, v.status === 'pass' ? 'pass' : 'not pass']),
          );
          expect(record.verdicts.map((v) => v.status)).to.deep.equal(EXPECTED[device]![scenario]);

          const { run, record: cliRecord } = cli.get(scenario)!;
          if (!cliRecord) throw new Error(`phonehome run left no run folder: ${run.stderr}`);
          expect(cliRecord.verdicts.map((v) => [v.name, v.status])).to.deep.equal(
            record.verdicts.map((v) => [v.name, v.status]),
          );
          expect(cliRecord.status).to.equal(record.status);
          expect(run.code, run.stderr).to.equal(exitCodeForStatus(cliRecord.status));
        });
      }

      it("mocha's exit code fails exactly when a run does not pass", () => {
        const refused = Object.values(EXPECTED[device]!).some((want) => want[0] === 'refused');
        const anyFailed = refused || [...mochaRuns.values()].some((run) => run.status !== 'pass');
        expect(mocha.code === 0, mocha.stderr).to.equal(!anyFailed);
        expect(mochaReport.stats.failures > 0).to.equal(anyFailed);
      });
    });
  }
});
