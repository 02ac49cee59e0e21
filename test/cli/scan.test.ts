import { expect } from 'chai';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanCommand } from '../../src/cli/scan.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import type { Exchange } from '../../src/types.ts';

const HAR = 'test/fixtures/detect/xiaomi-2014.har';
const IDS = 'test/fixtures/detect/xiaomi-2014.ids.json';
const folder = mkdtempSync(join(tmpdir(), 'phonehome-scan-'));

/** Runs `phonehome scan` and keeps what it printed. */
async function scan(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => out.push(args.join(' '));
  console.error = (...args: unknown[]) => err.push(args.join(' '));
  try {
    const code = await scanCommand(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const EXPECTED = [
  {
    exchange: 0,
    kind: 'imei',
    label: 'IMEI #1',
    form: 'plain',
    where: 'cookie:deviceId',
    host: 'api.account.xiaomi.com',
    offset: 0,
    evidence: 'strong',
  },
  {
    exchange: 1,
    kind: 'msisdn',
    label: 'phone number #1',
    form: 'plain',
    where: 'request-body>gzip',
    host: 'api.account.xiaomi.com',
    offset: 10,
    evidence: 'strong',
  },
  {
    exchange: 1,
    kind: 'operator',
    label: 'operator name #1',
    form: 'plain',
    where: 'request-body>gzip',
    host: 'api.account.xiaomi.com',
    offset: 32,
    evidence: 'weak',
  },
  {
    exchange: 1,
    kind: 'imsi',
    label: 'IMSI #1',
    form: 'plain',
    where: 'response-body',
    host: 'api.account.xiaomi.com',
    offset: 19,
    evidence: 'strong',
  },
];

function writeRun(
  name: string,
  exchanges: Exchange[],
  identifiers: Record<string, string[]>,
): string {
  const run = join(folder, name);
  mkdirSync(run);
  const journal = JournalWriter.open(join(run, 'journal.ndjson'));
  journal.append({
    type: 'run-start',
    version: 1,
    at: 1,
    runId: name,
    scenario: 's',
    scenarioTitle: 's',
    device: { id: 'd', kind: 'virtual' },
    identifiers,
    consents: [],
    forbiddenHosts: [],
    versions: {},
  });
  journal.append({ type: 'mark', mark: { type: 'step', name: 'boot', at: 2 } });
  for (const exchange of exchanges) journal.append({ type: 'exchange', exchange });
  journal.append({ type: 'run-end', at: 3 });
  journal.close();
  return run;
}

function exchange(id: string, url: string, cookie = ''): Exchange {
  return {
    id,
    startedAt: 10,
    completedAt: 11,
    protocol: 'http',
    host: new URL(url).hostname,
    request: {
      method: 'GET',
      url,
      httpVersion: '1.1',
      headers: cookie ? [['Cookie', cookie]] : [],
      body: { encoding: 'utf8', data: '' },
    },
    response: {
      status: 200,
      statusMessage: 'OK',
      headers: [],
      body: { encoding: 'utf8', data: 'ok' },
    },
  };
}

describe('phonehome scan', () => {
  it('finds the leaks of a HAR file and exits 1, as JSON', async () => {
    const { code, out } = await scan(HAR, '--identifiers', IDS, '--json');
    expect(code).to.equal(1);
    expect(JSON.parse(out)).to.deep.equal({ schemaVersion: 1, findings: EXPECTED, unscanned: [] });
  });

  it('gives the same findings on worker threads', async function () {
    // Each worker compiles the detector's TypeScript on start: seconds on a busy machine.
    this.timeout(30_000);
    const { code, out } = await scan(HAR, '--identifiers', IDS, '--json', '--workers', '2');
    expect(code).to.equal(1);
    expect(JSON.parse(out)).to.deep.equal({ schemaVersion: 1, findings: EXPECTED, unscanned: [] });
  });

  it('prints a readable table with the values masked', async () => {
    const { out } = await scan(HAR, '--identifiers', IDS);
    expect(out).to.match(
      /^4 findings in 2 of 3 exchanges of test\/fixtures\/detect\/xiaomi-2014\.har/,
    );
    expect(out).to.match(/0 +api\.account\.xiaomi\.com +IMEI #1 +plain +cookie:deviceId +strong/);
    expect(out).to.include('deviceId=⟦86…564⟧; lang=zh_CN');
    expect(out).not.to.include('865432101234564');
  });

  it("exits 0 when another phone's identifiers are not in the capture", async () => {
    const other = join(folder, 'other.json');
    writeFileSync(other, JSON.stringify({ imei: ['865432101234572'], imsi: ['460001234567891'] }));
    const { code, out } = await scan(HAR, '--identifiers', other);
    expect(code).to.equal(0);
    expect(out).to.equal(`nothing found in 3 exchanges of ${HAR}`);
  });

  it('scans a run folder with the identifiers its journal names, counting exchanges in journal order', async () => {
    const run = writeRun(
      'run-a',
      [
        exchange('a', 'https://a.example.test/'),
        exchange(
          'b',
          'http://api.account.xiaomi.com/pass/v3/user@id?type=MXPH&externalId=01',
          'deviceId=865432101234564',
        ),
      ],
      { imei: ['865432101234564'] },
    );
    const { code, out } = await scan(run, '--json');
    expect(code).to.equal(1);
    expect(JSON.parse(out).findings).to.deep.equal([
      {
        exchange: 1,
        kind: 'imei',
        label: 'IMEI #1',
        form: 'plain',
        where: 'cookie:deviceId',
        host: 'api.account.xiaomi.com',
        offset: 0,
        evidence: 'strong',
      },
    ]);
  });

  it('exits 1 when nothing was found but a body was not scanned, and says which on stderr', async () => {
    const bomb = exchange('b', 'http://upload.vendor.test/ota');
    bomb.request.body = {
      encoding: 'base64',
      data: 'H4sIAAAAAAAAAw==',
      unscanned:
        'gzip body decoding past 67108864 bytes (a decompression bomb?): the rest was not scanned',
    };
    const run = writeRun('run-unscanned', [exchange('a', 'https://a.example.test/'), bomb], {
      imei: ['865432101234564'],
    });
    const json = await scan(run, '--json');
    expect(json.code).to.equal(1);
    expect(JSON.parse(json.out)).to.deep.equal({
      schemaVersion: 1,
      findings: [],
      unscanned: [
        {
          exchange: 1,
          host: 'upload.vendor.test',
          where: 'request-body',
          reason: bomb.request.body.unscanned,
        },
      ],
    });
    expect(json.err).to.equal(
      `phonehome scan: warning: exchange 1 (upload.vendor.test) request-body was not scanned: ${bomb.request.body.unscanned}`,
    );
    const text = await scan(run);
    expect(text.code).to.equal(1);
    expect(text.out).to.match(
      /^nothing found in 2 exchanges of .*journal\.ndjson\ninconclusive: 1 part\(s\) of 1 exchange\(s\) were not scanned, so the capture cannot be called clean/,
    );
  });

  it('reports a HAR body stored lossily as text, or in an encoding it cannot read, as unscanned', async () => {
    const entry = (postData: Record<string, string>) => ({
      startedDateTime: '2014-08-10T10:00:00.000Z',
      time: 1,
      request: {
        method: 'POST',
        url: 'https://api.vendor.test/upload',
        httpVersion: 'HTTP/1.1',
        headers: [{ name: 'Content-Encoding', value: 'gzip' }],
        postData: { mimeType: 'application/json', ...postData },
      },
      response: { status: 200, statusText: 'OK', headers: [], content: { size: 0, mimeType: 'x' } },
    });
    const har = join(folder, 'lossy.har');
    writeFileSync(
      har,
      JSON.stringify({
        log: {
          version: '1.2',
          creator: { name: 'Playwright', version: '1' },
          entries: [
            // What Chromium exports for a gzip request body: 0x1f, then U+FFFD for 0x8b, …
            entry({ text: '\u001f\uFFFD\b\u0000\u0000\u0000\u0000\u0000\u0000\u0003\uFFFD\uFFFD' }),
            entry({ text: 'aW1laQ==', encoding: 'quoted-printable' }),
            entry({ text: '{"plain":"text"}' }),
          ],
        },
      }),
    );
    const ids = join(folder, 'lossy.ids.json');
    writeFileSync(ids, JSON.stringify({ imei: ['865432101234564'] }));
    const { code, out, err } = await scan(har, '--identifiers', ids, '--json');
    expect(code).to.equal(1);
    const { findings, unscanned } = JSON.parse(out);
    expect(findings).to.deep.equal([]);
    expect(
      unscanned.map((u: { exchange: number; where: string }) => [u.exchange, u.where]),
    ).to.deep.equal([
      [0, 'request-body'],
      [1, 'request-body'],
    ]);
    expect(unscanned[0].reason).to.match(
      /with 3 U\+FFFD replacement character\(s\): the bytes they stand for were lost/,
    );
    expect(unscanned[1].reason).to.equal(
      'the body\'s HAR encoding "quoted-printable" is not one phonehome reads (only base64): not scanned',
    );
    expect(err.split('\n')).to.have.length(2);
  });

  it('skips a torn last line of a killed run and says so', async () => {
    const run = writeRun(
      'run-torn',
      [exchange('a', 'https://a.example.test/?imei=865432101234564')],
      { imei: ['865432101234564'] },
    );
    appendFileSync(
      join(run, 'journal.ndjson'),
      '{"type":"exchange","exchange":{"id":"b","startedAt":',
    );
    const { code, err } = await scan(join(run, 'journal.ndjson'), '--json');
    expect(code).to.equal(1);
    expect(err).to.match(
      /journal\.ndjson:5 is torn \(the run was killed while writing it\); skipped/,
    );
  });

  const BAD: [name: string, argv: () => string[], message: RegExp][] = [
    [
      'a missing file',
      () => ['nope.har', '--identifiers', IDS],
      /nope\.har does not exist; pass a \.har file, a run folder or a journal\.ndjson/,
    ],
    [
      'a folder without a journal',
      () => [folder, '--identifiers', IDS],
      /is a folder without journal\.ndjson/,
    ],
    [
      'a HAR without identifiers',
      () => [HAR],
      /is a HAR file, which carries no identifiers; pass --identifiers ids\.json, --identifiers <the run folder it came from>, or --device <id>/,
    ],
    [
      'an unknown kind in ids.json',
      () => {
        const f = join(folder, 'bad-kind.json');
        writeFileSync(f, '{"imeii":["1"]}');
        return [HAR, '--identifiers', f];
      },
      /bad-kind\.json: unknown identifier kind 'imeii'; known: imei/,
    ],
    [
      'ids.json that is not JSON',
      () => {
        const f = join(folder, 'broken.json');
        writeFileSync(f, '{imei:');
        return [HAR, '--identifiers', f];
      },
      /broken\.json is not valid JSON/,
    ],
    [
      'a missing ids.json',
      () => [HAR, '--identifiers', join(folder, 'none.json')],
      /none\.json does not exist; write it as \{ "imei": \["…"\]/,
    ],
    [
      'an invalid HAR',
      () => {
        const f = join(folder, 'x.har');
        writeFileSync(f, '{"log":{}}');
        return [f, '--identifiers', IDS];
      },
      /x\.har is not a HAR 1\.2 file/,
    ],
    ['an unknown device', () => [HAR, '--device', 'pixel-99'], /pixel-99/],
    ['an unknown option', () => [HAR, '--idents', IDS], /unknown option --idents/],
    [
      'both --identifiers and --device',
      () => [HAR, '--identifiers', IDS, '--device', 'virtual-clean'],
      /give --identifiers or --device, not both/,
    ],
    ['no capture', () => ['--json'], /which capture\?/],
  ];
  for (const [name, argv, message] of BAD) {
    it(`exits 2 on ${name}, saying what to do`, async () => {
      const { code, err } = await scan(...argv());
      expect(code).to.equal(2);
      expect(err).to.match(message);
    });
  }
});
