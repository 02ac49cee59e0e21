import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../../src/report/json-report.ts';
import { startChromium, type Browser } from '../report/chromium.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

const SCENARIOS = join('test', 'fixtures', 'scenarios', 'opaque');
const CONSENT = "no identifier leaves the phone before consent 'usage-statistics'";

/** The run folder of one scenario under a reports folder. */
function runFolder(reports: string, scenario: string): string {
  return join(
    reports,
    readdirSync(reports).find((entry) => entry.endsWith(`-${scenario}`))!,
  );
}

/** The status of a JUnit test case by name: pass, or its failure's type (inconclusive…). */
function junitCase(xml: string, name: string): string {
  const cases = xml.split('<testcase ').slice(1);
  const found = cases.find(
    (test) =>
      test.includes(`name="${name.replace(/'/g, '&apos;')}"`) || test.includes(`name="${name}"`),
  );
  if (!found) return 'missing';
  return /^[^>]*\/>/.test(found) ? 'pass' : (/<failure type="([^"]*)"/.exec(found)?.[1] ?? 'error');
}

// The shipped encrypted-telemetry firmware sends the IMEI sealed with AES (GCM in base64 at SIM
// insertion, raw CBC bytes on joining Wi-Fi) before usage statistics are allowed. No decoder can
// open those bodies: the run is inconclusive — never a pass — in every place a person or CI looks.
describe('the virtual phone sending encrypted telemetry before consent', function () {
  this.timeout(240_000);
  const dirs = tempDir();
  let browser: Browser;
  const runs: Record<string, { cli: CliResult; folder: string; record: RunRecord }> = {};

  before(async () => {
    browser = await startChromium();
    for (const scenario of ['usage-statistics', 'usage-statistics-reviewed']) {
      const reports = join(dirs.path, scenario);
      const cli = await runCli(
        [
          'run',
          join(SCENARIOS, `${scenario}.scenario.ts`),
          '--device',
          'virtual-encrypted-telemetry',
        ],
        { PHONEHOME_REPORTS_DIR: reports, PHONEHOME_CA_DIR: join(dirs.path, 'ca') },
      );
      const folder = runFolder(reports, scenario);
      const record = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as RunRecord;
      runs[scenario] = { cli, folder, record };
    }
  });
  after(async () => {
    await browser?.close();
    dirs.remove();
  });

  it('is inconclusive in run.json, naming both opaque bodies, their hosts and steps', () => {
    const { record } = runs['usage-statistics']!;
    expect(record.status).to.equal('inconclusive');
    const consent = record.verdicts.find((verdict) => verdict.name === CONSENT)!;
    expect(consent.status).to.equal('inconclusive');
    expect(consent.summary).to.equal(
      "inconclusive: 2 opaque part(s) before consent 'usage-statistics' could not be read (stats.vendor.example)",
    );
    expect(consent.message).to.match(
      /stats\.vendor\.example request-body>base64 during step 'insert SIM': opaque: \d+ bytes \(base64\)/,
    );
    expect(consent.message).to.match(
      /stats\.vendor\.example request-body during step 'join Wi-Fi': opaque: \d+ bytes, /,
    );
    expect(record.unscanned!.map((part) => [part.where, part.step, part.excepted])).to.deep.equal([
      ['request-body>base64', 'insert SIM', undefined],
      ['request-body', 'join Wi-Fi', undefined],
    ]);
    // Nothing was found: the IMEI went out, but only sealed.
    expect(record.findingsBeforeConsent).to.equal(0);
  });

  it('is inconclusive on the console, which says why, and exits non-zero', () => {
    const { cli } = runs['usage-statistics']!;
    expect(cli.code, cli.stderr).to.not.equal(0);
    expect(cli.stdout).to.match(
      /^INCONCLUSIVE {2}usage-statistics on virtual-encrypted-telemetry/m,
    );
    expect(cli.stdout).to.include(`? ${CONSENT}`);
    expect(cli.stdout).to.match(/look encrypted or compressed by an unknown method/);
  });

  it('is inconclusive in junit.xml', () => {
    const xml = readFileSync(join(runs['usage-statistics']!.folder, 'junit.xml'), 'utf8');
    expect(junitCase(xml, CONSENT)).to.equal('inconclusive');
    expect(xml).to.include('opaque part(s) before consent');
  });

  it('is inconclusive in report.html', async () => {
    const page = await browser.open(join(runs['usage-statistics']!.folder, 'report.html'));
    expect(await page.textContent('#summary h1 .pill')).to.equal('inconclusive');
    const shown = await page.$$eval('#verdicts .verdict', (nodes) =>
      nodes.map((node) => [
        node.querySelector('strong')!.textContent,
        node.getAttribute('data-status'),
        node.textContent,
      ]),
    );
    const consent = shown.find(([name]) => name === CONSENT)!;
    expect(consent[1]).to.equal('inconclusive');
    expect(consent[2]).to.match(/opaque part\(s\) before consent/);
    await page.close();
  });

  it('passes once both bodies are declared reviewed, and every report shows the reason', async () => {
    const { record, cli, folder } = runs['usage-statistics-reviewed']!;
    const consent = record.verdicts.find((verdict) => verdict.name === CONSENT)!;
    expect(consent.status).to.equal('pass');
    expect(record.status).to.equal('pass');
    expect(cli.code, cli.stderr).to.equal(0);
    const reason = 'reviewed: SDK batches (declared to test exceptions)';
    expect(record.unscanned!.map((part) => part.excepted)).to.deep.equal([reason, reason]);
    expect(record.notes!.filter((note) => note.includes(reason))).to.have.length(2);
    expect(cli.stdout).to.include(
      `note: opaque part declared an exception: stats.vendor.example request-body during step 'join Wi-Fi' — ${reason}`,
    );
    expect(readFileSync(join(folder, 'junit.xml'), 'utf8')).to.include(reason);
    const page = await browser.open(join(folder, 'report.html'));
    expect(await page.textContent('#summary')).to.include(reason);
    await page.close();
  });
});
