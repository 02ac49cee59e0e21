import { expect } from 'chai';
import { PROXY_COVERAGE } from '../../src/coverage.ts';
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { compareRuns, type RunDiff } from '../../src/diff/compare-runs.ts';
import { judgeDiff, parseFailRules, type FailRule } from '../../src/diff/diff-verdict.ts';
import type { IdentifierKind, JudgedFinding, RunResult } from '../../src/types.ts';
import { startChromium } from '../report/chromium.ts';
import { FIXTURE_JOURNAL } from '../report/fixture-run.ts';
import { runCommand } from '../report/run-command.ts';
import { virtualRuns } from '../report/virtual-runs.ts';
import { tempDir } from '../support/temp.ts';

/** A finding as compareRuns sees it: only host, kind, label, phase and evidence matter. */
function finding(
  host: string,
  kind: IdentifierKind,
  label: string,
  phase = 'before consent',
  evidence: 'strong' | 'weak' = 'strong',
): JudgedFinding {
  return {
    id: 0,
    exchange: 0,
    exchangeId: 'x',
    kind,
    label,
    form: 'plain',
    where: 'url',
    host,
    offset: 0,
    evidence,
    fragment: '',
    startedAt: 0,
    step: 'insert SIM',
    phase,
    consent: 'c',
    beforeConsent: phase === 'before consent',
  };
}

function run(findings: JudgedFinding[], early: string[] = []): RunResult {
  return {
    runId: 'r',
    folder: '/r',
    scenario: { name: 's', title: 's' },
    device: { id: 'd', kind: 'virtual' },
    startedAt: 0,
    endedAt: 1,
    marks: [],
    consents: [{ name: 'c', covers: 'all' }],
    forbiddenHosts: [],
    exchanges: findings.length,
    identifiers: 1,
    findings,
    unreadable: [],
    unscanned: [],
    coverage: PROXY_COVERAGE,
    contacts: early.map((host) => ({
      host,
      at: 0,
      readable: true,
      phase: 'before consent',
      step: 'insert SIM',
    })),
    verdicts: [],
    status: 'pass',
  };
}

const statuses = (diff: RunDiff) =>
  diff.rows.map((r) => `${r.status} ${r.kind} → ${r.host} (${r.phase})`);

