import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanCommand } from '../../src/cli/scan.ts';
import type { Finding } from '../../src/types.ts';
import { virtualRuns, type VirtualRun } from '../report/virtual-runs.ts';

/** Runs `phonehome scan … --json` and returns its findings. */
async function scanJson(...argv: string[]): Promise<{ code: number; findings: Finding[] }> {
  const out: string[] = [];
  const { log } = console;
  console.log = (...args: unknown[]) => out.push(args.join(' '));
  try {
    const code = await scanCommand([...argv, '--json']);
    return { code, findings: (JSON.parse(out.join('\n')) as { findings: Finding[] }).findings };
  } finally {
    console.log = log;
  }
}

/** What a scan and a run both say of a finding: which exchange, identifier, form and place. */
const key = (f: Pick<Finding, 'exchange' | 'label' | 'form' | 'where' | 'offset'>) =>
  `${f.exchange} ${f.label} ${f.form} ${f.where} @${f.offset}`;

const runFindings = (run: VirtualRun) =>
  (JSON.parse(readFileSync(join(run.folder, 'findings.json'), 'utf8')) as { findings: Finding[] })
    .findings;

// `phonehome scan` of a run finds exactly what the run found: every identifier the run knew —
// devices.json's, those read from the phone, and the canaries it planted (contacts, e-mail, SMS).
describe('phonehome scan reproduces a run', function () {
  this.timeout(120_000);
  let runs: Awaited<ReturnType<typeof virtualRuns>>;
  before(async () => {
    runs = await virtualRuns();
  });

  for (const side of ['leaky', 'fixed'] as const) {
    it(`finds the ${side} run's findings in its run folder, canaries included`, async () => {
      const run = runs[side];
      const { code, findings } = await scanJson(run.folder);
      expect(code).to.equal(1);
      expect(findings.map(key).sort()).to.deep.equal(runFindings(run).map(key).sort());
      expect(findings.some((f) => f.kind === 'contact_number')).to.equal(true);
    });

    it(`finds the ${side} run's findings in its capture.har, with the run's identifiers`, async () => {
      const run = runs[side];
      const har = join(run.folder, 'capture.har');
      // The HAR beside its journal takes the run's identifiers; --identifiers <run folder> names them.
      for (const argv of [[har], [har, '--identifiers', run.folder]]) {
        const { findings } = await scanJson(...argv);
        expect(findings.map(key).sort(), argv.join(' ')).to.deep.equal(
          runFindings(run).map(key).sort(),
        );
      }
    });
  }
});
