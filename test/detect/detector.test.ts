import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { createDetector } from '../../src/detect/detector.ts';
import { identifiersFrom } from '../../src/detect/identifiers.ts';
import type { Exchange, IdentifierValues } from '../../src/types.ts';
import { makeExchange, type ExchangeSpec } from './make-exchange.ts';

// Made-up values of every kind (the IMEI and ad ID are the standards' documentation examples).
const VALUES: IdentifierValues = {
  imei: ['356938035643809'],
  imsi: ['208011234567890'],
  iccid: ['8933011234567890123'],
  msisdn: ['+33612345678'],
  serial: ['R58M12AB34C'],
  android_id: ['9774d56d682e549c'],
  ad_id: ['38400000-8cf0-11bd-b23e-10b96e40000d'],
  wifi_mac: ['a4:50:46:12:34:56'],
  bt_mac: ['a4:50:46:12:34:57'],
  operator: ['Orange F'],
  email: ['ana.canary@example.com'],
  contact_number: ['+33698765432'],
  contact_name: ['Zoé Canary'],
  sms_text: ['see you at 8, code 7f3k canary'],
  location: ['48.85661,2.35222'],
};
const detector = createDetector(identifiersFrom(VALUES, 'file'));
const IMEI = '356938035643809';
const IMSI = '208011234567890';

const hash = (algorithm: string, text: string) => createHash(algorithm).update(text).digest();
const json = (value: unknown): ExchangeSpec => ({
  requestHeaders: [['Content-Type', 'application/json']],
  requestBody: JSON.stringify(value),
});
const octets = (body: Buffer, type = 'application/octet-stream'): ExchangeSpec => ({
  requestHeaders: [['Content-Type', type]],
  requestBody: body,
});
/** A protobuf length-delimited field (field numbers < 16, lengths < 128 suffice here). */
const field = (number: number, content: Buffer | string) => {
  const bytes = Buffer.from(content);
  return Buffer.concat([Buffer.from([(number << 3) | 2, bytes.length]), bytes]);
};
const grpcFrame = (message: Buffer, compressed = false) => {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
};
/** Protobuf's base-128 varint, written out here independently of the engine's. */
const varint = (value: bigint) => {
  const out: number[] = [];
  for (let rest = value; ; rest >>= 7n) {
    const low = Number(rest & 0x7fn);
    if (rest < 0x80n) {
      out.push(low);
      return Buffer.from(out);
    }
    out.push(low | 0x80);
  }
};
/** Every character as a JSON \\u escape, as some encoders write strings. */
const escapeAll = (text: string, upperHex = false) =>
  [...text]
    .map((c) => {
      const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
      return `\\u${upperHex ? hex.toUpperCase() : hex}`;
    })
    .join('');
const multipart = (name: string, content: string) =>
  `--xyz\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${content}\r\n--xyz--\r\n`;

type Row = [
  name: string,
  spec: ExchangeSpec | Exchange,
  expected: [kind: string, form: string, where: string, evidence?: string][],
];

