import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppAttribution } from '../../src/journal/attribution.ts';
import type { JournalRecord } from '../../src/journal/records.ts';
import { writeHar } from '../../src/report/har.ts';
import type { Exchange } from '../../src/types.ts';
import { analyseJournal } from '../../src/verdict/analyse.ts';
import { runStart, writeJournal } from '../support/journal.ts';
import { tempDir } from '../support/temp.ts';

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const IMEI = '865432101234564';

function exchange(id: string, at: number, address: string, host = 'api.vendor.example'): Exchange {
  return {
    id,
    startedAt: at,
    completedAt: at + 5,
    protocol: 'https',
    host,
    request: {
      method: 'POST',
      url: `https://${host}/register`,
      httpVersion: '1.1',
      headers: [['host', host]],
      body: { encoding: 'utf8', data: `{"imei":"${IMEI}"}` },
    },
    response: {
      status: 200,
      statusMessage: 'OK',
      headers: [],
      body: { encoding: 'utf8', data: '' },
    },
    destination: { address, port: 443 },
  };
}

// The vpn route ties each exchange to the app whose TCP connection it came over: the packet
// dump journals which app opened a connection to which address and port (often after the
// exchange itself, since PCAPdroid writes once a second), and the capture's SOCKS5 side knows
// the address the phone connected to. Judged from a journal, as every report is.
describe('which app sent it (vpn route: connections from the packet dump)', () => {
  const dirs = tempDir();
  after(() => dirs.remove());

  it('names the one app that had connected to the destination, or every app that had', () => {
    const apps = new AppAttribution();
    apps.add({ at: 100, address: '203.0.113.9', port: 443, app: 'com.vendor.app' });
    apps.add({ at: 100, address: '198.51.100.4', port: 443, app: 'com.a' });
    apps.add({ at: 150, address: '198.51.100.4', port: 443, app: 'com.b' });
    apps.add({ at: 160, address: '198.51.100.4', port: 443, app: 'com.a' });
    for (const app of ['c', 'd', 'e', 'f'])
      apps.add({ at: 100, address: '192.0.2.1', port: 443, app: `com.${app}` });
    expect(apps.appFor({ address: '203.0.113.9', port: 443 }, 120)).to.equal('com.vendor.app');
    // Not before it was opened, and not another port.
    expect(apps.appFor({ address: '203.0.113.9', port: 443 }, 99)).to.equal(undefined);
    expect(apps.appFor({ address: '203.0.113.9', port: 80 }, 120)).to.equal(undefined);
    expect(apps.appFor({ address: '198.51.100.4', port: 443 }, 140)).to.equal('com.a');
    expect(apps.appFor({ address: '198.51.100.4', port: 443 }, 200)).to.equal('com.a or com.b');
    expect(apps.appFor({ address: '192.0.2.1', port: 443 }, 200)).to.equal(
      'one of 4 apps (com.c, com.d, com.e, …)',
    );
    expect(apps.appFor(undefined, 200)).to.equal(undefined);
  });

  it('puts the app in the finding, the failure and the contacts, from a connection journalled after the exchange', async () => {
    const journal = join(dirs.path, 'journal.ndjson');
    const records: JournalRecord[] = [
      runStart(T0, { runId: 'attribution', identifiers: { imei: [IMEI] } }),
      { type: 'mark', mark: { type: 'step', name: 'first boot', at: T0 + 10 } },
      { type: 'exchange', exchange: exchange('ex-1', T0 + 100, '203.0.113.9') },
      { type: 'exchange', exchange: exchange('ex-2', T0 + 120, '198.51.100.4', 'cdn.example') },
      {
        type: 'tls-failure',
        failure: {
          at: T0 + 130,
          host: 'pinned.vendor.example',
          cause: 'tls-cert-rejected',
          destination: { address: '192.0.2.7', port: 443 },
        },
      },
      // PCAPdroid's dump, a second later: which app opened each connection, and when.
      {
        type: 'connection',
        connection: { at: T0 + 90, address: '203.0.113.9', port: 443, app: 'com.vendor.daemon' },
      },
      {
        type: 'connection',
        connection: { at: T0 + 95, address: '198.51.100.4', port: 443, app: 'com.a' },
      },
      {
        type: 'connection',
        connection: { at: T0 + 96, address: '198.51.100.4', port: 443, app: 'com.b' },
      },
      {
        type: 'connection',
        connection: { at: T0 + 125, address: '192.0.2.7', port: 443, app: 'com.vendor.app' },
      },
      { type: 'mark', mark: { type: 'consent', name: 'cloud', covers: 'all', at: T0 + 500 } },
      { type: 'run-end', at: T0 + 600 },
    ];
    writeJournal(journal, records);
    const { result } = await analyseJournal(journal);
    expect(result.findings.map((f) => [f.exchangeId, f.app])).to.deep.equal([
      ['ex-1', 'com.vendor.daemon'],
      // The latest connection first: the one most likely to carry it.
      ['ex-2', 'com.b or com.a'],
    ]);
    const consent = result.verdicts.find((verdict) => verdict.rule === 'consent')!;
    expect(consent.status).to.equal('fail');
    expect(consent.message).to.include(
      `sent to api.vendor.example by com.vendor.daemon during step 'first boot'`,
    );
    expect(consent.message).to.include(`sent to cdn.example by com.b or com.a during step`);
    expect(result.unreadable.map((failure) => [failure.host, failure.app])).to.deep.equal([
      ['pinned.vendor.example', 'com.vendor.app'],
    ]);
    // The HAR says the same of each entry.
    const har = join(dirs.path, 'capture.har');
    await writeHar(journal, har, { result, findings: result.findings, version: '0.1.0' });
    const entries = JSON.parse(readFileSync(har, 'utf8')).log.entries as {
      _id: string;
      _phonehome: { app?: string };
    }[];
    expect(entries.map((entry) => [entry._id, entry._phonehome.app])).to.deep.equal([
      ['ex-1', 'com.vendor.daemon'],
      ['ex-2', 'com.b or com.a'],
    ]);
  });
});
