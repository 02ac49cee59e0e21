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
async function captureOnce(
  args: string[],
  env: Record<string, string>,
  path = `http://tracker.example.test/ping?imei=${IMEI}`,
) {
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
        path: path === 'probe' ? /prove the route: open (\S+)/.exec(out)![1]! : path,
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

  // Nothing drives a phone on Wi-Fi: its user proves the route by opening the printed probe URL.
  it('passes only once the probe URL printed was opened through the proxy', async () => {
    const ids = join(dirs.path, 'ids-clean.json');
    writeFileSync(ids, JSON.stringify({ imei: [IMEI] }));
    const unproven = await captureOnce(['--identifiers', ids], env, 'http://clean.example.test/');
    expect(unproven.code, unproven.out).to.equal(1);
    expect(unproven.out).to.match(/^INCONCLUSIVE {2}capture on wifi-phone: 1 exchanges/m);
    expect(unproven.out).to.include(
      'route not proven: the probe URL opened by hand on the phone never reached the capture',
    );
    const proven = await captureOnce(['--identifiers', ids], env, 'probe');
    expect(proven.code, proven.out).to.equal(0);
    expect(proven.out).to.match(
      /^PASS \(proxy-aware traffic only\) {2}capture on wifi-phone: 0 exchanges/m,
    );
    expect(proven.out).to.match(/route probe opened by hand: arrived after \d+ ms/);
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