const FOUND: Row[] = [
  // Places
  [
    'IMEI in a cookie (the Xiaomi request)',
    { requestHeaders: [['Cookie', `deviceId=${IMEI}`]] },
    [['imei', 'plain', 'cookie:deviceId']],
  ],
  [
    'IMEI in the query',
    { url: `http://api.example.test/pass?imei=${IMEI}&a=1` },
    [['imei', 'plain', 'url']],
  ],
  [
    'IMEI in a request header',
    { requestHeaders: [['X-Device', `imei:${IMEI}`]] },
    [['imei', 'plain', 'header:x-device']],
  ],
  ['IMEI in a JSON body', json({ device: { imei: IMEI } }), [['imei', 'plain', 'request-body']]],
  [
    'IMEI echoed in the response body',
    { responseBody: `{"registered":"${IMEI}"}` },
    [['imei', 'plain', 'response-body']],
  ],
  [
    'IMEI in a response header',
    { responseHeaders: [['Set-Cookie', `did=${IMEI}; Path=/`]] },
    [['imei', 'plain', 'response-header:set-cookie']],
  ],
  [
    'IMEI in a multipart part',
    {
      requestHeaders: [['Content-Type', 'multipart/form-data; boundary=xyz']],
      requestBody: multipart('imei', IMEI),
    },
    [['imei', 'plain', 'request-body>multipart:imei']],
  ],
  [
    'SMS text in a multipart part',
    {
      requestHeaders: [['Content-Type', 'multipart/form-data; boundary=xyz']],
      requestBody: multipart('body', 'see you at 8, code 7f3k canary'),
    },
    [['sms_text', 'plain', 'request-body>multipart:body']],
  ],
  [
    'IMEI in a gzip body without content-encoding',
    octets(gzipSync(`{"imei":"${IMEI}"}`)),
    [['imei', 'plain', 'request-body>gzip']],
  ],
  [
    'IMEI in a zlib body',
    octets(deflateSync(`{"imei":"${IMEI}"}`)),
    [['imei', 'plain', 'request-body>deflate']],
  ],
  [
    'IMEI in a zstd body',
    octets(readFileSync('test/fixtures/detect/imei-json.zst')),
    [['imei', 'plain', 'request-body>zstd']],
  ],
  [
    'IMEI in a brotli body the capture could not decode',
    (() => {
      const exchange = makeExchange(octets(brotliCompressSync(`{"imei":"${IMEI}"}`)));
      exchange.request.headers.push(['Content-Encoding', 'br']);
      exchange.request.body.decodeError = 'unsupported';
      return exchange;
    })(),
    [['imei', 'plain', 'request-body>br']],
  ],
  [
    'IMEI in a base64 JSON field',
    json({ data: Buffer.from(`{"imei":"${IMEI}"}`).toString('base64') }),
    [['imei', 'plain', 'request-body>json:$.data>base64']],
  ],
  [
    'IMEI in base64 of gzip in JSON',
    json({ p: [gzipSync(`i=${IMEI}`).toString('base64')] }),
    [['imei', 'plain', 'request-body>json:$.p[0]>base64>gzip']],
  ],
  [
    'IMEI in a JWT payload',
    {
      requestHeaders: [
        [
          'Authorization',
          `Bearer eyJhbGciOiJIUzI1NiJ9.${Buffer.from(`{"sub":"${IMEI}"}`).toString('base64url')}.c2ln`,
        ],
      ],
    },
    [['imei', 'plain', 'header:authorization>jwt:payload']],
  ],
  [
    'IMEI as Basic auth user',
    {
      requestHeaders: [
        ['Authorization', `Basic ${Buffer.from(`${IMEI}:secret`).toString('base64')}`],
      ],
    },
    [['imei', 'plain', 'header:authorization>basic']],
  ],
  [
    'IMSI in a gRPC message',
    octets(grpcFrame(field(2, IMSI)), 'application/grpc'),
    [['imsi', 'plain', 'request-body>grpc[0]>protobuf:2']],
  ],
  [
    'IMSI in a nested protobuf message',
    octets(
      grpcFrame(Buffer.concat([field(1, 'x'), field(3, field(1, IMSI))])),
      'application/grpc+proto',
    ),
    [['imsi', 'plain', 'request-body>grpc[0]>protobuf:3.1']],
  ],
  [
    'IMSI in a gzip-compressed gRPC message',
    octets(grpcFrame(gzipSync(field(2, IMSI)), true), 'application/grpc'),
    [['imsi', 'plain', 'request-body>grpc[0]>gzip>protobuf:2']],
  ],
  [
    'IMEI as a protobuf varint',
    octets(Buffer.concat([Buffer.from([0x08]), varint(BigInt(IMEI)), Buffer.from([0x10, 0x01])])),
    [['imei', 'protobuf-varint', 'request-body']],
  ],
  // Text transforms
  [
    'IMEI, JSON-escaped',
    {
      requestBody: JSON.stringify({ i: IMEI }).replace(
        IMEI,
        [...IMEI].map((c) => `\\u00${c.charCodeAt(0).toString(16)}`).join(''),
      ),
    },
    [['imei', 'json-escaped-all', 'request-body']],
  ],
  [
    'IMEI, hex of the text',
    { requestBody: `d=${Buffer.from(IMEI).toString('hex')}` },
    [['imei', 'hex', 'request-body']],
  ],
  [
    'serial, hex upper case',
    { requestBody: `d=${Buffer.from('R58M12AB34C').toString('hex').toUpperCase()}` },
    [['serial', 'upper-case hex', 'request-body']],
  ],
  [
    'IMEI, base64 at offset 1 of a binary blob',
    octets(
      Buffer.concat([
        Buffer.from([0, 1, 2, 0xff]),
        Buffer.from(Buffer.from(`x${IMEI}`).toString('base64')),
      ]),
    ),
    [['imei', 'base64@1', 'request-body']],
  ],
  [
    'IMEI, base64 at offset 2 of a binary blob',
    octets(
      Buffer.concat([
        Buffer.from([0, 1, 2, 0xff]),
        Buffer.from(Buffer.from(`xy${IMEI}`).toString('base64')),
      ]),
    ),
    [['imei', 'base64@2', 'request-body']],
  ],
  // Digests
  [
    'IMEI, MD5 hex',
    { requestBody: `h=${hash('md5', IMEI).toString('hex')}` },
    [['imei', 'md5-hex', 'request-body']],
  ],
  [
    'IMEI, SHA-1 base64',
    { requestBody: `h=${hash('sha1', IMEI).toString('base64')}` },
    [['imei', 'sha1-base64', 'request-body']],
  ],
  [
    'IMEI, SHA-256 hex upper case',
    { requestBody: `h=${hash('sha256', IMEI).toString('hex').toUpperCase()}` },
    [['imei', 'upper-case sha256-hex', 'request-body']],
  ],
  [
    'IMEI, SHA-256 truncated to 16 hex',
    { url: `https://t.example.test/?u=${hash('sha256', IMEI).toString('hex').slice(0, 16)}` },
    [['imei', 'sha256-hex-prefix', 'url']],
  ],
  [
    'IMEI, SHA-256 truncated to 8 bytes, base64',
    { requestBody: `u=${hash('sha256', IMEI).subarray(0, 8).toString('base64')}` },
    [['imei', 'sha256-base64-prefix', 'request-body']],
  ],
  // Per kind
  [
    'IMEI without its check digit',
    { requestBody: `id=${IMEI.slice(0, 14)}&x=1` },
    [['imei', 'without-check-digit', 'request-body']],
  ],
  ['IMEISV', { requestBody: `sv=${IMEI.slice(0, 14)}07;` }, [['imei', 'imeisv', 'request-body']]],
  ['ICCID', json({ sim: '8933011234567890123' }), [['iccid', 'plain', 'request-body']]],
  [
    'serial in upper case as given',
    { url: 'https://x.example.test/?sn=R58M12AB34C' },
    [['serial', 'plain', 'url']],
  ],
  [
    'phone number, E.164 URL-encoded',
    { url: 'https://x.example.test/?p=%2B33612345678' },
    [['msisdn', 'url-encoded', 'url']],
  ],
  [
    'phone number, without +',
    json({ p: '33612345678' }),
    [['msisdn', 'e164-without-plus', 'request-body']],
  ],
  [
    'phone number, with 00',
    json({ p: '0033612345678' }),
    [['msisdn', 'international-00', 'request-body']],
  ],
  ['phone number, national', json({ p: '0612345678' }), [['msisdn', 'national', 'request-body']]],
  [
    'phone number, national with spaces',
    json({ p: '06 12 34 56 78' }),
    [['msisdn', 'national-formatted', 'request-body']],
  ],
  [
    'phone number, national with dashes',
    json({ p: '06-12-34-56-78' }),
    [['msisdn', 'national-dashed', 'request-body']],
  ],
  [
    'phone number, international form-encoded',
    { requestBody: 'tel=%2B33+6+12+34+56+78&ok=1' },
    [['msisdn', 'form-encoded international-formatted', 'request-body']],
  ],
  [
    'phone number, double URL-encoded',
    { url: 'https://x.example.test/r?next=%252B33612345678' },
    [['msisdn', 'double-url-encoded', 'url']],
  ],
  [
    'phone number, SHA-256 of E.164',
    json({ h: hash('sha256', '+33612345678').toString('hex') }),
    [['msisdn', 'sha256-hex', 'request-body']],
  ],
  [
    'contact number, national in a contact sync',
    json({ contacts: [{ n: '06 98 76 54 32' }] }),
    [['contact_number', 'national-formatted', 'request-body']],
  ],
  [
    'Wi-Fi MAC upper case, no separators',
    { requestBody: 'mac=A45046123456' },
    [['wifi_mac', 'upper-case bare', 'request-body']],
  ],
  [
    'Wi-Fi MAC with dashes',
    { requestBody: 'mac=a4-50-46-12-34-56' },
    [['wifi_mac', 'dashed', 'request-body']],
  ],
  [
    'Bluetooth MAC, SHA-1 hex',
    { requestBody: `b=${hash('sha1', 'a4:50:46:12:34:57').toString('hex')}` },
    [['bt_mac', 'sha1-hex', 'request-body']],
  ],
  [
    'Android ID upper case',
    { requestBody: 'aid=9774D56D682E549C' },
    [['android_id', 'upper-case', 'request-body']],
  ],
  [
    'advertising ID without dashes',
    { requestBody: 'gaid=384000008cf011bdb23e10b96e40000d' },
    [['ad_id', 'without-dashes', 'request-body']],
  ],
  [
    'advertising ID upper case',
    { requestBody: 'gaid=38400000-8CF0-11BD-B23E-10B96E40000D' },
    [['ad_id', 'upper-case', 'request-body']],
  ],
  // Misses measured before (issue 21): every character \u-escaped in a spelling other than the
  // canonical one, an upper-case UUID without dashes, a redirect's Location header.
  [
    'Android ID upper case, every character \\u-escaped',
    { requestBody: `{"aid":"${escapeAll('9774D56D682E549C')}"}` },
    [['android_id', 'json-escaped-all upper', 'request-body']],
  ],
  [
    'Wi-Fi MAC upper case, every character \\u-escaped in upper-case hex (\\u003A)',
    { requestBody: `{"m":"${escapeAll('A4:50:46:12:34:56', true)}"}` },
    [['wifi_mac', 'json-escaped-all upper', 'request-body']],
  ],
  [
    'phone number as written nationally, every character \\u-escaped',
    { requestBody: `{"p":"${escapeAll('06 12 34 56 78')}"}` },
    [['msisdn', 'json-escaped-all national-formatted', 'request-body']],
  ],
  [
    'advertising ID upper case without dashes',
    json({ idfa: '384000008CF011BDB23E10B96E40000D' }),
    [['ad_id', 'upper-case without-dashes', 'request-body']],
  ],
  [
    'advertising ID upper case without dashes, every character \\u-escaped',
    { requestBody: `{"idfa":"${escapeAll('384000008CF011BDB23E10B96E40000D')}"}` },
    [['ad_id', 'json-escaped-all upper-without-dashes', 'request-body']],
  ],
  [
    'advertising ID upper case without dashes, MD5',
    json({ h: hash('md5', '384000008CF011BDB23E10B96E40000D').toString('hex') }),
    [['ad_id', 'md5-hex upper-without-dashes', 'request-body']],
  ],
  [
    "identifiers in a redirect's Location header",
    {
      responseHeaders: [
        [
          'Location',
          `https://sso.example.test/login?next=${encodeURIComponent(`https://app.example.test/cb?imei=${IMEI}&e=ana.canary@example.com`)}&gaid=384000008CF011BDB23E10B96E40000D`,
        ],
      ],
    },
    [
      ['imei', 'plain', 'response-header:location'],
      ['email', 'url-encoded', 'response-header:location'],
      ['ad_id', 'upper-case without-dashes', 'response-header:location'],
    ],
  ],
  [
    'operator name: weak evidence',
    json({ carrier: 'Orange F' }),
    [['operator', 'plain', 'request-body', 'weak']],
  ],
  [
    'e-mail, MD5 of the address',
    json({ em: hash('md5', 'ana.canary@example.com').toString('hex') }),
    [['email', 'md5-hex', 'request-body']],
  ],
  [
    'e-mail, URL-encoded',
    { url: 'https://x.example.test/?e=ana.canary%40example.com' },
    [['email', 'url-encoded', 'url']],
  ],
  [
    'contact name, JSON \\u escapes',
    { requestBody: '{"n":"Zo\\u00e9 Canary"}' },
    [['contact_name', 'json-escaped', 'request-body']],
  ],
  [
    'contact name, URL-encoded UTF-8',
    { url: 'https://x.example.test/?n=Zo%C3%A9%20Canary' },
    [['contact_name', 'url-encoded', 'url']],
  ],
  [
    'contact name, upper case',
    { requestBody: 'n=ZOé CANARY;' },
    [['contact_name', 'upper-case', 'request-body']],
  ],
  [
    'SMS text, form-encoded',
    { requestBody: 'm=see+you+at+8%2C+code+7f3k+canary' },
    [['sms_text', 'form-encoded', 'request-body']],
  ],
  [
    'location as a JSON pair',
    json({ latitude: 48.85661, longitude: 2.35222 }),
    [['location', 'coordinates', 'request-body', 'strong']],
  ],
  [
    'location in a query, 4 decimals: weak',
    { url: 'https://x.example.test/w?lat=48.8566&lng=2.3522' },
    [['location', 'coordinates-4dp', 'url', 'weak']],
  ],
  [
    'location as lon,lat (GeoJSON order)',
    json({ type: 'Point', coordinates: [2.35222, 48.85661] }),
    [['location', 'coordinates', 'request-body', 'strong']],
  ],
  [
    'location in microdegrees',
    json({ latE6: 48856610, lngE6: 2352220 }),
    [['location', 'coordinates-e6', 'request-body', 'strong']],
  ],
];

