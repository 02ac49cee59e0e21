import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.ts';
import { useFarm, writeFarmDevices } from './farm-devices.ts';

const FARM_KEY = 's3cr3t-farm-key-d41d8cd9';

/** Every file under a folder, recursively, as text. */
function allText(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .map((path) => readFileSync(path, 'utf8'))
    .join('\n');
}

// A second Appium server, started here on another loopback port, plays the device farm: it hosts
// the virtual phones that `phonehome run` drives as remote devices.
describe('remote devices in parallel', function () {
  this.timeout(180_000);
  const farm = useFarm();

  for (const [count, parallel] of [
    [1, 1],
    [4, 4],
    [8, 8],
  ] as const) {
    it(`gives ${count} device(s) at --parallel ${parallel} independent, correct verdicts`, async () => {
      const file = join(farm.dir(), `devices-${count}.json`);
      writeFarmDevices(file, farm.port(), count);
      const reports = join(farm.dir(), `reports-${count}`);
      const result = await runCli(
        [
          'run',
          join('test', 'fixtures', 'scenarios', 'sim-only.scenario.ts'),
          '--devices-file',
          file,
          '--devices',
          'tag:farm',
          '--parallel',
          String(parallel),
          '--quiet',
        ],
        {
          PHONEHOME_REPORTS_DIR: reports,
          PHONEHOME_CA_DIR: join(farm.dir(), 'ca'),
          FARM_USER: 'tester',
          FARM_KEY,
        },
      );
      // Every 2014 phone leaks, so the command fails as a whole.
      expect(result.code, result.stdout + result.stderr).to.equal(1);
      const runs = readdirSync(reports).filter((name) => name.includes('-farm-'));
      expect(runs).to.have.length(count);
      const devices = JSON.parse(readFileSync(file, 'utf8')).devices as {
        id: string;
        identifiers: { imei: string[] };
      }[];
      for (const device of devices) {
        const folder = join(
          reports,
          runs.find((name) => name.includes(`-${device.id}-`))!,
        );
        const run = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8'));
        const findings = JSON.parse(readFileSync(join(folder, 'findings.json'), 'utf8'))
          .findings as { kind: string; fragment: string }[];
        const leaky = run.device.firmware === 'redmi-1s-2014';
        expect(run.status, device.id).to.equal(leaky ? 'fail' : 'pass');
        // Independent: a phone's findings are its own IMEI, never another phone's.
        const imeis = findings.filter((f) => f.kind === 'imei');
        expect(imeis.length > 0, `${device.id} IMEI findings`).to.equal(leaky);
        const journal = readFileSync(join(folder, 'journal.ndjson'), 'utf8');
        for (const other of devices.filter((d) => d.id !== device.id)) {
          expect(
            journal.includes(other.identifiers.imei[0]!),
            `${device.id} journal holds ${other.id}'s IMEI`,
          ).to.equal(false);
        }
      }
      if (count > 1)
        expect(result.stdout).to.include(`${count - Math.ceil(count / 2)} of ${count} runs passed`);
      expect(
        result.stdout + result.stderr + allText(reports),
        'the farm key leaked',
      ).to.not.include(FARM_KEY);
    });
  }

  it('merges the run folders into one summary with a verdict per device × scenario', async () => {
    const out = join(farm.dir(), 'merged');
    const result = await runCli(['merge', join(farm.dir(), 'reports-4'), '--out', out]);
    expect(result.code, result.stderr).to.equal(1);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.status).to.equal('fail');
    expect(
      summary.runs.map(
        (r: { device: { id: string }; status: string }) => `${r.device.id}:${r.status}`,
      ),
    ).to.deep.equal(['farm-01:fail', 'farm-02:pass', 'farm-03:fail', 'farm-04:pass']);
    const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
    expect(junit.match(/<testsuite /g)).to.have.length(4);
    expect(junit).to.match(
      /<testsuite name="sim-only on farm-01" tests="2" failures="1" errors="0" skipped="0" timestamp="[^"]+" time="[\d.]+" file="test\/fixtures\/scenarios\/sim-only\.scenario\.ts">/,
    );
    expect(junit).to.match(
      /<testcase classname="phonehome\.sim-only\.farm-01" name="no identifier leaves the phone before consent 'cloud-messaging'" time="0" file="[^"]+">\s*<failure type="leak" message="identifiers sent before consent 'cloud-messaging' — api\.account\.xiaomi\.com: imei, msisdn, operator">/,
    );
    expect(readFileSync(join(out, 'summary.html'), 'utf8')).to.include('2 of 4 runs passed.');
    expect(result.stdout).to.include('2 of 4 runs passed');
  });

  it('exits 2 naming a missing variable, before any run starts', async () => {
    const file = join(farm.dir(), 'devices-missing.json');
    writeFarmDevices(file, farm.port(), 2);
    const reports = join(farm.dir(), 'reports-missing');
    const env = { ...process.env, PHONEHOME_REPORTS_DIR: reports, FARM_USER: 'tester' } as Record<
      string,
      string
    >;
    delete env.FARM_KEY;
    const result = await runCli(['run', '--devices-file', file, '--devices', 'tag:farm'], env);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.match(
      /device 'farm-01'\.endpoint uses \$\{FARM_KEY\}, which is not set; set FARM_KEY in \.env or in the environment/,
    );
    expect(() => readdirSync(reports)).to.throw(/ENOENT/);
  });

  it('runs a stable shard of the devices', async () => {
    const file = join(farm.dir(), 'devices-shard.json');
    writeFarmDevices(file, farm.port(), 5);
    const seen: string[][] = [];
    for (const shard of ['1/2', '2/2']) {
      const reports = join(farm.dir(), `reports-shard-${shard.replace('/', '-')}`);
      await runCli(
        [
          'run',
          join('test', 'fixtures', 'scenarios', 'sim-only.scenario.ts'),
          '--devices-file',
          file,
          '--devices',
          'tag:farm',
          '--shard',
          shard,
          '--quiet',
        ],
        {
          PHONEHOME_REPORTS_DIR: reports,
          PHONEHOME_CA_DIR: join(farm.dir(), 'ca'),
          FARM_USER: 'tester',
          FARM_KEY,
        },
      );
      seen.push(
        readdirSync(reports)
          .filter((n) => n.includes('-farm-'))
          .map((n) => /-(farm-\d\d)-/.exec(n)![1]!)
          .sort(),
      );
    }
    expect(seen).to.deep.equal([
      ['farm-01', 'farm-03', 'farm-05'],
      ['farm-02', 'farm-04'],
    ]);
  });
});
