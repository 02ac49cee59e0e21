import { expect } from 'chai';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeRunReports } from '../../src/report/write-run-reports.ts';
import { tempDir } from '../support/temp.ts';
import { fixtureRun } from './fixture-run.ts';

const GOLDEN = join(import.meta.dirname, '..', 'fixtures', 'report', 'golden');
/** UPDATE_GOLDEN=1 npx mocha test/report/golden.test.ts rewrites the golden files. */
const UPDATE = process.env.UPDATE_GOLDEN === '1';

/**
 * What may differ between two writes of the same journal: only where the run folder is. Times
 * and ids are fixed in the fixture journal itself (see fixture-run.ts).
 */
function normalise(text: string, folder: string): string {
  return text.split(folder).join('<run-folder>');
}

// The derived files of a fixed journal, byte for byte: a change to any of them is deliberate, and
// shows in review as a diff of the golden file.
describe('report files written from a journal (golden files)', function () {
  this.timeout(30_000);
  const dir = tempDir();
  const folder = join(dir.path, 'run');
  after(() => dir.remove());

  before(async () => {
    const input = await fixtureRun(folder);
    const { failed } = await writeRunReports(input);
    expect(failed).to.deep.equal([]);
  });

  for (const file of ['run.json', 'findings.json', 'junit.xml', 'capture.har']) {
    it(`writes ${file} as the golden file says`, () => {
      const actual = normalise(readFileSync(join(folder, file), 'utf8'), folder);
      const golden = join(GOLDEN, file);
      if (UPDATE || !existsSync(golden)) {
        if (!UPDATE) throw new Error(`${golden} is missing; write it with UPDATE_GOLDEN=1`);
        writeFileSync(golden, actual);
      }
      expect(actual).to.equal(readFileSync(golden, 'utf8'));
    });
  }

  it('writes every derived file mode 0600', () => {
    for (const file of ['run.json', 'findings.json', 'junit.xml', 'capture.har', 'report.html']) {
      expect(statSync(join(folder, file)).mode & 0o777, file).to.equal(0o600);
    }
  });
});
