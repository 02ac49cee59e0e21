import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

// Bad set-up is bad input: exit 2, a message naming the file, flag or folder and the fix, and no
// run folder that could later be read as a clean run.
describe('set-up errors stop a command before any run (exit 2)', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  it('an unwritable CA folder', async function () {
    // root writes through any mode: a file where the folder should be fails for everyone.
    const blocker = join(dirs.path, 'ca-is-a-file');
    writeFileSync(blocker, '');
    const reports = join(dirs.path, 'reports-ca');
    const run = await runCli(['run', '--device', 'virtual-clean'], {
      PHONEHOME_CA_DIR: join(blocker, 'ca'),
      PHONEHOME_REPORTS_DIR: reports,
    });
    expect(run.code, run.stderr).to.equal(2);
    expect(run.stderr).to.include(`cannot create or read the CA in ${join(blocker, 'ca')}`);
    expect(run.stderr).to.include('PHONEHOME_CA_DIR');
    expect(existsSync(reports) ? readdirSync(reports) : []).to.deep.equal([]);
  });

  it('an unwritable reports folder, told on stderr', async () => {
    const blocker = join(dirs.path, 'reports-is-a-file');
    writeFileSync(blocker, '');
    const run = await runCli(['run', '--device', 'virtual-clean'], {
      PHONEHOME_CA_DIR: join(dirs.path, 'ca'),
      PHONEHOME_REPORTS_DIR: join(blocker, 'reports'),
    });
    expect(run.code, run.stderr).to.equal(2);
    expect(run.stderr).to.include(`cannot write run folders into ${join(blocker, 'reports')}`);
    expect(run.stdout).to.not.include('cannot write');
  });

  for (const flag of ['--device', '--devices']) {
    it(`an empty ${flag}`, async () => {
      const run = await runCli(['run', flag, ''], { PHONEHOME_CA_DIR: join(dirs.path, 'ca') });
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.match(
        /is empty; give a device id from .*known: virtual-redmi-1s-optin/,
      );
    });
  }

  it('a .env line that is not NAME=value, without printing the line', async () => {
    const cwd = join(dirs.path, 'with-env');
    mkdirSync(cwd);
    writeFileSync(join(cwd, '.env'), '# ok\nPHONEHOME_REVEAL=0\nBROWSERSTACK_KEY s3cr3t-value\n');
    // npm test runs the harness with no .env (PHONEHOME_ENV_FILE=/dev/null); this one reads cwd's.
    const run = await runCli(['devices'], { PHONEHOME_ENV_FILE: '' }, cwd);
    expect(run.code, run.stderr).to.equal(2);
    expect(run.stderr).to.include(`${join(cwd, '.env')}:3 is not NAME=value`);
    expect(run.stderr + run.stdout).to.not.include('s3cr3t');
  });
});
