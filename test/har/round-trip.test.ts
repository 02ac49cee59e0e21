import { expect } from 'chai';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { createDetector } from '../../src/detect/detector.ts';
import { identifiersFrom } from '../../src/detect/identifiers.ts';
import { resolveScanInput, scanFile } from '../../src/detect/scan-file.ts';
import { readHar } from '../../src/har/read.ts';
import { harEntry } from '../../src/report/har.ts';
import type { Exchange, InlineBody } from '../../src/types.ts';

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
      Buffer.from(
        (e.request.body as InlineBody).data,
        (e.request.body as InlineBody).encoding,
      ).toString('hex');
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

describe("phonehome's own HAR export of bodies kept in files", () => {
  const imeiAtEnd = (size: number) => {
    const bytes = Buffer.alloc(size, 0x41);
    bytes.write(IMEI, size - IMEI.length, 'latin1');
    return bytes;
  };

  it('names the body file instead of inlining it, and `scan` of the HAR reads it from there', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'phonehome-har-files-'));
    const bytes = imeiAtEnd(3 * 1024 * 1024);
    mkdirSync(join(folder, 'bodies'));
    writeFileSync(join(folder, 'bodies', 'f-request'), bytes);
    const big = exchange('f', {
      method: 'POST',
      body: {
        encoding: 'file',
        file: join(folder, 'bodies', 'f-request'),
        size: bytes.length,
        complete: true,
      },
    });
    const entry = harEntry(big, 'run-1', {
      phase: 'before consent',
      step: 'boot',
      findings: [],
      bodyFileName: (body) => relative(folder, body),
    });
    expect(entry._phonehome.bodyFiles).to.deep.equal({ request: 'bodies/f-request' });
    expect(entry.request.postData?.text).to.equal('');
    expect(entry.request.bodySize).to.equal(bytes.length);
    const file = join(folder, 'capture.har');
    writeFileSync(
      file,
      JSON.stringify({
        log: { version: '1.2', creator: { name: 'phonehome', version: '0' }, entries: [entry] },
      }),
    );
    const identifiers = identifiersFrom({ imei: [IMEI] }, 'file');
    const result = await scanFile(resolveScanInput(file), identifiers);
    expect(result.unscanned).to.deep.equal([]);
    expect(result.findings.map((f) => [f.where, f.offset])).to.deep.equal([
      ['request-body', bytes.length - IMEI.length],
    ]);
  });

  it('refuses a body file outside the HAR folder, and says when one is missing', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'phonehome-har-files-'));
    const write = (name: string) => {
      const entry = harEntry(exchange('g', { method: 'POST' }), 'run-1', {
        phase: 'before consent',
        step: 'boot',
        findings: [],
      });
      const file = join(folder, `${name.replace(/\W/g, '')}.har`);
      writeFileSync(
        file,
        JSON.stringify({
          log: {
            version: '1.2',
            creator: { name: 'phonehome', version: '0' },
            entries: [
              { ...entry, _phonehome: { ...entry._phonehome, bodyFiles: { request: name } } },
            ],
          },
        }),
      );
      return file;
    };
    const identifiers = identifiersFrom({ imei: [IMEI] }, 'file');
    const escape = write('../../etc/passwd');
    await expectRejection(
      scanFile(resolveScanInput(escape), identifiers),
      /not in its bodies\/ folder/,
    );
    const missing = write('bodies/gone');
    await expectRejection(
      scanFile(resolveScanInput(missing), identifiers),
      /bodies\/gone, which cannot be read.*keep the bodies\/ folder beside the HAR/,
    );
  });
});

async function expectRejection(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected a rejection matching ${pattern}`);
}

describe("phonehome's own HAR export of WebSocket messages", () => {
  it('reads a message back as a message, found where it was', async () => {
    const message = exchange('h-m1', {
      method: 'WEBSOCKET',
      url: 'wss://push.vendor.example/connect',
      body: { encoding: 'utf8', data: `{"device":"${IMEI}"}` },
    });
    message.websocket = { stream: 'h', direction: 'sent', binary: false };
    const file = join(mkdtempSync(join(tmpdir(), 'phonehome-har-ws-')), 'capture.har');
    const entry = harEntry(message, 'run-1', {
      phase: 'before consent',
      step: 'boot',
      findings: [],
    });
    writeFileSync(
      file,
      JSON.stringify({
        log: { version: '1.2', creator: { name: 'phonehome', version: '0' }, entries: [entry] },
      }),
    );
    const read: Exchange[] = [];
    for await (const e of readHar(file)) read.push(e);
    expect(read[0]!.websocket).to.deep.equal(message.websocket);
    const detector = createDetector(identifiersFrom({ imei: [IMEI] }, 'file'));
    expect(detector.scanExchange(read[0]!, 0).map((f) => f.where)).to.deep.equal(['ws-sent']);
  });
});
