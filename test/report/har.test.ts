import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJournalAll } from '../../src/journal/reader.ts';
import { writeRunReports } from '../../src/report/write-run-reports.ts';
import type { Exchange, Identifier, IdentifierValues, InlineBody } from '../../src/types.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';
import { fixtureRun } from './fixture-run.ts';
import { virtualRuns } from './virtual-runs.ts';

interface HarEntry {
  startedDateTime: string;
  time: number;
  request: Record<string, unknown> & { postData?: { text: string; encoding?: string } };
  response: Record<string, unknown> & { content: { text?: string; encoding?: string } };
  timings: Record<string, number>;
  _id: string;
  _phonehome: { phase: string; step: string; findings: { kind: string; label: string }[] };
}

/** The fields HAR 1.2 requires of an entry, with their types (W3C HAR spec, "entries"). */
function checkHar12(har: { log: Record<string, unknown> }): HarEntry[] {
  const { log } = har;
  expect(log.version).to.equal('1.2');
  expect(log.creator).to.include({ name: 'phonehome' });
  const entries = log.entries as HarEntry[];
  expect(entries).to.be.an('array');
  for (const entry of entries) {
    expect(new Date(entry.startedDateTime).toISOString()).to.equal(entry.startedDateTime);
    expect(entry.time).to.be.a('number').at.least(0);
    for (const key of ['method', 'url', 'httpVersion', 'headersSize', 'bodySize'])
      expect(entry.request, key).to.have.property(key);
    for (const key of ['cookies', 'headers', 'queryString'])
      expect(entry.request[key], key).to.be.an('array');
    for (const key of ['status', 'statusText', 'httpVersion', 'redirectURL', 'headersSize'])
      expect(entry.response, key).to.have.property(key);
    expect(entry.response.content).to.have.property('size');
    expect(entry.response.content).to.have.property('mimeType');
    // HAR: the non-negative timings add up to the entry's time.
    const sum = Object.values(entry.timings)
      .filter((value) => value >= 0)
      .reduce((a, b) => a + b, 0);
    expect(sum, `timings of ${entry._id}`).to.equal(entry.time);
    expect(entry._phonehome.phase).to.be.a('string');
  }
  return entries;
}

function identifierFile(identifiers: Identifier[], path: string): string {
  const values: IdentifierValues = {};
  for (const identifier of identifiers) (values[identifier.kind] ??= []).push(identifier.value);
  writeFileSync(path, JSON.stringify(values), { mode: 0o600 });
  return path;
}

describe('capture.har', function () {
  this.timeout(120_000);
  const dir = tempDir();
  after(() => dir.remove());

  it('is HAR 1.2 with base64 binary bodies, timings, and phase and findings under _phonehome', async () => {
    const folder = join(dir.path, 'fixture');
    const input = await fixtureRun(folder);
    await writeRunReports(input);
    const entries = checkHar12(JSON.parse(readFileSync(join(folder, 'capture.har'), 'utf8')));
    const journal = (await readJournalAll(join(folder, 'journal.ndjson')))
      .filter((record) => record.type === 'exchange')
      .map((record) => (record as { exchange: Exchange }).exchange);
    expect(entries.map((e) => e._id)).to.deep.equal(journal.map((e) => e.id));

    const binary = entries.find((e) => e._id === 'ex-binary')!;
    const original = journal.find((e) => e.id === 'ex-binary')!;
    expect(binary.request.postData).to.deep.include({ encoding: 'base64' });
    expect(Buffer.from(binary.request.postData!.text, 'base64')).to.deep.equal(
      Buffer.from((original.request.body as InlineBody).data, 'base64'),
    );
    expect(binary._phonehome).to.deep.include({ phase: 'before consent', step: 'make a call' });
    expect(binary._phonehome.findings.map((f) => f.label)).to.deep.equal(['IMEI #1']);

    const unanswered = entries.find((e) => e._id === 'ex-error')! as HarEntry & { _error: string };
    expect(unanswered.response.status).to.equal(0);
    expect(unanswered._error).to.equal('socket hang up');
    const after = entries.filter((e) => e._phonehome.phase === 'after cloud-messaging');
    expect(after.length).to.be.greaterThan(0);
  });

  it('round-trips: `phonehome scan capture.har` finds what the run found', async () => {
    const { leaky } = await virtualRuns();
    const ids = identifierFile(leaky.identifiers, join(dir.path, 'ids.json'));
    const scan = await runCli([
      'scan',
      join(leaky.folder, 'capture.har'),
      '--identifiers',
      ids,
      '--json',
    ]);
    expect(scan.code, scan.stderr).to.equal(1);
    const found = (JSON.parse(scan.stdout) as { findings: Record<string, unknown>[] }).findings;
    const key = (f: Record<string, unknown>) =>
      [f.exchange, f.kind, f.label, f.form, f.where, f.host].join(' | ');
    expect(found.map(key).sort()).to.deep.equal(
      leaky.result.findings.map((f) => key(f as unknown as Record<string, unknown>)).sort(),
    );
    expect(found.length).to.be.greaterThan(0);
  });
});
