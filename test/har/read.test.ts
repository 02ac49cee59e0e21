import { expect } from 'chai';
import type { InlineBody } from '../../src/types.ts';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarEntrySplitter } from '../../src/har/entry-splitter.ts';
import { readHar } from '../../src/har/read.ts';
import { PhonehomeError } from '../../src/errors.ts';

const FIXTURE = 'test/fixtures/detect/xiaomi-2014.har';
const folder = mkdtempSync(join(tmpdir(), 'phonehome-har-'));
const write = (name: string, text: string) => {
  const file = join(folder, name);
  writeFileSync(file, text);
  return file;
};
const collect = async (file: string) => {
  const exchanges = [];
  for await (const exchange of readHar(file)) exchanges.push(exchange);
  return exchanges;
};

describe('readHar', () => {
  it('reads entries as exchanges, with base64 postData and response content', async () => {
    const exchanges = await collect(FIXTURE);
    expect(exchanges).to.have.length(3);
    const [first, second] = exchanges;
    expect(first).to.deep.include({
      id: 'har-0',
      protocol: 'http',
      host: 'api.account.xiaomi.com',
      startedAt: Date.parse('2014-08-08T10:00:00.000Z'),
      completedAt: Date.parse('2014-08-08T10:00:00.000Z') + 42,
    });
    expect(first?.request.headers).to.deep.include([
      'Cookie',
      'deviceId=865432101234564; lang=zh_CN',
    ]);
    expect(second?.request.body.encoding).to.equal('base64');
    expect(
      Buffer.from((second?.request.body as InlineBody | undefined)?.data ?? '', 'base64').subarray(
        0,
        2,
      ),
    ).to.deep.equal(Buffer.from([0x1f, 0x8b]));
    expect(
      Buffer.from(
        (second?.response?.body as InlineBody | undefined)?.data ?? '',
        'base64',
      ).toString(),
    ).to.equal('{"ok":true,"imsi":"460001234567890"}');
  });

  it('gives the same entries whatever the chunk boundaries', () => {
    const bytes = readFileSync(FIXTURE);
    const whole = new HarEntrySplitter(FIXTURE).push(bytes).map((b) => b.toString());
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const splitter = new HarEntrySplitter(FIXTURE);
      const entries: string[] = [];
      for (let at = 0; at < bytes.length; at += size)
        entries.push(...splitter.push(bytes.subarray(at, at + size)).map((b) => b.toString()));
      splitter.end();
      expect(entries, `chunks of ${size}`).to.deep.equal(whole);
    }
  });

  it('is not fooled by brackets and escaped quotes inside strings, nor by other keys named entries', async () => {
    const har = {
      entries: [{ not: 'these' }],
      log: {
        version: '1.2',
        creator: { name: 'x "entries": [', version: '}]' },
        pages: [{ entries: [{ id: 'no' }] }],
        entries: [
          {
            request: {
              method: 'GET',
              url: 'https://a.example.test/?q=%7B%22x%22%7D',
              headers: [{ name: 'X-Odd', value: 'a\\"b}]{["' }],
            },
            response: { status: 204, headers: [] },
          },
        ],
      },
    };
    const [exchange, ...rest] = await collect(write('tricky.har', JSON.stringify(har)));
    expect(rest).to.have.length(0);
    expect(exchange?.request.headers).to.deep.equal([['X-Odd', 'a\\"b}]{["']]);
    expect(exchange?.response?.status).to.equal(204);
  });

  it('rebuilds a form body given only as params', async () => {
    const har = {
      log: {
        version: '1.2',
        entries: [
          {
            request: {
              method: 'POST',
              url: 'https://a.example.test/',
              headers: [],
              postData: {
                mimeType: 'application/x-www-form-urlencoded',
                params: [{ name: 'tel', value: '+33 6' }],
              },
            },
            response: { status: 200, headers: [], content: { text: 'ok' } },
          },
        ],
      },
    };
    const [exchange] = await collect(write('params.har', JSON.stringify(har)));
    expect(exchange?.request.body).to.deep.equal({ encoding: 'utf8', data: 'tel=%2B33%206' });
  });

  const BAD: [string, string, RegExp][] = [
    [
      'a file that is not a HAR',
      '{"hello": "world"}',
      /bad\.har is not a HAR 1\.2 file: it has no log\.entries array/,
    ],
    [
      'a file cut short',
      '{"log":{"entries":[{"request":{"url":"https://a.example.test/"',
      /ends in the middle of the JSON document/,
    ],
    [
      'an entry without a request',
      '{"log":{"entries":[{"response":{}}]}}',
      /log\.entries\[0\]\.request is missing/,
    ],
    [
      'an entry without a URL',
      '{"log":{"entries":[{"request":{"method":"GET"}}]}}',
      /log\.entries\[0\]\.request\.url is missing/,
    ],
    [
      'headers that are not a list',
      '{"log":{"entries":[{"request":{"url":"https://a.example.test/","headers":{}}}]}}',
      /log\.entries\[0\]\.request\.headers is not an array/,
    ],
  ];
  for (const [name, text, message] of BAD) {
    it(`rejects ${name}, naming the file and the field`, async () => {
      const file = write('bad.har', text);
      let caught: unknown;
      try {
        await collect(file);
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(PhonehomeError);
      expect((caught as Error).message).to.match(message);
    });
  }
});
