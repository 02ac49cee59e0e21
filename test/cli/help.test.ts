import { expect } from 'chai';
import { join } from 'node:path';
import { colourStatuses } from '../../src/cli/colour.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

const COMMANDS = [
  'start',
  'run',
  'scan',
  'report',
  'diff',
  'merge',
  'capture',
  'doctor',
  'restore',
  'devices',
];

describe('the command line', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  for (const command of COMMANDS) {
    it(`answers ${command} --help and help ${command} with its usage, exit 0`, async () => {
      for (const args of [
        [command, '--help'],
        [command, '-h'],
        ['help', command],
      ]) {
        const result = await runCli(args);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).to.equal(0);
        expect(result.stdout).to.match(new RegExp(`^usage: phonehome ${command}\\b`));
        expect(result.stderr).to.equal('');
      }
    });
  }

  it('suggests the command meant, exit 2', async () => {
    const result = await runCli(['rnu']);
    expect(result.code).to.equal(2);
    expect(result.stderr.trim()).to.equal(
      "phonehome: unknown command 'rnu'; did you mean 'run'? (phonehome help lists them)",
    );
  });

  it("suggests the option meant, exit 2, without Node's parseArgs advice", async () => {
    const result = await runCli(['run', '--devcie', 'virtual-clean']);
    expect(result.code).to.equal(2);
    expect(result.stderr.trim()).to.equal(
      'phonehome: unknown option --devcie for phonehome run; did you mean --device? (phonehome help run)',
    );
    const far = await runCli(['scan', 'x.har', '--zzzzzz']);
    expect(far.code).to.equal(2);
    expect(far.stderr.trim()).to.equal(
      'phonehome: unknown option --zzzzzz for phonehome scan (phonehome help scan)',
    );
  });

  it('says a missing option value in its own words', async () => {
    const result = await runCli(['run', '--parallel']);
    expect(result.code).to.equal(2);
    expect(result.stderr.trim()).to.equal(
      'phonehome: --parallel <value> needs a value (phonehome help run)',
    );
  });

  it('prints its version for -V, --version and version', async () => {
    for (const flag of ['-V', '--version', 'version']) {
      const result = await runCli([flag]);
      expect(result.code).to.equal(0);
      expect(result.stdout.trim()).to.match(/^\d+\.\d+\.\d+$/);
    }
  });

  it('doctor on the virtual phone checks what applies to it, not adb, and exits 0', async () => {
    const result = await runCli(['doctor'], {
      PATH: '/usr/bin/nonexistent',
      PHONEHOME_CA_DIR: join(dirs.path, 'ca'),
    });
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout.split('\n').map((line) => line.split(':')[0])).to.deep.equal([
      'checking virtual-redmi-1s-optin (virtual)',
      '✓ Node',
      '✓ Appium',
      '✓ virtual phone driver',
      '✓ CA',
      '',
    ]);
  });

  it("keeps Appium's own log out of the terminal, unless --verbose", async () => {
    const env = {
      PHONEHOME_CA_DIR: join(dirs.path, 'ca'),
      PHONEHOME_REPORTS_DIR: join(dirs.path, 'reports'),
    };
    const quiet = await runCli(['run', '--device', 'virtual-redmi-1s-optin'], env);
    expect(quiet.code, quiet.stderr).to.equal(0);
    expect(quiet.stdout + quiet.stderr).to.not.match(/dbug|\[Appium\]|Appium REST http interface/);
    const verbose = await runCli(['run', '--device', 'virtual-redmi-1s-optin', '--verbose'], env);
    expect(verbose.code, verbose.stderr).to.equal(0);
    expect(verbose.stdout + verbose.stderr).to.match(/dbug Appium/);
  });

  it('gives devices --json with a schemaVersion', async () => {
    const result = await runCli(['devices', '--json']);
    expect(result.code).to.equal(0);
    const parsed = JSON.parse(result.stdout) as {
      schemaVersion: number;
      devices: { id: string; route: string }[];
    };
    expect(parsed.schemaVersion).to.equal(1);
    expect(parsed.devices.map((d) => d.id)).to.include('virtual-redmi-1s-optin');
    expect(parsed.devices.find((d) => d.id === 'virtual-clean')?.route).to.equal('proxy');
  });

  it('colours PASS and FAIL on a terminal, and never with NO_COLOR or in a pipe', () => {
    const text = 'FAIL  x on y\n  ✓ runs to the end\nPASS  x on z';
    expect(colourStatuses(text, true)).to.equal(
      '\x1b[1;31mFAIL\x1b[0m  x on y\n  ✓ runs to the end\n\x1b[1;32mPASS\x1b[0m  x on z',
    );
    expect(colourStatuses(text, false)).to.equal(text);
    const saved = process.env.NO_COLOR;
    process.env.NO_COLOR = '1';
    try {
      expect(colourStatuses(text)).to.equal(text);
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
  });
});
