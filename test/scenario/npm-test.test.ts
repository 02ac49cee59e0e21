import { expect } from 'chai';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.ts';
import { runNode } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

// `npm test` is bin/test.js. With mocha's --dry-run each suite lists its tests without running
// them: enough to see which suites run, in which environment.
describe('npm test', function () {
  this.timeout(120_000);
  const dirs = tempDir();
  after(() => dirs.remove());
  const test = (env: Record<string, string>) =>
    runNode(join(PROJECT_ROOT, 'bin', 'test.js'), ['--dry-run'], env);

  // A machine with none of Debian's tools: PATH holds node and nothing else.
  const bareEnv = () => {
    const bin = join(dirs.path, 'bare-bin');
    mkdirSync(bin, { recursive: true });
    try {
      symlinkSync(process.execPath, join(bin, 'node'));
    } catch {
      // Made by the other test of the pair.
    }
    return { PATH: bin, PHONEHOME_STRICT_TESTS: '' };
  };
  const pcapChecks = join(PROJECT_ROOT, 'test', 'capture', 'pcap.test.ts');

  it('without a system tool, skips the tests that need it and names it with its install command last', async () => {
    const result = await runNode(join(PROJECT_ROOT, 'bin', 'test.js'), [pcapChecks], bareEnv());
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.slice(-3)).to.deep.equal([
      'Skipped, because this machine lacks what they need (CI runs them all):',
      '  - the pcap layout checks need tcpdump: apt-get install tcpdump',
      lines.at(-1),
    ]);
    expect(lines.at(-1)).to.match(/^\d+ passed, 0 failed, 1 skipped$/);
  });

  it('in strict mode (CI), fails a test whose system tool is missing instead of skipping it', async () => {
    const result = await runNode(join(PROJECT_ROOT, 'bin', 'test.js'), [pcapChecks], {
      ...bareEnv(),
      PHONEHOME_STRICT_TESTS: '1',
    });
    expect(result.code).to.not.equal(0);
    expect(result.stdout).to.include(
      'the pcap layout checks need tcpdump: apt-get install tcpdump (PHONEHOME_STRICT_TESTS=1: a skip fails)',
    );
    expect(result.stdout.trim().split('\n').at(-1)).to.match(/^\d+ passed, 1 failed$/);
  });

  it('with a real phone chosen, runs the audit suites on it and not the harness tests', async () => {
    const devices = join(dirs.path, 'devices.json');
    writeFileSync(
      devices,
      JSON.stringify({
        devices: [
          { id: 'redmi', kind: 'android', serial: 'R58M12345', capabilities: {}, identifiers: {} },
        ],
      }),
    );
    const result = await test({ PHONEHOME_DEVICES_FILE: devices, PHONEHOME_DEVICE: 'redmi' });
    expect(result.stderr).to.include(
      "phonehome: redmi is a real phone (android): running the audit suites on it; npm run test:harness runs the harness's own tests",
    );
    expect(result.stdout).to.include('fsecure-out-of-box on redmi');
    expect(result.stdout).not.to.include('devices.json');
    expect(result.stdout.trim().split('\n').at(-1)).to.equal('2 passed, 0 failed');
  });

  it('on the virtual phone, runs the harness tests unaffected by the chosen device, then the audits', async () => {
    const result = await test({ PHONEHOME_DEVICE: 'virtual-redmi-1s-2014' });
    expect(result.code, result.stderr).to.equal(0);
    // The harness run never sees PHONEHOME_DEVICE; the audit run does.
    expect(result.stdout).to.include('the F-Secure out-of-box scenario on the virtual phone');
    expect(result.stdout).to.include('fsecure-out-of-box on virtual-redmi-1s-2014');
    expect(result.stdout).not.to.include('fsecure-out-of-box on virtual-redmi-1s-optin');
    expect(result.stdout.trim().split('\n').at(-1)).to.match(/^\d{3,} passed, 0 failed/);
  });
});
