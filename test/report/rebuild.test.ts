import { killedRun } from '../support/killed-run.ts';
import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeRuns } from '../../src/merge/merge-runs.ts';
import { PROJECT_ROOT } from '../../src/paths.ts';
import { tempDir } from '../support/temp.ts';
import { runCommand } from './run-command.ts';

const SLOW = join(PROJECT_ROOT, 'test', 'fixtures', 'scenarios', 'slow.scenario.ts');

const DERIVED = ['run.json', 'findings.json', 'capture.har', 'junit.xml', 'report.html'];

describe('phonehome report rebuilds a killed run from its journal', function () {
  this.timeout(120_000);
  const dir = tempDir();
  let folder: string;
  after(() => dir.remove());

  before(async () => {
    folder = await killedRun(join(dir.path, 'reports'), join(dir.path, 'ca'));
  });

  it('finds a killed run with a journal and nothing derived', () => {
    expect(readdirSync(folder)).to.deep.equal(['journal.ndjson']);
  });

  it('writes every report, judging what was captured and failing the cut-short run', async () => {
    // A stale, too-open file from elsewhere must come back private.
    writeFileSync(join(folder, 'report.html'), 'stale', { mode: 0o644 });
    const run = await runCommand('report', [folder, '--scenario', SLOW]);
    expect(run.code, run.stderr).to.equal(1);
    for (const file of DERIVED) {
      expect(existsSync(join(folder, file)), file).to.equal(true);
      expect(statSync(join(folder, file)).mode & 0o777, file).to.equal(0o600);
    }
    const summary = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8'));
    expect(summary.status).to.equal('fail');
    expect(summary.error).to.match(/did not end normally/);
    expect(
      summary.verdicts.map((c: { name: string; status: string }) => [c.name, c.status]),
    ).to.deep.equal([
      ['runs to the end', 'error'],
      ["no identifier leaves the phone before consent 'cloud-messaging'", 'fail'],
      ['the new contact stays on the phone', 'fail'],
    ]);
    const findings = JSON.parse(readFileSync(join(folder, 'findings.json'), 'utf8')).findings as {
      kind: string;
      beforeConsent: boolean;
    }[];
    expect(
      [...new Set(findings.filter((f) => f.beforeConsent).map((f) => f.kind))].sort(),
    ).to.deep.equal(['contact_number', 'imei', 'msisdn', 'operator']);
    const har = JSON.parse(readFileSync(join(folder, 'capture.har'), 'utf8'));
    // The four exchanges of the phone, and the route probe it sent after routing.
    expect(har.log.entries).to.have.length(5);
    const junit = readFileSync(join(folder, 'junit.xml'), 'utf8');
    expect(junit).to.include('tests="3" failures="2" errors="1"');
    expect(junit).to.match(
      /<testcase [^>]*name="runs to the end"[^>]*>\s*<error type="error" message="the run stopped early/,
    );
    expect(readFileSync(join(folder, 'report.html'), 'utf8')).to.include('did not end normally');
  });

  it('without the scenario file, keeps the verdicts it can rebuild and says where checks came from', async () => {
    // Run from a folder without scenarios/: the checks recorded in run.json are used.
    const run = await runCommand('report', [folder], dir.path);
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stdout).to.include('checks: as recorded in run.json');
    const summary = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8'));
    expect(summary.verdicts.map((c: { name: string }) => c.name)).to.deep.equal([
      'runs to the end',
      "no identifier leaves the phone before consent 'cloud-messaging'",
      'the new contact stays on the phone',
    ]);
  });

  it('merge takes the killed run as a run beside the others, and lists a broken one', async () => {
    // After the rebuild above, `folder` is a complete run. Beside it: the same run killed again
    // before its reports (journal only, another run id) and a shard whose journal is garbage.
    const shards = join(dir.path, 'shards');
    const killed = join(shards, 'killed');
    const broken = join(shards, 'broken');
    mkdirSync(killed, { recursive: true });
    mkdirSync(broken, { recursive: true });
    const [first, ...rest] = readFileSync(join(folder, 'journal.ndjson'), 'utf8').split('\n');
    const start = { ...JSON.parse(first!), runId: 'killed-again' };
    writeFileSync(join(killed, 'journal.ndjson'), [JSON.stringify(start), ...rest].join('\n'));
    writeFileSync(join(broken, 'journal.ndjson'), 'not a journal\n');
    const summary = await mergeRuns([folder, shards]);
    const byFolder = new Map(summary.runs.map((run) => [run.folder, run]));
    expect(summary.runs).to.have.length(3);
    expect(byFolder.get(folder)!.status).to.equal('fail');
    const rebuilt = byFolder.get(killed)!;
    expect(rebuilt.runId).to.equal('killed-again');
    expect(rebuilt.status).to.equal('fail');
    expect(rebuilt.error).to.match(/did not end normally/);
    expect(rebuilt.findingsBeforeConsent).to.be.greaterThan(0);
    expect(rebuilt.notes?.join('\n')).to.include(`phonehome report ${killed}`);
    const listed = byFolder.get(broken)!;
    expect(listed.status).to.equal('error');
    expect(listed.error).to.include(join(broken, 'journal.ndjson'));
    expect(summary.status).to.equal('fail');
  });

  it('exits by the verdict for a run killed before it saw anything, not 3', async () => {
    // Killed right after it started: no leak, no end; every report is written all the same.
    const early = join(dir.path, 'early');
    mkdirSync(early);
    const first = readFileSync(join(folder, 'journal.ndjson'), 'utf8').split('\n')[0]!;
    writeFileSync(join(early, 'journal.ndjson'), `${first}\n`);
    const run = await runCommand('report', [early], dir.path);
    expect(run.code, run.stderr).to.equal(1);
    for (const file of DERIVED) expect(existsSync(join(early, file)), file).to.equal(true);
    expect(JSON.parse(readFileSync(join(early, 'run.json'), 'utf8')).status).to.equal('error');
  });

  it('says what to give when the folder has no journal', async () => {
    const run = await runCommand('report', [dir.path]);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(
      /journal\.ndjson does not exist; give a run folder under reports\//,
    );
  });
});
