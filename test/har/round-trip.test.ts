import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { createDetector } from '../../src/detect/detector.ts';
import { identifiersFrom } from '../../src/detect/identifiers.ts';
import { readHar } from '../../src/har/read.ts';
import { harEntry } from '../../src/report/har.ts';
import type { Exchange } from '../../src/types.ts';

const IMEI = '865432101234564';

function exchange(
  id: string,
  over: Partial<Exchange['request']>,
  response?: Exchange['response'],
): Exchange {
  return {
    id,
    startedAt: 1_400_000_000_000,
    completedAt: 1_400_000_000_120,
    protocol: 'https',
    host: 'api.account.xiaomi.com',
    request: {
      method: 'GET',
      url: 'https://api.account.xiaomi.com/pass/v3/user@id?type=MXPH',
      httpVersion: 'HTTP/1.1',
      headers: [],
      body: { encoding: 'utf8', data: '' },
      ...over,
    },
    ...(response ? { response } : {}),
  };
}

const EXCHANGES: Exchange[] = [
  exchange(
    'a',
    { headers: [['Cookie', `deviceId=${IMEI}`]] },
    {
      status: 200,
      statusMessage: 'OK',
      headers: [['Content-Type', 'application/json']],
      body: { encoding: 'utf8', data: '{"ok":true}' },
    },
  ),
  exchange('b', {
    method: 'POST',
    headers: [['Content-Type', 'application/octet-stream']],
    body: { encoding: 'base64', data: gzipSync(`{"imei":"${IMEI}"}`).toString('base64') },
  }),
  exchange('c', {
    method: 'POST',
    headers: [
      ['Content-Type', 'application/json'],
      ['Content-Encoding', 'br'],
    ],
    body: {
      encoding: 'base64',
      data: brotliCompressSync(`{"imei":"${IMEI}"}`).toString('base64'),
      decodeError: 'unsupported encoding',
    },
  }),
  exchange(
    'd',
    { url: `https://api.account.xiaomi.com/x?i=${IMEI}` },
    {
      status: 200,
      statusMessage: 'OK',
      headers: [],
      body: { encoding: 'base64', data: Buffer.from([0, 1, 2, 255]).toString('base64') },
    },
  ),
];

describe("phonehome's own HAR export", () => {
  it('reads back as the same exchanges, and the detector finds the same things in them', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'phonehome-har-rt-')), 'capture.har');
    const entries = EXCHANGES.map((e) =>
      harEntry(e, 'run-1', { phase: 'before consent', step: 'boot', findings: [] }),
    );
    writeFileSync(
      file,
      JSON.stringify({
        log: { version: '1.2', creator: { name: 'phonehome', version: '0' }, entries },
      }),
    );
    const read: Exchange[] = [];
    for await (const e of readHar(file)) read.push(e);

    expect(
      read.map((e) => [e.startedAt, e.completedAt, e.host, e.request.method, e.request.url]),
    ).to.deep.equal(
      EXCHANGES.map((e) => [e.startedAt, e.completedAt, e.host, e.request.method, e.request.url]),
    );
    const bodyBytes = (e: Exchange) =>
      Buffer.from(e.request.body.data, e.request.body.encoding).toString('hex');
    expect(read.map(bodyBytes)).to.deep.equal(EXCHANGES.map(bodyBytes));

    const detector = createDetector(identifiersFrom({ imei: [IMEI] }, 'file'));
    const findings = (list: Exchange[]) =>
      list
        .flatMap((e, i) => detector.scanExchange(e, i))
        .map(({ exchangeId: _id, ...rest }) => rest);
    const original = findings(EXCHANGES);
    expect(original.map((f) => `${f.exchange} ${f.where}`)).to.deep.equal([
      '0 cookie:deviceId',
      '1 request-body>gzip',
      '2 request-body>br',
      '3 url',
    ]);
    expect(findings(read)).to.deep.equal(original);
  });
});
