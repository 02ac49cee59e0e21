import { expect } from 'chai';
import { createCipheriv, createHash, type CipherGCM, generateKeyPairSync, sign } from 'node:crypto';
import { brotliCompressSync, deflateRawSync, gzipSync } from 'node:zlib';
import { createDetector } from '../../src/detect/detector.ts';
import { identifiersFrom } from '../../src/detect/identifiers.ts';
import { MIN_OPAQUE_BYTES, opaqueBytes, type OpaqueEncoding } from '../../src/detect/opaque.ts';
import { readHar } from '../../src/har/read.ts';
import type { Exchange } from '../../src/types.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { makeExchange } from './make-exchange.ts';

const random = seededRandom(20);
const KEY = random.bytes(16);
const IMEI = '356938035643809';
const TELEMETRY = JSON.stringify({
  imei: IMEI,
  model: 'Redmi 1S',
  events: Array.from({ length: 12 }, (_, i) => ({ t: 1_700_000_000 + i, e: 'open', app: 'home' })),
});

/** AES output as an SDK sends it: the IV (and GCM's tag) beside the ciphertext. */
function encrypt(mode: 'gcm' | 'cbc' | 'ctr' | 'ecb', plain: string): Buffer {
  const iv = random.bytes(mode === 'gcm' ? 12 : 16);
  const cipher = createCipheriv(`aes-128-${mode}`, KEY, mode === 'ecb' ? null : iv);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  if (mode === 'gcm') return Buffer.concat([iv, body, (cipher as CipherGCM).getAuthTag()]);
  return mode === 'ecb' ? body : Buffer.concat([iv, body]);
}

const withMagic = (magic: number[], size = 600) =>
  Buffer.concat([Buffer.from(magic), random.bytes(size)]);
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

describe('opaque bytes: the classifier', () => {
  const rows: { name: string; bytes: Buffer; encoding?: OpaqueEncoding; opaque: boolean }[] = [
    { name: 'AES-128-GCM of an IMEI (43 bytes)', bytes: encrypt('gcm', IMEI), opaque: true },
    { name: 'AES-128-CBC of a telemetry batch', bytes: encrypt('cbc', TELEMETRY), opaque: true },
    { name: 'AES-128-CTR of a telemetry batch', bytes: encrypt('ctr', TELEMETRY), opaque: true },
    { name: 'AES-128-ECB of a telemetry batch', bytes: encrypt('ecb', TELEMETRY), opaque: true },
    {
      name: 'AES-GCM of a 96-byte record',
      bytes: encrypt('gcm', TELEMETRY.slice(0, 68)),
      opaque: true,
    },
    { name: 'deflate without its zlib header', bytes: deflateRawSync(TELEMETRY), opaque: true },
    { name: 'brotli (no magic number)', bytes: brotliCompressSync(TELEMETRY), opaque: true },
    { name: '64 KiB of random bytes', bytes: random.bytes(65_536), opaque: true },
    // Sizes that are nonces, ids, digests and signatures, however random.
    { name: `${MIN_OPAQUE_BYTES - 1} random bytes`, bytes: random.bytes(32), opaque: false },
    { name: 'a 24-byte session id', bytes: random.bytes(24), opaque: false },
    { name: 'SHA-256', bytes: createHash('sha256').update(IMEI).digest(), opaque: false },
    { name: 'SHA-384', bytes: createHash('sha384').update(IMEI).digest(), opaque: false },
    { name: 'SHA-512', bytes: createHash('sha512').update(IMEI).digest(), opaque: false },
    {
      name: 'an ECDSA P-256 signature (DER)',
      bytes: sign('sha256', Buffer.from(IMEI), privateKey),
      opaque: false,
    },
    {
      name: 'a public key (DER SubjectPublicKeyInfo)',
      bytes: publicKey.export({ type: 'spki', format: 'der' }),
      opaque: false,
    },
    // Readable or known formats.
    { name: 'JSON text', bytes: Buffer.from(TELEMETRY), opaque: false },
    {
      name: 'a protobuf message',
      bytes: Buffer.concat(
        Array.from({ length: 8 }, (_, i) =>
          Buffer.from([0x0a, 15, ...Buffer.from(IMEI), 0x10, i, 0x1a, 4, 0x68, 0x6f, 0x6d, 0x65]),
        ),
      ),
      opaque: false,
    },
    { name: 'PNG', bytes: withMagic([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]), opaque: false },
    { name: 'JPEG', bytes: withMagic([0xff, 0xd8, 0xff, 0xe0]), opaque: false },
    { name: 'GIF', bytes: withMagic([...Buffer.from('GIF89a')]), opaque: false },
    {
      name: 'WebP',
      bytes: withMagic([...Buffer.from('RIFF'), 1, 2, 0, 0, ...Buffer.from('WEBP')]),
      opaque: false,
    },
    {
      name: 'MP4',
      bytes: withMagic([0, 0, 0, 0x20, ...Buffer.from('ftypisom')]),
      opaque: false,
    },
    { name: 'zip', bytes: withMagic([0x50, 0x4b, 0x03, 0x04]), opaque: false },
    { name: 'PDF', bytes: withMagic([...Buffer.from('%PDF-1.7\n')]), opaque: false },
    { name: 'Ogg', bytes: withMagic([...Buffer.from('OggS')]), opaque: false },
  ];
  for (const row of rows) {
    it(`${row.opaque ? 'opaque' : 'not opaque'}: ${row.name}`, () => {
      const judged = opaqueBytes(row.bytes, row.encoding ?? 'binary');
      expect(judged !== undefined, JSON.stringify(judged)).to.equal(row.opaque);
    });
  }

  it('gives the size, the entropy and what random bytes of that size would have', () => {
    const judged = opaqueBytes(random.bytes(4096), 'binary')!;
    expect(judged.bytes).to.equal(4096);
    expect(judged.uniformBitsPerByte).to.be.closeTo(8 - 255 / (2 * 4096 * Math.LN2), 0.005);
    expect(judged.bitsPerByte).to.be.closeTo(judged.uniformBitsPerByte, 0.05);
  });
});