// Each row must find nothing: one digit off, another device, another place, a lone number.
const NOTHING: [name: string, spec: ExchangeSpec][] = [
  ['IMEI one digit off', json({ imei: '356938035643808' })],
  ["another device's IMSI", json({ imsi: '208011234567891' })],
  ['IMEI inside a longer number', json({ n: `9${IMEI}1` })],
  ['phone number one digit off', json({ p: '+33612345679' })],
  ['phone number inside a longer digit run', json({ p: '336123456789' })],
  ['a location 50 km away', json({ latitude: 48.40661, longitude: 2.35222 })],
  [
    'a lone latitude',
    json({ latitude: 48.85661, note: 'no longitude anywhere near in this body'.repeat(3), x: 1 }),
  ],
  [
    'latitude and longitude far apart',
    { requestBody: `lat=48.8566${'&pad=0000000000'.repeat(8)}&lng=2.3522` },
  ],
  ['the opposite hemisphere', json({ latitude: -48.85661, longitude: -2.35222 })],
  ['operator name inside a longer word', { requestBody: 'fruit=Orange Fruit' }],
  ['SHA-256 of another IMEI', json({ h: hash('sha256', '356938035643808').toString('hex') })],
  [
    'a hash prefix too short to count',
    json({ h: hash('sha256', IMEI).toString('hex').slice(0, 12) }),
  ],
  ['MAC one nibble off', { requestBody: 'mac=a4:50:46:12:34:58' }],
  [
    'Android ID one digit off, upper case, \\u-escaped',
    { requestBody: `{"aid":"${escapeAll('9774D56D682E549D')}"}` },
  ],
  [
    'advertising ID one digit off, upper case without dashes',
    json({ idfa: '384000008CF011BDB23E10B96E40000E' }),
  ],
  [
    'base64 of an IMEI one digit off',
    json({ d: Buffer.from('356938035643808').toString('base64') }),
  ],
];

