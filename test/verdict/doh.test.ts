import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { join } from 'node:path';
import { bodyFromBytes } from '../../src/capture/session.ts';
import { dohQuestions } from '../../src/detect/doh.ts';
import type { JournalRecord } from '../../src/journal/records.ts';
import type { Exchange, HeaderPair } from '../../src/types.ts';
import { analyseJournal } from '../../src/verdict/analyse.ts';
import { runStart, writeJournal } from '../support/journal.ts';
import { tempDir } from '../support/temp.ts';

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const IMEI = '865432101234564';
const NAME = `${IMEI}.beacon.vendor.example`;
const DOH_SERVER = { address: '192.0.2.53', port: 443 };

function query(name: string): Buffer {
  return dnsPacket.encode({ type: 'query', id: 0, questions: [{ type: 'A', name }] });
}

function doh(id: string, at: number, method: 'GET' | 'POST', name: string): Exchange {
  const message = query(name);
  const headers: HeaderPair[] =
    method === 'POST'
      ? [
          ['host', 'dns.resolver.example'],
          ['content-type', 'application/dns-message'],
        ]
      : [['host', 'dns.resolver.example']];
  return {
    id,
    startedAt: at,
    completedAt: at + 5,
    protocol: 'https',
    host: 'dns.resolver.example',
    request: {
      method,
      url:
        method === 'GET'
          ? `https://dns.resolver.example/dns-query?dns=${message.toString('base64url')}`
          : 'https://dns.resolver.example/dns-query',
      httpVersion: '2',
      headers,
      // As the capture keeps a binary body: base64.
      body: method === 'POST' ? bodyFromBytes(message, headers) : { encoding: 'utf8', data: '' },
    },
  };
}

// DNS over HTTPS (RFC 8484), which apps and Android itself use instead of port 53: once the
// capture reads the HTTPS, each name asked for is a lookup — a host contacted, for
// `forbiddenHosts` — and is scanned as a DNS name, also when a GET hides it in base64url.
describe('DNS over HTTPS: the names asked for are lookups', () => {
  const dirs = tempDir();
  after(() => dirs.remove());

  it('reads the names of a POST (application/dns-message) and of a GET (?dns=), and nothing else', () => {
    expect(dohQuestions(doh('a', T0, 'POST', NAME))).to.deep.equal([NAME]);
    expect(dohQuestions(doh('b', T0, 'GET', 'time.vendor.example'))).to.deep.equal([
      'time.vendor.example',
    ]);
    const plain = doh('c', T0, 'POST', NAME);
    plain.request.headers = [['content-type', 'application/octet-stream']];
    expect(dohQuestions(plain)).to.equal(undefined);
    const search = doh('d', T0, 'GET', NAME);
    search.request.url = 'https://search.example/?dns=hello';
    expect(dohQuestions(search)).to.equal(undefined);
  });

  it('fails the forbidden-host verdict on a name looked up over HTTPS before consent, and finds the IMEI in it', async () => {
    const journal = join(dirs.path, 'journal.ndjson');
    const records: JournalRecord[] = [
      runStart(T0, {
        runId: 'doh',
        identifiers: { imei: [IMEI] },
        forbiddenHosts: ['beacon.vendor.example'],
      }),
      { type: 'mark', mark: { type: 'step', name: 'first boot', at: T0 + 10 } },
      {
        type: 'exchange',
        exchange: { ...doh('ex-1', T0 + 100, 'GET', NAME), destination: DOH_SERVER },
      },
      // The vpn route's dump: which app opened the connection to the resolver.
      {
        type: 'connection',
        connection: { at: T0 + 90, ...DOH_SERVER, app: 'com.vendor.browser' },
      },
      { type: 'mark', mark: { type: 'consent', name: 'cloud', covers: 'all', at: T0 + 500 } },
      { type: 'run-end', at: T0 + 600 },
    ];
    writeJournal(journal, records);
    const { result } = await analyseJournal(journal);
    expect(result.lookups).to.equal(1);
    expect(result.exchanges).to.equal(1);
    // In the URL's base64url (the detector decodes it), and as the name the query asks for.
    expect(result.findings.map((finding) => [finding.where, finding.host])).to.deep.equal([
      ['url>base64', 'dns.resolver.example'],
      ['dns-name', 'dns.resolver.example'],
    ]);
    const forbidden = result.verdicts.find((verdict) => verdict.rule === 'forbidden-hosts')!;
    expect(forbidden.status).to.equal('fail');
    expect(forbidden.message).to.include(
      `${NAME} looked up (DNS) by com.vendor.browser during step 'first boot'`,
    );
  });
});