const detector = createDetector(identifiersFrom({ imei: [IMEI] }, 'file'));
const opaqueOf = (exchange: Exchange) =>
  detector.scan(exchange, 0).unscanned.filter((part) => part.reason.startsWith('opaque'));

describe('opaque bytes: where the detector finds them', () => {
  const sealed = encrypt('gcm', TELEMETRY);
  const b64 = sealed.toString('base64');
  const b64url = sealed.toString('base64url');
  const hex = sealed.toString('hex');
  const size = sealed.length;
  const multipart = [
    '--b0undary',
    'Content-Disposition: form-data; name="batch"; filename="batch.bin"',
    'Content-Type: application/octet-stream',
    '',
    '',
  ].join('\r\n');
  const rows: { name: string; exchange: Exchange; where: string; encoding: string }[] = [
    {
      name: 'a URL query value in base64, percent-encoded',
      exchange: makeExchange({
        url: `https://api.example.test/v1/ping?v=2&d=${encodeURIComponent(b64)}&t=1`,
      }),
      where: 'url>param:d>base64',
      encoding: ' (base64)',
    },
    {
      name: 'a URL query value in base64url',
      exchange: makeExchange({ url: `https://api.example.test/v1/ping?d=${b64url}` }),
      where: 'url>base64',
      encoding: ' (base64url)',
    },
    {
      name: 'a header in hex',
      exchange: makeExchange({ requestHeaders: [['X-Info', hex]] }),
      where: 'header:x-info>hex',
      encoding: ' (hex)',
    },
    {
      name: 'a header in base64',
      exchange: makeExchange({ requestHeaders: [['X-Info', b64]] }),
      where: 'header:x-info>base64',
      encoding: ' (base64)',
    },
    {
      name: 'a cookie in base64url',
      exchange: makeExchange({ requestHeaders: [['Cookie', `lang=en; s=${b64url}; x=1`]] }),
      where: 'cookie:s>base64',
      encoding: ' (base64url)',
    },
    {
      name: 'a form field in hex',
      exchange: makeExchange({
        requestHeaders: [['Content-Type', 'application/x-www-form-urlencoded']],
        requestBody: `a=1&payload=${hex}`,
      }),
      where: 'request-body>param:payload>hex',
      encoding: ' (hex)',
    },
    {
      name: 'a JSON string in hex',
      exchange: makeExchange({
        requestHeaders: [['Content-Type', 'application/json']],
        requestBody: JSON.stringify({ v: 1, data: hex }),
      }),
      where: 'request-body>json:$.data>hex',
      encoding: ' (hex)',
    },
    {
      name: 'a JSON string in base64',
      exchange: makeExchange({
        requestHeaders: [['Content-Type', 'application/json']],
        requestBody: JSON.stringify({ v: 1, data: b64 }),
      }),
      where: 'request-body>json:$.data>base64',
      encoding: ' (base64)',
    },
    {
      name: 'a multipart part of raw bytes',
      exchange: makeExchange({
        requestHeaders: [['Content-Type', 'multipart/form-data; boundary=b0undary']],
        requestBody: Buffer.concat([
          Buffer.from(multipart),
          sealed,
          Buffer.from('\r\n--b0undary--\r\n'),
        ]),
      }),
      where: 'request-body>multipart:batch',
      encoding: '',
    },
    {
      name: 'a whole body of raw bytes',
      exchange: makeExchange({
        requestHeaders: [['Content-Type', 'application/octet-stream']],
        requestBody: sealed,
      }),
      where: 'request-body',
      encoding: '',
    },
    {
      name: 'a whole body in base64',
      exchange: makeExchange({ requestBody: b64 }),
      where: 'request-body>base64',
      encoding: ' (base64)',
    },
    {
      name: 'a WebSocket message sent',
      exchange: {
        ...makeExchange({ requestBody: sealed }),
        websocket: { stream: 'x0', direction: 'sent', binary: true },
      },
      where: 'ws-sent',
      encoding: '',
    },
    {
      name: 'a TCP chunk sent',
      exchange: {
        ...makeExchange({ requestBody: sealed }),
        tcp: { stream: 'x0', direction: 'sent' },
      },
      where: 'tcp-sent',
      encoding: '',
    },
  ];
  for (const row of rows) {
    it(`reports ${row.name} as opaque, at ${row.where}`, () => {
      expect(opaqueOf(row.exchange)).to.deep.equal([
        {
          where: row.where,
          reason: opaqueOf(row.exchange)[0]?.reason ?? 'no opaque part',
        },
      ]);
      expect(opaqueOf(row.exchange)[0]!.reason).to.match(
        new RegExp(
          `^opaque: ${size} bytes${row.encoding.replace(/[()]/g, '\\$&')}, \\d\\.\\d bits/byte \\(random bytes of this length: \\d\\.\\d\\), no known encoding$`,
        ),
      );
    });
  }

  // The smallest sealed IMEI, many times over: random bytes that happen to pass for text (few
  // control bytes) or to parse as protobuf must not slip through.
  for (const form of ['raw', 'base64', 'hex'] as const) {
    it(`reports each of 300 AES-GCM-sealed IMEIs (43 bytes) sent ${form}`, () => {
      const missed = Array.from({ length: 300 }, () => encrypt('gcm', IMEI)).filter((sealed) => {
        const body = form === 'raw' ? sealed : sealed.toString(form);
        return opaqueOf(makeExchange({ requestBody: body })).length !== 1;
      });
      expect(missed.map((sealed) => sealed.toString('hex'))).to.deep.equal([]);
    });
  }

  const ordinary: { name: string; exchange: Exchange }[] = [
    {
      name: 'the same bytes in a response',
      exchange: makeExchange({
        responseHeaders: [['Content-Type', 'application/octet-stream']],
        responseBody: sealed,
      }),
    },
    {
      name: 'a WebSocket message received',
      exchange: {
        ...makeExchange({ requestBody: sealed }),
        websocket: { stream: 'x0', direction: 'received', binary: true },
      },
    },
    {
      name: 'a JWT, signature and all',
      exchange: makeExchange({
        requestHeaders: [
          [
            'X-Token',
            `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"sub":"a"}').toString('base64url')}.${random.bytes(256).toString('base64url')}`,
          ],
        ],
      }),
    },
    {
      name: 'an API key and a session id as header values',
      exchange: makeExchange({
        requestHeaders: [
          ['X-Goog-Api-Key', 'AIzaSyD4x9Qe7Zb2LkPq8Rw3TnVb6Hc1JmXo5Ys'],
          ['X-Session', random.bytes(30).toString('base64')],
        ],
      }),
    },
    {
      name: 'a bearer token',
      exchange: makeExchange({
        requestHeaders: [['Authorization', `Bearer ${random.bytes(120).toString('base64url')}`]],
      }),
    },
    {
      name: 'UUIDs, SHA-256 digests and short nonces in a URL',
      exchange: makeExchange({
        url: `https://api.example.test/v1/${random.bytes(32).toString('hex')}?id=38400000-8cf0-11bd-b23e-10b96e40000d&n=${random.bytes(24).toString('base64url')}&h=${createHash('sha512').update(IMEI).digest('base64')}`,
      }),
    },
    {
      name: 'a long readable URL path and query',
      exchange: makeExchange({
        url: 'https://api.example.test/AndroidDeviceManagement/registerDeviceForPushNotifications/v2?callbackUrlWithVeryLongName=https%3A%2F%2Fexample.test%2FsomeCallbackPath123',
      }),
    },
    {
      name: 'a gzip body of JSON',
      exchange: makeExchange({
        requestHeaders: [['Content-Type', 'application/octet-stream']],
        requestBody: gzipSync(TELEMETRY),
      }),
    },
    {
      name: 'a photo upload',
      exchange: makeExchange({
        requestHeaders: [['Content-Type', 'image/jpeg']],
        requestBody: random.bytes(4000),
      }),
    },
  ];
  for (const row of ordinary) {
    it(`reports nothing opaque in ${row.name}`, () => {
      expect(opaqueOf(row.exchange)).to.deep.equal([]);
    });
  }

  // Ordinary traffic recorded for other tests: the F-Secure HAR and the golden run's capture.
  for (const path of [
    'test/fixtures/detect/xiaomi-2014.har',
    'test/fixtures/report/golden/capture.har',
  ]) {
    it(`reports nothing opaque in ${path}`, async () => {
      const exchanges: Exchange[] = [];
      for await (const exchange of readHar(path)) exchanges.push(exchange);
      expect(exchanges.length).to.be.greaterThan(0);
      expect(exchanges.flatMap(opaqueOf)).to.deep.equal([]);
    });
  }
});