describe('phonehome diff', function () {
  this.timeout(120_000);

  describe('matching (host, kind, phase) by kind, not value', () => {
    const rows: { name: string; a: JudgedFinding[]; b: JudgedFinding[]; want: string[] }[] = [
      {
        name: 'another IMEI value on the other phone is the same leak',
        a: [finding('api.x.com', 'imei', 'IMEI #1')],
        b: [finding('api.x.com', 'imei', 'IMEI #2')],
        want: ['still imei → api.x.com (before consent)'],
      },
      {
        name: 'only in A is fixed, only in B is new; leaks first',
        a: [
          finding('api.x.com', 'imei', 'IMEI #1'),
          finding('api.x.com', 'imsi', 'IMSI #1', 'after c'),
        ],
        b: [finding('api.x.com', 'msisdn', 'phone number #1')],
        want: [
          'new msisdn → api.x.com (before consent)',
          'fixed imei → api.x.com (before consent)',
          'fixed imsi → api.x.com (after c)',
        ],
      },
      {
        name: 'the phase is part of the key: moved after consent is fixed before, new after',
        a: [finding('api.x.com', 'imei', 'IMEI #1')],
        b: [finding('api.x.com', 'imei', 'IMEI #1', 'after c')],
        want: ['fixed imei → api.x.com (before consent)', 'new imei → api.x.com (after c)'],
      },
      {
        name: 'the host is part of the key',
        a: [finding('a.x.com', 'imei', 'IMEI #1')],
        b: [finding('b.x.com', 'imei', 'IMEI #1')],
        want: ['new imei → b.x.com (before consent)', 'fixed imei → a.x.com (before consent)'],
      },
    ];
    for (const row of rows) {
      it(row.name, () =>
        expect(statuses(compareRuns(run(row.a), run(row.b)))).to.deep.equal(row.want),
      );
    }

    it('lists hosts newly and no longer contacted before consent', () => {
      const diff = compareRuns(run([], ['a.com', 'b.com']), run([], ['b.com', 'c.com']));
      expect(diff.hosts.newlyContacted.map((h) => h.host)).to.deep.equal(['c.com']);
      expect(diff.hosts.noLongerContacted.map((h) => h.host)).to.deep.equal(['a.com']);
    });
  });

  describe('what makes it fail', () => {
    const diff = compareRuns(
      run([finding('k.com', 'imei', 'IMEI #1'), finding('f.com', 'imsi', 'IMSI #1')], ['f.com']),
      run(
        [
          finding('k.com', 'imei', 'IMEI #1'),
          finding('n.com', 'operator', 'operator name #1', 'before consent', 'weak'),
          finding('k.com', 'email', 'email #1', 'after c'),
        ],
        ['n.com'],
      ),
    );
    const rows: [rules: string, strongOnly: boolean, reasons: string[]][] = [
      [
        'new,remaining',
        false,
        [
          'new leak: operator → n.com (before consent)',
          'still leaking: imei → k.com (before consent)',
        ],
      ],
      ['new,remaining', true, ['still leaking: imei → k.com (before consent)']],
      ['new', true, []],
      ['new-after-consent', false, ['newly sent after consent: email → k.com (after c)']],
      ['new-hosts', false, ['newly contacted before consent: n.com']],
      ['none', false, []],
    ];
    for (const [rules, strongOnly, reasons] of rows) {
      it(`--fail-on ${rules}${strongOnly ? ' --strong-only' : ''}`, () => {
        const verdict = judgeDiff(diff, { failOn: parseFailRules(rules), strongOnly });
        expect(verdict).to.deep.equal({ ok: reasons.length === 0, reasons });
      });
    }

    it('names the rules when one is unknown', () => {
      expect(() => parseFailRules('new,fixed' as FailRule)).to.throw(
        /unknown rule 'fixed'; choose from new, remaining/,
      );
    });
  });

  describe('on the virtual phone: redmi-1s-2014 and redmi-1s-optin-update', () => {
    const dir = tempDir();
    after(() => dir.remove());

    it('2014 → opt-in update: every pre-consent leak is fixed, exit 0, with an HTML page', async () => {
      const { leaky, fixed } = await virtualRuns();
      const html = join(dir.path, 'diff.html');
      const text = await runCommand('diff', [leaky.folder, fixed.folder, '--html', html]);
      expect(text.code, text.stderr + text.stdout).to.equal(0);
      expect(text.stdout).to.match(/^fixed +api\.account\.xiaomi\.com +imei +before consent/m);
      expect(text.stdout).to.include('OK: B has no pre-consent leak that A lacked');

      const json = await runCommand('diff', [leaky.folder, fixed.folder, '--json']);
      expect(json.code).to.equal(0);
      const diff = JSON.parse(json.stdout) as RunDiff & { ok: boolean };
      const leaks = diff.rows.filter((row) => row.beforeConsent);
      expect(leaks.map((row) => row.kind)).to.include.members([
        'imei',
        'msisdn',
        'operator',
        'contact_number',
      ]);
      expect(leaks.every((row) => row.status === 'fixed')).to.equal(true);
      expect(diff.hosts.noLongerContacted.map((h) => h.host)).to.include('api.account.xiaomi.com');
      expect(diff.ok).to.equal(true);

      expect(statSync(html).mode & 0o777).to.equal(0o600);
      const browser = await startChromium();
      try {
        const page = await browser.open(html, '#rows');
        const shown = await page.$$eval('#rows tr[data-before-consent="true"]', (rows) =>
          rows.map((row) => row.getAttribute('data-status')),
        );
        expect(shown).to.deep.equal(leaks.map(() => 'fixed'));
        expect(await page.textContent('h1')).to.match(/^ok /);
        expect(browser.problems).to.deep.equal([]);
      } finally {
        await browser.close();
      }
      for (const identifier of leaky.identifiers)
        expect(readFileSync(html, 'utf8'), identifier.label).to.not.include(identifier.value);
    });

    it('opt-in update → 2014: the same leaks are new, exit 1', async () => {
      const { leaky, fixed } = await virtualRuns();
      const json = await runCommand('diff', [fixed.folder, leaky.folder, '--json']);
      expect(json.code).to.equal(1);
      const diff = JSON.parse(json.stdout) as RunDiff & { reasons: string[] };
      const leaks = diff.rows.filter((row) => row.beforeConsent);
      expect(leaks.map((row) => row.kind)).to.include.members([
        'imei',
        'msisdn',
        'operator',
        'contact_number',
      ]);
      expect(leaks.every((row) => row.status === 'new')).to.equal(true);
      expect(diff.reasons).to.include('new leak: imei → api.account.xiaomi.com (before consent)');
      expect(diff.hosts.newlyContacted.map((h) => h.host)).to.include('api.account.xiaomi.com');

      const lenient = await runCommand('diff', [fixed.folder, leaky.folder, '--fail-on', 'none']);
      expect(lenient.code).to.equal(0);
    });

    it('refuses runs of two different scenarios unless told to compare them anyway', async () => {
      const { fixed } = await virtualRuns();
      const other = join(dir.path, 'other');
      mkdirSync(other);
      const lines = readFileSync(FIXTURE_JOURNAL, 'utf8').split('\n');
      const start = JSON.parse(lines[0]!);
      lines[0] = JSON.stringify({ ...start, scenario: 'another-scenario' });
      writeFileSync(join(other, 'journal.ndjson'), lines.join('\n'));
      const refused = await runCommand('diff', [fixed.folder, other]);
      expect(refused.code).to.equal(2);
      expect(refused.stderr).to.include(
        "different scenarios ('fsecure-out-of-box' and 'another-scenario')",
      );
      const forced = await runCommand('diff', [fixed.folder, other, '--allow-other-scenario']);
      expect(forced.code).to.equal(1);
    });
  });
});
