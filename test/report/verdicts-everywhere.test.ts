import { expect } from 'chai';
import { cpSync, existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../../src/report/json-report.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';
import { startChromium, type Browser } from './chromium.ts';

const SCENARIO = join('test', 'fixtures', 'scenarios', 'agreement', 'forbidden-host.scenario.ts');
const STATUS_OF_MARK: Record<string, string> = {
  '✓': 'pass',
  '✗': 'fail',
  '?': 'inconclusive',
  '!': 'error',
};

/** [name, status] of each verdict line of the console summary ("  ✗ name  — FAIL"). */
function consoleVerdicts(stdout: string): [string, string][] {
  return [...stdout.matchAll(/^ {2}([✓✗?!]) (.+?)(?: {2}— [A-Z]+)?$/gm)].map((m) => [
    m[2]!,
    STATUS_OF_MARK[m[1]!]!,
  ]);
}

/** [name, status] of each test case of a JUnit file: a failure of type inconclusive is that. */
function junitVerdicts(xml: string): [string, string][] {
  const unescape = (text: string) =>
    text
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  return [
    ...xml.matchAll(
      /<testcase [^>]*name="([^"]*)"[^>]*?(\/>|>\s*<(failure|error) type="([^"]*)")/g,
    ),
  ].map((m) => [
    unescape(m[1]!),
    m[2] === '/>'
      ? 'pass'
      : m[3] === 'error'
        ? 'error'
        : m[4] === 'inconclusive'
          ? 'inconclusive'
          : 'fail',
  ]);
}

// One run with mixed outcomes (a pass, a consent that holds, a forbidden contact, a failed check)
// read back from every place a person or CI looks: all must name the same verdicts, same statuses.
describe('the verdicts of a run, the same in the console, report.html, junit.xml and merge', function () {
  this.timeout(180_000);
  const dirs = tempDir();
  let browser: Browser;
  let run: CliResult;
  let folder: string;
  let record: RunRecord;

  before(async () => {
    browser = await startChromium();
    const reports = join(dirs.path, 'reports');
    run = await runCli(['run', SCENARIO, '--device', 'virtual-redmi-1s-2014', '--quiet'], {
      PHONEHOME_REPORTS_DIR: reports,
      PHONEHOME_CA_DIR: join(dirs.path, 'ca'),
    });
    const name = readdirSync(reports).find((entry) => entry.endsWith('-forbidden-host'))!;
    folder = join(reports, name);
    record = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as RunRecord;
  });
  after(async () => {
    await browser?.close();
    dirs.remove();
  });

  const want = () => record.verdicts.map((v): [string, string] => [v.name, v.status]);

  it('is a run with mixed outcomes', () => {
    expect(want()).to.deep.equal([
      ['runs to the end', 'pass'],
      [
        "no identifier (imsi, contact_number) leaves the phone before consent 'cloud-messaging'",
        'pass',
      ],
      ['no contact with api.account.xiaomi.com before consent', 'fail'],
      ['the phone number goes nowhere, ever', 'fail'],
    ]);
    expect(run.code, run.stderr).to.equal(1);
  });

  it('the console names them, and explains the forbidden contact and the not-judged kinds', () => {
    expect(consoleVerdicts(run.stdout)).to.deep.equal(want());
    expect(run.stdout).to.match(/^FAIL {2}forbidden-host on virtual-redmi-1s-2014/m);
    expect(run.stdout).to.include(
      "      api.account.xiaomi.com contacted during step 'insert SIM'",
    );
    // IMEI and number went out before consent, but the consent does not cover them: not "leaked".
    expect(run.stdout).to.match(
      /not judged \(no consent covers IMEI, phone number, operator name\) → api\.account\.xiaomi\.com/,
    );
    expect(run.stdout).to.not.match(/leaked/i);
  });

  it('junit.xml names them', () => {
    expect(junitVerdicts(readFileSync(join(folder, 'junit.xml'), 'utf8'))).to.deep.equal(want());
  });

  it('report.html names them', async () => {
    const page = await browser.open(join(folder, 'report.html'));
    const shown = await page.$$eval('#verdicts .verdict', (nodes) =>
      nodes.map((node) => [
        node.querySelector('strong')!.textContent,
        node.getAttribute('data-status'),
      ]),
    );
    expect(shown).to.deep.equal(want());
    expect(await page.textContent('#summary h1 .pill')).to.equal('fail');
    // Before consent: nothing the consent judges leaked (its verdict passes), the rest not judged.
    const before = await page.$eval('#phases tr.phase', (row) =>
      [4, 6].map((cell) => row.children[cell]!.textContent),
    );
    expect(before).to.deep.equal(['—', 'imeimsisdnoperator']);
    await page.close();
  });

  it('merge names them, in its JSON, its JUnit and its console', async () => {
    const json = await runCli(['merge', folder, '--json'], {}, dirs.path);
    expect(json.code, json.stderr).to.equal(1);
    expect(
      existsSync(join(dirs.path, 'reports', 'merged')),
      '--json alone writes no files',
    ).to.equal(false);
    const summary = JSON.parse(json.stdout) as { runs: RunRecord[] };
    expect(summary.runs[0]!.verdicts.map((v) => [v.name, v.status])).to.deep.equal(want());
    const out = join(dirs.path, 'merged');
    const merged = await runCli(['merge', folder, '--out', out]);
    expect(junitVerdicts(readFileSync(join(out, 'junit.xml'), 'utf8'))).to.deep.equal(want());
    // One writer: the merged JUnit of one run is the run's own, byte for byte.
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).to.equal(
      readFileSync(join(folder, 'junit.xml'), 'utf8'),
    );
    expect(merged.stdout).to.include(
      'fail: no contact with api.account.xiaomi.com before consent — contacted before consent: api.account.xiaomi.com',
    );
  });

  it('merge counts a run once: not again through reports/latest, nor as an uploaded copy of it', async () => {
    const artefacts = join(dirs.path, 'artefacts');
    cpSync(join(dirs.path, 'reports'), join(artefacts, 'shard-1'), {
      recursive: true,
      verbatimSymlinks: true,
    });
    // An artefact upload that follows links turns reports/latest into a second copy of the run.
    cpSync(folder, join(artefacts, 'shard-1-uploaded', 'latest'), { recursive: true });
    expect(lstatSync(join(artefacts, 'shard-1', 'latest')).isSymbolicLink()).to.equal(true);
    const merged = await runCli(['merge', artefacts, '--json'], {}, dirs.path);
    const summary = JSON.parse(merged.stdout) as { runs: RunRecord[] };
    expect(summary.runs.map((r) => r.runId)).to.deep.equal([record.runId]);
  });
});