const project = (exchange: Exchange) =>
  detector
    .scanExchange(exchange, 0)
    .map((f) => [f.kind, f.form, f.where, f.evidence])
    .sort();

describe('detector: kinds × forms × places', () => {
  for (const [name, spec, expected] of FOUND) {
    it(name, () => {
      const exchange = 'request' in spec ? spec : makeExchange(spec);
      const want = expected
        .map(([kind, form, where, evidence]) => [kind, form, where, evidence ?? 'strong'])
        .sort();
      expect(project(exchange)).to.deep.equal(want);
    });
  }
});

describe('detector: near misses find nothing', () => {
  for (const [name, spec] of NOTHING) {
    it(name, () => expect(project(makeExchange(spec))).to.deep.equal([]));
  }
});

describe('detector: findings', () => {
  it('point at the exchange, the part and the byte offset, with a short fragment', () => {
    const body = `${'x'.repeat(100)}{"imei":"${IMEI}"}${'y'.repeat(100)}`;
    const [finding] = detector.scanExchange(
      { ...makeExchange({ requestBody: body }), id: 'abc' },
      7,
    );
    expect(finding).to.include({
      exchange: 7,
      exchangeId: 'abc',
      kind: 'imei',
      label: 'IMEI #1',
      host: 'api.example.test',
      offset: 109,
    });
    expect(finding?.fragment).to.equal(`…${'x'.repeat(31)}{"imei":"⟦${IMEI}⟧"}${'y'.repeat(38)}…`);
  });

  it('show a cookie in the context of its header', () => {
    const [finding] = detector.scanExchange(
      makeExchange({ requestHeaders: [['Cookie', `lang=zh; deviceId=${IMEI}`]] }),
      0,
    );
    expect(finding?.fragment).to.equal(`lang=zh; deviceId=⟦${IMEI}⟧`);
    expect(finding?.offset).to.equal(0);
  });

  it('are not repeated for the same identifier, form and place', () => {
    const findings = detector.scanExchange(
      makeExchange({ requestBody: `${IMEI},${IMEI},${IMEI}` }),
      0,
    );
    expect(findings).to.have.length(1);
  });

  it('are reported per place when the same value is in several', () => {
    const findings = detector.scanExchange(
      makeExchange({ url: `https://a.example.test/?i=${IMEI}`, requestBody: IMEI }),
      0,
    );
    expect(findings.map((f) => f.where).sort()).to.deep.equal(['request-body', 'url']);
  });

  it('find a body larger than the automaton scans in one lane', () => {
    const body = `${'a'.repeat(50_000)}${IMEI}${'b'.repeat(50_000)}`;
    const [finding] = detector.scanExchange(makeExchange({ requestBody: body }), 0);
    expect(finding?.offset).to.equal(50_000);
  });

  it('find a value straddling the middle of a large body', () => {
    for (const shift of [-10, -7, -1, 0, 1, 7]) {
      const half = 20_000 + shift;
      const body = `${'a'.repeat(half)}${IMEI}${'b'.repeat(40_000 - half)}`;
      const findings = detector.scanExchange(makeExchange({ requestBody: body }), 0);
      expect(
        findings.map((f) => f.offset),
        `shift ${shift}`,
      ).to.deep.equal([half]);
    }
  });
});

