import { expect } from 'chai';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { runCommand } from '../report/run-command.ts';
import { spawnCli } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

const IMEI = '865432101234564';

/**
 * `phonehome capture` in Wi-Fi mode (no --device), with the phone played by a real HTTP client
 * sending its IMEI in a URL before any consent. Loopback stands in for the LAN address here.
 */
async function captureOnce(args: string[], env: Record<string, string>) {
  const child = spawnCli(['capture', '--host', '127.0.0.1', '--offline', ...args], env);
  let out = '';
  const killer = setTimeout(() => child.kill('SIGKILL'), 50_000);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /host 127\.0\.0\.1, port (\d+)\./.exec(out);
      if (found) resolve(Number(found[1]));
    });
    child.on('close', () => reject(new Error(`capture ended early:\n${out}`)));
  });
  await new Promise<void>((resolve, reject) => {
    const sent = request(
      {
        host: '127.0.0.1',
        port,
        method: 'GET',
        path: `http://tracker.example.test/ping?imei=${IMEI}`,
      },
      (response) => response.resume().on('end', () => resolve()),
    );
    sent.on('error', reject);
    sent.end();
  });
  child.stdin.write('consent\nquit\n');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(killer);
  return { code, out };
}

describe('phonehome capture: no verdict without identifiers', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  after(() => dirs.remove());
  let noIdentifiersRun = '';
  const env = {
    PHONEHOME_REPORTS_DIR: join(dirs.path, 'reports'),
    PHONEHOME_CA_DIR: join(dirs.path, 'ca'),
    PHONEHOME_REVEAL: '',
  };

  it('with no identifiers known, is inconclusive and names --identifiers, never a pass', async () => {
    const { code, out } = await captureOnce([], env);
    expect(code, out).to.equal(1);
    expect(out).to.include('pass --identifiers FILE');
    expect(out).to.match(/^INCONCLUSIVE {2}capture on wifi-phone: 1 exchanges, 0 findings$/m);
    expect(out).to.match(/--identifiers FILE for capture and scan/);
    noIdentifiersRun = join(env.PHONEHOME_REPORTS_DIR, 'latest');
  });

  it('will not make a "clean" redacted copy of a run that knew no identifiers', async () => {
    const refused = await runCommand('report', [noIdentifiersRun, '--redact']);
    expect(refused.code, refused.stderr).to.equal(2);
    expect(refused.stderr).to.include('looked for no identifiers');
    expect(refused.stderr).to.include('--identifiers ids.json');
    const ids = join(dirs.path, 'ids-for-redaction.json');
    writeFileSync(ids, JSON.stringify({ imei: [IMEI] }));
    const out = join(dirs.path, 'redacted');
    const made = await runCommand('report', [
      noIdentifiersRun,
      '--redact',
      '--identifiers',
      ids,
      '--out',
      out,
    ]);
    expect(made.code, made.stderr).to.be.oneOf([0, 1]);
    for (const file of readdirSync(out))
      expect(readFileSync(join(out, file), 'utf8'), file).to.not.include(IMEI);
  });

  it('with --identifiers, finds the IMEI sent before consent and fails', async () => {
    const ids = join(dirs.path, 'ids.json');
    writeFileSync(ids, JSON.stringify({ imei: [IMEI] }));
    const { code, out } = await captureOnce(['--identifiers', ids], env);
    expect(code, out).to.equal(1);
    expect(out).to.match(/^FAIL {2}capture on wifi-phone: 1 exchanges, 1 findings$/m);
    expect(out).to.match(/IMEI #1 +→ tracker\.example\.test {2}in url/);
  });

  it('refuses a bad identifiers file before it starts, naming it (exit 2)', async () => {
    const bad = join(dirs.path, 'bad.json');
    writeFileSync(bad, '{ "imei": [');
    const child = spawnCli(['capture', '--host', '127.0.0.1', '--identifiers', bad], env);
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).to.equal(2);
    expect(err).to.include(`${bad} is not valid JSON`);
  });
});
