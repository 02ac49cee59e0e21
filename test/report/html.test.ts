import { expect } from 'chai';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { writeRunReports } from '../../src/report/write-run-reports.ts';
import { analyseJournal } from '../../src/verdict/analyse.ts';
import { tempDir } from '../support/temp.ts';
import { BIG_IMEI, writeBigJournal } from './big-journal.ts';
import { startChromium, type Browser } from './chromium.ts';
import { fixtureRun } from './fixture-run.ts';
import { virtualRuns, type VirtualRun } from './virtual-runs.ts';

/** The rows of the findings table as the page shows them now. */
async function findingRows(page: Page) {
  return page.$$eval('#findings-body tr.finding', (rows) =>
    rows.map((row) => ({
      kind: row.getAttribute('data-kind'),
      host: row.getAttribute('data-host'),
      phase: row.getAttribute('data-phase'),
    })),
  );
}

// report.html in a real headless Chromium, opened from disk as a person would.
describe('report.html in headless Chromium', function () {
  this.timeout(180_000);
  const dir = tempDir();
  let browser: Browser;
  let leaky: VirtualRun;

  before(async () => {
    browser = await startChromium();
    leaky = (await virtualRuns()).leaky;
  });
  after(async () => {
    await browser?.close();
    dir.remove();
  });
  afterEach(() => {
    expect(
      browser.problems,
      'console errors, page errors, dialogs or network requests',
    ).to.deep.equal([]);
  });

  it('shows the verdicts per scenario and per consent phase at the top', async () => {
    const page = await browser.open(join(leaky.folder, 'report.html'));
    expect(await page.title()).to.match(/^FAIL · fsecure-out-of-box on virtual-redmi-1s-2014/);
    const verdicts = await page.$$eval('#verdicts .verdict', (nodes) =>
      nodes.map((node) => [
        node.querySelector('strong')!.textContent,
        node.getAttribute('data-status'),
      ]),
    );
    expect(verdicts).to.deep.equal([
      ['runs to the end', 'pass'],
      ["no identifier leaves the phone before consent 'cloud-messaging'", 'fail'],
    ]);
    const phases = await page.$$eval('#phases tr.phase', (rows) =>
      rows.map((row) => [row.children[0]!.textContent, row.children[8]!.textContent]),
    );
    expect(phases).to.deep.equal([
      ['before consent', 'fail'],
      ['after cloud-messaging', 'pass'],
    ]);
    const hosts = await page.textContent('#hosts');
    expect(hosts).to.include(
      'api.account.xiaomi.com: imei, msisdn, operator, contact_number — before consent',
    );
    await page.close();
  });

  it('lists every finding with label, form, host and step, values masked', async () => {
    const page = await browser.open(join(leaky.folder, 'report.html'));
    expect((await findingRows(page)).length).to.equal(leaky.result.findings.length);
    const first = await page.$eval('#findings-body tr.finding', (row) => row.textContent);
    expect(first).to.include('IMEI #1').and.include('cookie:deviceId').and.include('insert SIM');
    const text = await page.textContent('body');
    const html = readFileSync(join(leaky.folder, 'report.html'), 'utf8');
    for (const identifier of leaky.identifiers) {
      expect(text, identifier.label).to.not.include(identifier.value);
      expect(html, identifier.label).to.not.include(identifier.value);
    }
    await page.close();
  });

  it('filters findings and the timeline by kind, phase and host', async () => {
    const page = await browser.open(join(leaky.folder, 'report.html'));
    await page.selectOption('#filter-kind', 'imei');
    const imei = await findingRows(page);
    expect(imei.length).to.equal(leaky.result.findings.filter((f) => f.kind === 'imei').length);
    expect(imei.every((row) => row.kind === 'imei')).to.equal(true);

    await page.selectOption('#filter-phase', { label: 'before consent' });
    const early = await findingRows(page);
    expect(early.length).to.equal(
      leaky.result.findings.filter((f) => f.kind === 'imei' && f.phase === 'before consent').length,
    );
    const timeline = await page.$$eval('#timeline-body tr.x-row', (rows) =>
      rows.map((row) => row.getAttribute('data-phase')),
    );
    expect(timeline.length).to.be.greaterThan(0);
    expect(timeline.every((phase) => phase === 'before consent')).to.equal(true);

    await page.click('#filter-reset');
    await page.click('#hosts tr.host[data-host="connect.rom.miui.com"]');
    expect(await findingRows(page)).to.deep.equal([]);
    const hosts = await page.$$eval('#timeline-body tr.x-row', (rows) =>
      rows.map((row) => row.getAttribute('data-host')),
    );
    expect(hosts).to.deep.equal(['connect.rom.miui.com']);
    await page.close();
  });

  it('opens the request of a finding with the matching part highlighted', async () => {
    const page = await browser.open(join(leaky.folder, 'report.html'));
    await page.click('#findings-body tr.finding >> nth=0');
    const marks = await page.$$eval('#timeline-body tr.details pre mark', (nodes) =>
      nodes.map((node) => [node.textContent, node.getAttribute('title')]),
    );
    expect(marks).to.deep.include(['[IMEI-1]', 'IMEI #1']);
    await page.close();
  });

  it('shows the values themselves only when written with --reveal', async () => {
    const folder = join(dir.path, 'revealed');
    cpSync(leaky.folder, folder, { recursive: true });
    const { result, identifiers } = await analyseJournal(join(folder, 'journal.ndjson'));
    await writeRunReports({
      result,
      identifiers,
      versions: {},
      reveal: true,
    });
    const page = await browser.open(join(folder, 'report.html'));
    await page.click('#findings-body tr.finding >> nth=0');
    const marks = await page.$$eval('#timeline-body tr.details pre mark', (nodes) =>
      nodes.map((node) => node.textContent),
    );
    const imei = leaky.identifiers.find((i) => i.label === 'IMEI #1')!.value;
    expect(marks).to.include(imei);
    await page.close();
  });

  it('keeps hostile traffic as text, and lists unreadable connections by host and phase', async () => {
    const folder = join(dir.path, 'fixture');
    await writeRunReports(await fixtureRun(folder));
    const page = await browser.open(join(folder, 'report.html'));
    const unreadable = await page.$$eval('#unreadable tr.unreadable', (rows) =>
      rows.map((row) => [row.children[0]!.textContent, row.children[1]!.textContent]),
    );
    expect(unreadable).to.deep.equal([['pinned.example.org', 'before consent']]);
    await page.selectOption('#filter-host', 'logs.example.net');
    await page.click('#timeline-body tr.x-row');
    const body = await page.textContent('#timeline-body tr.details');
    expect(body).to.include('ok </script><script>alert(1)</script>');
    // The gzip'd phone number cannot be masked in place: the part is withheld, saying why.
    expect(body).to.include(
      '[removed by phonehome: it held [phone-number-1] in request-body>json:$.blob>base64>gzip]',
    );
    await page.close();
  });

  it('stays usable with 10,000 exchanges: paged, filtered', async () => {
    const folder = join(dir.path, 'big');
    mkdirSync(folder);
    writeBigJournal(join(folder, 'journal.ndjson'), 10_000, 40);
    const { result, identifiers } = await analyseJournal(join(folder, 'journal.ndjson'));
    await writeRunReports({ result, identifiers, versions: {} });
    const page = await browser.open(join(folder, 'report.html'));
    expect(await page.textContent('#timeline-pager .page-info')).to.match(
      /^page 1 of \d+ · 10000 of 10000 exchanges$/,
    );
    expect(await page.$$eval('#timeline-body tr', (rows) => rows.length)).to.be.at.most(100);
    await page.click('#timeline-pager button:has-text("next")');
    expect(await page.textContent('#timeline-pager .page-info')).to.match(/^page 2 of/);

    await page.selectOption('#filter-host', 'h00.example.net');
    // h00 gets every 40th exchange: 250 of them.
    expect(await page.textContent('#timeline-pager .page-info')).to.match(
      /· 250 of 10000 exchanges$/,
    );
    await page.selectOption('#filter-kind', 'imei');
    // Every 10th exchange sends the IMEI, so all of h00's (every 40th) do.
    expect(await page.textContent('#timeline-pager .page-info')).to.match(
      /· 250 of 10000 exchanges$/,
    );
    await page.selectOption('#filter-phase', { label: 'before consent' });
    expect(await page.textContent('#timeline-pager .page-info')).to.match(
      /· 125 of 10000 exchanges$/,
    );
    const findings = await page.textContent('#findings-pager .page-info');
    expect(findings).to.match(/· 125 of \d+ findings$/);
    const html = readFileSync(join(folder, 'report.html'), 'utf8');
    expect(html).to.not.include(BIG_IMEI);
    await page.close();
  });
});
