import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { identifiersFrom } from '../../src/detect/identifiers.ts';
import { createRangeFinder } from '../../src/report/identifier-ranges.ts';
import { findLeftovers } from '../../src/report/redaction-check.ts';
import { redactText, redactionToken } from '../../src/report/redact.ts';
import { writeRedactedCopy } from '../../src/report/redacted-copy.ts';
import type { Identifier, IdentifierValues } from '../../src/types.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';
import { fixtureRun } from './fixture-run.ts';
import { runCommand } from './run-command.ts';
import { virtualRuns } from './virtual-runs.ts';

const IMEI = '356938035643809';
const PHONE = '+33612345678';

describe('redaction', function () {
  this.timeout(120_000);

  describe('tokens', () => {
    const rows: [string, string][] = [
      ['IMEI #1', '[IMEI-1]'],
      ['phone number #1', '[phone-number-1]'],
      ['contact number #12', '[contact-number-12]'],
      ['Wi-Fi MAC #2', '[Wi-Fi-MAC-2]'],
    ];
    for (const [label, token] of rows) {
      it(`'${label}' → ${token}`, () => expect(redactionToken(label)).to.equal(token));
    }
  });

  describe('every form the detector knows is replaced', () => {
    const identifiers = identifiersFrom({ imei: [IMEI], msisdn: [PHONE] }, 'file');
    const finder = createRangeFinder(identifiers);
    const sha256 = createHash('sha256').update(IMEI).digest('hex');
    const rows: [form: string, text: string, token: string][] = [
      ['plain in a cookie', `deviceId=${IMEI}; lang=en`, '[IMEI-1]'],
      ['url-encoded phone', `phone=${encodeURIComponent(PHONE)}&x=1`, '[phone-number-1]'],
      ['national phone', 'tel=06 12 34 56 78', '[phone-number-1]'],
      ['base64', `id=${Buffer.from(IMEI).toString('base64')}`, '[IMEI-1]'],
      ['sha256 hex, upper case', `h=${sha256.toUpperCase()}`, '[IMEI-1]'],
      [
        'json-escaped',
        `{"d":"${[...IMEI].map((c) => `\\u00${c.charCodeAt(0).toString(16)}`).join('')}"}`,
        '[IMEI-1]',
      ],
      ['glued to other digits', `n=9${IMEI}1`, '[IMEI-1]'],
    ];
    for (const [form, text, token] of rows) {
      it(form, () => {
        const redacted = redactText(text, finder);
        expect(redacted).to.include(token);
        const probe = {
          id: 'p',
          startedAt: 0,
          completedAt: 0,
          protocol: 'http' as const,
          host: 'probe.invalid',
          request: {
            method: 'POST',
            url: 'http://probe.invalid/',
            httpVersion: '1.1',
            headers: [],
            body: { encoding: 'utf8' as const, data: redacted },
          },
        };
        expect(finder.detector.scanExchange(probe, 0)).to.deep.equal([]);
        expect(redacted).to.not.include(IMEI);
      });
    }
  });

  describe('phonehome report --redact', () => {
    const dir = tempDir();
    after(() => dir.remove());

    /** Proof, three ways, that nothing of any identifier is left in a folder. */
    async function expectClean(folder: string, identifiers: Identifier[]) {
      expect(await findLeftovers(folder, createRangeFinder(identifiers))).to.deep.equal([]);
      const variants = createRangeFinder(identifiers).detector.variants.filter(
        // A lone coordinate is any number ("24.938" is also a timestamp's seconds): a location
        // is only the pair, which findLeftovers looks for.
        (variant) => !variant.coordinate,
      );
      for (const name of readdirSync(folder)) {
        const bytes = readFileSync(join(folder, name));
        const text = bytes.toString('utf8');
        for (const identifier of identifiers)
          expect(text, `${identifier.label} in ${name}`).to.not.include(identifier.value);
        for (const variant of variants) {
          expect(
            bytes.indexOf(Buffer.from(variant.bytes)),
            `${variant.identifier.label} as ${variant.form} in ${name}`,
          ).to.equal(-1);
        }
        expect(statSync(join(folder, name)).mode & 0o777, name).to.equal(0o600);
      }
      // And as `phonehome scan` reads a capture: the journal, then the HAR.
      const values: IdentifierValues = {};
      for (const identifier of identifiers) (values[identifier.kind] ??= []).push(identifier.value);
      const ids = join(dir.path, `${Date.now()}-ids.json`);
      writeFileSync(ids, JSON.stringify(values), { mode: 0o600 });
      for (const input of [folder, join(folder, 'capture.har')]) {
        const scan = await runCli(['scan', input, '--identifiers', ids]);
        expect(scan.stdout, input).to.match(/^nothing found in \d+ exchanges/);
        expect(scan.code, scan.stderr).to.equal(0);
      }
    }

    it('writes a copy of a real run with no value or variant of any identifier left', async () => {
      const { leaky } = await virtualRuns();
      const journal = readFileSync(join(leaky.folder, 'journal.ndjson'));
      const out = join(dir.path, 'leaky-redacted');
      const run = await runCommand('report', [leaky.folder, '--redact', '--out', out]);
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stdout).to.include(
        'checked with the detector: no identifier value or encoded form is left',
      );
      expect(readdirSync(out).sort()).to.deep.equal([
        'capture.har',
        'findings.json',
        'journal.ndjson',
        'junit.xml',
        'report.html',
        'run.json',
      ]);
      await expectClean(out, leaky.identifiers);
      // The copy still says what leaked, by label.
      const findings = JSON.parse(readFileSync(join(out, 'findings.json'), 'utf8')).findings;
      expect(findings).to.have.length(leaky.result.findings.length);
      expect(findings[0].fragment).to.equal('deviceId=⟦[IMEI-1]⟧');
      const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
      expect(junit).to.include('api.account.xiaomi.com: imei, msisdn, operator, contact_number');
      // The original is left as it was.
      expect(readFileSync(join(leaky.folder, 'journal.ndjson'))).to.deep.equal(journal);
    });

    it('removes what cannot be rewritten in place (gzip inside base64 inside JSON), binary bodies too', async () => {
      const input = await fixtureRun(join(dir.path, 'fixture'));
      const out = join(dir.path, 'fixture-redacted');
      await writeRedactedCopy(input, out);
      await expectClean(out, input.identifiers);
      const journal = readFileSync(join(out, 'journal.ndjson'), 'utf8');
      expect(journal).to.include(
        '[removed by phonehome: it held [phone-number-1] in request-body>json:$.blob>base64>gzip]',
      );
      const binary = journal.split('\n').find((line) => line.includes('"ex-binary"'))!;
      const body = JSON.parse(binary).exchange.request.body;
      expect(body.encoding).to.equal('base64');
      expect(Buffer.from(body.data, 'base64').toString('latin1')).to.include('[IMEI-1]');
    });

    it('proves itself: the same check finds the identifiers in the original folder', async () => {
      const input = await fixtureRun(join(dir.path, 'control'));
      const leftovers = await findLeftovers(
        input.result.folder,
        createRangeFinder(input.identifiers),
      );
      expect(leftovers.map((l) => l.label)).to.include.members(['IMEI #1', 'phone number #1']);
    });

    it('refuses to rebuild the reports of a redacted copy', async () => {
      const input = await fixtureRun(join(dir.path, 'again'));
      const out = join(dir.path, 'again-redacted');
      await writeRedactedCopy(input, out);
      const run = await runCommand('report', [out]);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.include('is a redacted copy');
    });
  });
});
