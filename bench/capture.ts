import { createWriteStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { ExchangeRecord, RunStartRecord } from '../src/journal/records.ts';
import type { Body, Exchange, HeaderPair, Identifier, IdentifierValues } from '../src/types.ts';
import type { Random } from './random.ts';

/** One planted identifier: the benchmark's recall is the share of these that are found. */
export interface Plant {
  exchange: number;
  label: string;
  how: string;
}

const WORDS =
  'the quick brown fox jumps over lazy dog weather news sport score match city light home play'.split(
    ' ',
  );
const HOSTS = [
  'api.example.test',
  'cdn.example.test',
  'metrics.example.test',
  'push.example.test',
  'sync.example.test',
];

/**
 * Writes a realistic capture as a phonehome journal: JSON, HTML and text bodies, binary and
 * gzip'd blobs, with identifiers planted in about one exchange in fifteen, dressed in the ways
 * vendors dress them. Returns where each was planted.
 *
 * @example
 *   const plants = await writeCapture('bench/.data/capture.ndjson', 300, identifiers, values, random(1));
 */
export async function writeCapture(
  file: string,
  megabytes: number,
  identifiers: Identifier[],
  values: IdentifierValues,
  rng: Random,
): Promise<Plant[]> {
  const out = createWriteStream(file);
  const write = (line: string) =>
    new Promise<void>((resolve) =>
      out.write(line + '\n') ? resolve() : out.once('drain', () => resolve()),
    );
  const start: RunStartRecord = {
    type: 'run-start',
    version: 1,
    at: 1_700_000_000_000,
    runId: 'bench',
    scenario: 'bench',
    scenarioTitle: 'benchmark capture',
    device: { id: 'bench', kind: 'virtual' },
    identifiers: values,
    consents: [],
    forbiddenHosts: [],
    versions: {},
  };
  await write(JSON.stringify(start));
  const plants: Plant[] = [];
  let written = 0;
  let index = 0;
  while (written < megabytes * 1e6) {
    const exchange = ordinaryExchange(index, rng);
    if (rng.int(15) === 0) plants.push(plant(exchange, index, rng.pick(identifiers), rng));
    const record: ExchangeRecord = { type: 'exchange', exchange };
    const line = JSON.stringify(record);
    written += line.length;
    await write(line);
    index++;
  }
  await new Promise<void>((resolve) => out.end(resolve));
  return plants;
}

function ordinaryExchange(index: number, rng: Random): Exchange {
  const host = rng.pick(HOSTS);
  const kind = rng.int(10);
  let requestBody: Body = { encoding: 'utf8', data: '' };
  let responseBody: Body;
  let type = 'application/json';
  // Sizes spread like app traffic: mostly small JSON, some pages, a few large blobs.
  if (kind < 5) responseBody = { encoding: 'utf8', data: json(rng, 2_000 + rng.int(200_000)) };
  else if (kind < 7) {
    type = 'text/html';
    responseBody = { encoding: 'utf8', data: html(rng, 5_000 + rng.int(300_000)) };
  } else if (kind < 9) {
    type = 'application/octet-stream';
    responseBody = {
      encoding: 'base64',
      data: rng.bytes(10_000 + rng.int(500_000)).toString('base64'),
    };
  } else {
    type = 'application/octet-stream';
    responseBody = {
      encoding: 'base64',
      data: gzipSync(json(rng, 20_000 + rng.int(400_000)), { level: 1 }).toString('base64'),
    };
  }
  if (rng.int(3) === 0) requestBody = { encoding: 'utf8', data: json(rng, 200 + rng.int(4_000)) };
  return {
    id: `e${index}`,
    startedAt: 1_700_000_000_000 + index,
    completedAt: 1_700_000_000_000 + index + 30,
    protocol: 'https',
    host,
    request: {
      method: requestBody.data ? 'POST' : 'GET',
      url: `https://${host}/v2/${rng.pick(WORDS)}/${rng.int(1e6)}?session=${rng.bytes(8).toString('hex')}&lang=en`,
      httpVersion: '2',
      headers: [
        ['host', host],
        ['user-agent', 'Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7 Build/UQ1A)'],
        ['cookie', `sid=${rng.bytes(12).toString('base64url')}; theme=dark`],
        ['content-type', 'application/json'],
      ],
      body: requestBody,
    },
    response: {
      status: 200,
      statusMessage: 'OK',
      headers: [['content-type', type]],
      body: responseBody,
    },
  };
}

function json(rng: Random, size: number): string {
  const items: string[] = [];
  let length = 0;
  while (length < size) {
    const item = `{"id":${rng.int(1e9)},"title":"${rng.pick(WORDS)} ${rng.pick(WORDS)}","score":${(rng.next() * 100).toFixed(3)},"ts":${1_700_000_000_000 + rng.int(1e9)},"tag":"${rng.bytes(6).toString('hex')}","lat":${(rng.next() * 180 - 90).toFixed(4)},"ok":${rng.int(2) === 1}}`;
    items.push(item);
    length += item.length + 1;
  }
  return `{"items":[${items.join(',')}]}`;
}

function html(rng: Random, size: number): string {
  const parts: string[] = ['<!doctype html><html><body>'];
  let length = 0;
  while (length < size) {
    const sentence = `<p class="c${rng.int(50)}">${Array.from({ length: 12 }, () => rng.pick(WORDS)).join(' ')} ${rng.int(1e5)}</p>`;
    parts.push(sentence);
    length += sentence.length;
  }
  return parts.join('\n') + '</body></html>';
}

/** Puts one identifier into the exchange, dressed one of the ways vendors dress them. */
function plant(exchange: Exchange, index: number, identifier: Identifier, rng: Random): Plant {
  const value = identifier.value;
  const ways: [string, () => void][] = [
    [
      'json field',
      () => setRequestJson(exchange, `{"device":{"id":${JSON.stringify(value)}},"v":2}`),
    ],
    ['query string', () => (exchange.request.url += `&d=${encodeURIComponent(value)}`)],
    [
      'cookie',
      () =>
        header(
          exchange.request.headers,
          'cookie',
          `deviceId=${encodeURIComponent(value)}; theme=dark`,
        ),
    ],
    ['header', () => exchange.request.headers.push(['x-device-info', encodeURIComponent(value)])],
    [
      'base64 json field',
      () =>
        setRequestJson(
          exchange,
          `{"payload":"${Buffer.from(`v=1;id=${value};`).toString('base64')}"}`,
        ),
    ],
    [
      'sha256 hex',
      () => setRequestJson(exchange, `{"h":"${createHash('sha256').update(value).digest('hex')}"}`),
    ],
    [
      'md5 upper hex',
      () =>
        (exchange.request.url += `&m=${createHash('md5').update(value).digest('hex').toUpperCase()}`),
    ],
    [
      'gzip body',
      () => {
        exchange.request.body = {
          encoding: 'base64',
          data: gzipSync(JSON.stringify({ a: value })).toString('base64'),
        };
      },
    ],
    [
      'jwt',
      () =>
        exchange.request.headers.push([
          'authorization',
          `Bearer eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: value })).toString('base64url')}.c2ln`,
        ]),
    ],
    [
      'response echo',
      () => {
        if (exchange.response)
          exchange.response.body = {
            encoding: 'utf8',
            data: `{"status":"ok","registered":${JSON.stringify(value)}}`,
          };
      },
    ],
  ];
  // A location goes as a pair of numbers, the way location APIs send it.
  if (identifier.kind === 'location') {
    const [lat, lon] = value.split(',') as [string, string];
    setRequestJson(
      exchange,
      `{"fix":{"latitude":${Number(lat).toFixed(5)},"longitude":${Number(lon).toFixed(5)},"acc":12}}`,
    );
    return { exchange: index, label: identifier.label, how: 'coordinates' };
  }
  // An operator name is weak evidence and has no digest variants: plant it as text only.
  const usable =
    identifier.kind === 'operator' ? ways.filter(([how]) => !/sha|md5/.test(how)) : ways;
  const [how, apply] = rng.pick(usable);
  apply();
  return { exchange: index, label: identifier.label, how };
}

function setRequestJson(exchange: Exchange, text: string): void {
  exchange.request.method = 'POST';
  exchange.request.body = { encoding: 'utf8', data: text };
}

function header(headers: HeaderPair[], name: string, value: string): void {
  const at = headers.findIndex(([key]) => key === name);
  if (at >= 0) headers[at] = [name, value];
  else headers.push([name, value]);
}
