import { killedRun } from '../support/killed-run.ts';
import { expect } from 'chai';
import { appendFileSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { readJournalAll } from '../../src/journal/reader.ts';
import { analyseJournal } from '../../src/verdict/analyse.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

describe('a run killed with SIGKILL', function () {
  this.timeout(90_000);
  const dirs = tempDir();
  const env = {
    PHONEHOME_REPORTS_DIR: join(dirs.path, 'reports'),
    PHONEHOME_CA_DIR: join(dirs.path, 'ca'),
  };
  let folder: string;

  before(async () => {
    // The real CLI, killed once the scenario reached its waiting step: the leaks happened before.
    folder = await killedRun(env.PHONEHOME_REPORTS_DIR, env.PHONEHOME_CA_DIR);
  });
  after(() => dirs.remove());

  it('keeps every exchange that completed before the kill', async () => {
    const records = await readJournalAll(join(folder, 'journal.ndjson'));
    expect(records[0]!.type).to.equal('run-start');
    const exchanges = records.filter((record) => record.type === 'exchange');
    // boot: the connectivity check; the route probe after routing; insert SIM: user@id and
    // activation; add a contact: contacts/match.
    expect(
      exchanges.map((r) =>
        r.type === 'exchange'
          ? `${r.exchange.host}${new URL(r.exchange.request.url).pathname.replace(/^\/[0-9a-f]+\//, '/<nonce>/')}`
          : '',
      ),
    ).to.deep.equal([
      'connect.rom.miui.com/generate_204',
      'probe.phonehome.invalid/<nonce>/routing',
      'api.account.xiaomi.com/pass/v3/user@id',
      'api.account.xiaomi.com/pass/v3/activate/phone',
      'api.account.xiaomi.com/pass/v3/contacts/match',
    ]);
    expect(records.some((record) => record.type === 'run-end')).to.equal(false);
  });

  it('is still judged from its journal: the leaks are found, the run is marked as cut short', async () => {
    const { result } = await analyseJournal(join(folder, 'journal.ndjson'));
    expect(result.error).to.match(/did not end normally/);
    expect(
      [...new Set(result.findings.filter((f) => f.beforeConsent).map((f) => f.kind))].sort(),
    ).to.deep.equal(['contact_number', 'imei', 'msisdn', 'operator']);
  });

  it('tolerates a torn last line', async () => {
    const journal = join(folder, 'journal.ndjson');
    const before = (await readJournalAll(journal)).length;
    const lines = readFileSync(journal, 'utf8').split('\n').filter(Boolean).length;
    appendFileSync(journal, '{"type":"exchange","exchange":{"id":"torn');
    const torn: number[] = [];
    const records = await readJournalAll(journal, { onTornLine: (line) => torn.push(line) });
    expect(records.length).to.equal(before);
    expect(torn).to.deep.equal([lines + 1]);
  });

  it('does not stop the next run from starting cleanly', async () => {
    const result = await runCli(['run', '--device', 'virtual-redmi-1s-optin', '--quiet'], env);
    expect(result.code, result.stderr).to.equal(0);
    const folders = readdirSync(env.PHONEHOME_REPORTS_DIR).filter(
      (name) => !name.startsWith('.') && name !== 'latest',
    );
    expect(folders).to.have.length(2);
    const latest = realpathSync(join(env.PHONEHOME_REPORTS_DIR, 'latest'));
    expect(latest).to.include('virtual-redmi-1s-optin-fsecure-out-of-box');
    expect(JSON.parse(readFileSync(join(latest, 'run.json'), 'utf8')).status).to.equal('pass');
  });
});