// Decoders inside a body (base64, gzip, gRPC…) work within budgets; what a budget stops is told
// as unscanned, never skipped in silence: a verdict before it is then inconclusive, not a pass.
describe('detector: decoding budgets', function () {
  this.timeout(60_000);
  const zeros = (mib: number) => Buffer.alloc(mib * 1024 * 1024);
  const inJson = (blobs: Buffer[]) =>
    makeExchange(json(Object.fromEntries(blobs.map((b, i) => [`d${i}`, b.toString('base64')]))));

  it('finds an identifier in gzip inside base64 inside JSON, and leaves nothing unscanned', () => {
    const scan = detector.scan(inJson([gzipSync(`imei=${IMEI}`)]), 0);
    expect(scan.findings.map((f) => f.where)).to.deep.equal(['request-body>json:$.d0>base64>gzip']);
    expect(scan.unscanned).to.deep.equal([]);
  });

  it('tells a nested gzip bomb as unscanned, where a finding would be', () => {
    const bomb = gzipSync(Buffer.concat([zeros(65), Buffer.from(IMEI)]));
    const scan = detector.scan(inJson([bomb]), 0);
    expect(scan.findings).to.deep.equal([]);
    expect(scan.unscanned).to.deep.equal([
      {
        where: 'request-body>json:$.d0>base64>gzip',
        reason:
          'gzip inside request-body>json:$.d0>base64 decoding past 67108864 bytes (a decompression bomb?): not decoded',
      },
    ]);
  });

  it("stops at the exchange's budget: five 60 MiB blobs decode four", () => {
    const blob = gzipSync(zeros(60));
    const scan = detector.scan(inJson([blob, blob, blob, blob, blob]), 0);
    expect(scan.unscanned.map((part) => part.where)).to.deep.equal([
      'request-body>json:$.d4>base64>gzip',
    ]);
    expect(scan.unscanned[0]!.reason).to.match(
      /the exchange's decoding budget \(268435456 bytes\)/,
    );
  });

  it('tells a part nested past the depth limit as unscanned', () => {
    let nested: Buffer = Buffer.from(`imei=${IMEI}`);
    for (let i = 0; i < 10; i++) nested = gzipSync(nested);
    const scan = detector.scan(makeExchange(octets(nested)), 0);
    expect(scan.findings).to.deep.equal([]);
    expect(scan.unscanned).to.deep.equal([
      {
        where: `request-body${'>gzip'.repeat(8)}`,
        reason: 'nested more than 8 decodings deep: not opened',
      },
    ]);
  });

  it('carries a body the capture could not decode as unscanned', () => {
    const exchange = makeExchange({
      requestHeaders: [['Content-Encoding', 'gzip']],
      requestBody: gzipSync(zeros(1)),
    });
    exchange.request.body.unscanned = 'gzip body decoding past 67108864 bytes';
    const scan = detector.scan(exchange, 0);
    expect(scan.unscanned).to.deep.equal([
      { where: 'request-body', reason: 'gzip body decoding past 67108864 bytes' },
    ]);
  });
});
