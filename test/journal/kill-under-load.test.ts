import { expect } from 'chai';
import { existsSync, readdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { readJournal } from '../../src/journal/reader.ts';
import { spawnCli } from '../support/cli.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { tempDir } from '../support/temp.ts';

const KILLS = 30;
const CLIENTS = 4;

/** One GET through the proxy; resolves true only when the whole answer came back. */
function get(port: number, agent: Agent, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sent = request(
      {
        host: '127.0.0.1',
        port,
        agent,
        path: `http://load.vendor.test${path}`,
        headers: { host: 'load.vendor.test' },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode === 404));
        response.on('error', () => resolve(false));
      },
    );
    sent.on('error', () => resolve(false));
    sent.end();
  });
}

// "Nothing lost": a capture killed with SIGKILL at any moment keeps every request whose answer
// the phone received — the request is journaled (and flushed) before its answer is sent.
describe('phonehome capture killed with SIGKILL under load', function () {
  this.timeout(KILLS * 20_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  it(`loses no answered request in ${KILLS} kills at random moments`, async () => {
    const random = seededRandom(20141002);
    let answeredTotal = 0;
    const missing: string[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const reports = join(dirs.path, `reports-${kill}`);
      const child = spawnCli(['capture', '--host', '127.0.0.1', '--offline'], {
        PHONEHOME_REPORTS_DIR: reports,
        PHONEHOME_CA_DIR: join(dirs.path, 'ca'),
      });
      child.stderr.resume();
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const found = /host 127\.0\.0\.1, port (\d+)\./.exec(out);
          if (found) resolve(Number(found[1]));
        });
        child.on('close', () => reject(new Error(`capture ended before the load:\n${out}`)));
      });
      const closed = new Promise((resolve) => child.on('close', resolve));
      const answered: string[] = [];
      let killed = false;
      const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
      const client = async (c: number) => {
        for (let n = 0; !killed && n < 2000; n++) {
          const path = `/k${kill}/c${c}/n${n}`;
          if (await get(port, agent, path)) answered.push(path);
        }
      };
      const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
      await new Promise((resolve) => setTimeout(resolve, 150 + random.int(600)));
      child.kill('SIGKILL');
      killed = true;
      await Promise.all([load, closed]);
      agent.destroy();

      const folder = readdirSync(reports).find((name) => name !== 'latest')!;
      const journal = join(reports, folder, 'journal.ndjson');
      expect(existsSync(journal)).to.equal(true);
      const journaled = new Set<string>();
      // The reader skips a torn last line and turns unanswered requests into exchanges.
      for await (const record of readJournal(journal, { onTornLine: () => {} }))
        if (record.type === 'exchange')
          journaled.add(new URL(record.exchange.request.url).pathname);
      missing.push(...answered.filter((path) => !journaled.has(path)));
      answeredTotal += answered.length;
    }
    expect(answeredTotal, 'the load got answers before the kills').to.be.greaterThan(KILLS * 10);
    expect(missing, `answered but not journaled, of ${answeredTotal}`).to.deep.equal([]);
  });
});
