import { brotliCompressSync, constants, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { MAX_DECODED } from '../../src/codec/compression.ts';
import { lz4ZeroBomb } from '../support/compressed-frames.ts';
import { seededRandom, type SeededRandom } from '../support/seeded-random.ts';

/**
 * One hostile connection to the proxy. Every host name in here is under a reserved TLD (.test)
 * or is a loopback address: the capture answers unconfigured hosts itself, and even if a case
 * ever slipped through to a pass-through it could reach nothing but this machine.
 */
export interface MalformedCase {
  family: string;
  name: string;
  /** Written to the proxy in order, one write each. */
  send: Buffer[];
  /** Written once the proxy answered the CONNECT in `send`, i.e. inside the tunnel. */
  tunnel?: Buffer[];
  /** A TLS session opened through that tunnel, and what is then written inside it. */
  tls?: { servername?: string; alpn?: string[]; send: Buffer[] };
  /** How long the case may hold its connection; most hostile clients are cut quickly. */
  deadlineMs?: number;
  /** The request must be journaled under this URL, with a body the capture did not inflate. */
  journaled?: { url: string; unscanned: boolean };
}

export interface Family {
  name: string;
  /** Cases that hold their connection long (bombs) run fewer at a time. */
  concurrency: number;
  cases: () => MalformedCase[];
}

export const HOST = 'ok.example.test';
export const IMEI = '865432101234564';

/** Bytes as written: latin1 keeps every char code below 256 as one byte, NULs and 0xff included. */
export const bytes = (text: string) => Buffer.from(text, 'latin1');

function request(line: string, headers: string[] = [`Host: ${HOST}`], body = ''): Buffer {
  return bytes(`${line}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`);
}

function make(family: string) {
  return (name: string, send: Buffer[], more: Partial<MalformedCase> = {}): MalformedCase => ({
    family,
    name,
    send,
    ...more,
  });
}

/** A printable name for a table value: long values by their length, control bytes escaped. */
function label(value: string): string {
  const shown = value.length > 40 ? `${value.slice(0, 24)}…(${value.length} chars)` : value;
  return JSON.stringify(shown);
}

const LONG = (n: number) => 'a'.repeat(n);

const METHODS = [
  'GET',
  'POST',
  'HEAD',
  'PUT',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'PROPFIND',
  'M-SEARCH',
  'PRI',
  'CONNECT',
  'get',
  'Get',
  'G ET',
  'GE\0T',
  'GET\0',
  '\0',
  '',
  ' ',
  '\t',
  '-',
  '1234',
  'GET/',
  'HTTP/1.1',
  '\xff\xfe\xfd',
  'ÄÖÜ',
  '\x16\x03\x01',
  LONG(300),
  LONG(20_000),
];

const TARGETS = [
  `http://${HOST}/`,
  '/',
  '*',
  '',
  ' ',
  'http://[::1/',
  'http://[::1',
  'http://[',
  'http://]/',
  'http://[::1]:99999/',
  'http://[::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[fe80::1%eth0]/',
  'http://[fe80::1%25eth0]/',
  'http://[:::]/',
  'http://[1:2:3:4:5:6:7:8:9]/',
  'http://[v1.x]/',
  'http:///',
  'http://',
  'http:',
  'http://:80/',
  'http://@/',
  'http://a:b@/',
  `http://user:pass@${HOST}/`,
  `http://${HOST}:0/`,
  `http://${HOST}:-1/`,
  `http://${HOST}:65536/`,
  `http://${HOST}:80a/`,
  `http://${HOST}:80:80/`,
  'http://999.999.999.999/',
  'http://0x7f.1/',
  'http://127.1/',
  'http://%41.test/',
  'http://%zz.test/',
  'http://xn--/',
  'http://xn--a.test/',
  `http://${LONG(300)}.test/`,
  `http://${'a.'.repeat(200)}test/`,
  `HTTP://${HOST.toUpperCase()}/`,
  `https://${HOST}/`,
  `ws://${HOST}/`,
  `ftp://${HOST}/`,
  'file:///etc/passwd',
  'javascript:alert(1)',
  'data:,x',
  `//${HOST}/`,
  `\\\\${HOST}\\`,
  `http:\\\\${HOST}\\`,
  `http://${HOST}#frag`,
  `http://${HOST}/../../../etc/passwd`,
  `http://${HOST}/a b`,
  `http://ok example.test/`,
  ` http://${HOST}/`,
  `http://${HOST}/\0`,
  `http://${HOST}\0.evil.test/`,
  '/\0',
  `http://${HOST}/\r`,
  `http://${HOST}/\xff\xfe`,
  `http://${HOST}/\xc3\xa9`,
  `http://${HOST}/%`,
  `http://${HOST}/%%`,
  `http://${HOST}/%zz`,
  `http://${HOST}/%0`,
  `http://${HOST}/%00`,
  `http://${HOST}/%ff%fe`,
  `http://${HOST}/%c0%80`,
  `http://${HOST}/%ed%a0%80`,
  `http://${HOST}/%u0041`,
  `http://${HOST}/%2e%2e/%2e%2e/`,
  `http://${HOST}/${'%'.repeat(5000)}`,
  `http://${HOST}/?${'%zz'.repeat(3000)}`,
  `http://${HOST}/?imei=${IMEI}&${'&'.repeat(5000)}`,
  `http://${HOST}/${LONG(1000)}`,
  `http://${HOST}/${LONG(8000)}`,
  `http://${HOST}/${LONG(16_300)}`,
  `http://${HOST}/${LONG(65_536)}`,
  `http://${HOST}/${LONG(1024 * 1024)}`,
];

const VERSIONS = [
  'HTTP/1.1',
  'HTTP/1.0',
  'HTTP/0.9',
  'HTTP/9.9',
  'HTTP/2.0',
  'HTTP/3',
  'HTTP/1',
  'HTTP/1.',
  'HTTP/.1',
  'HTTP/11.1',
  'HTTP/1.12',
  'HTTP/-1.1',
  'http/1.1',
  'HTTPS/1.1',
  'HTTP\\1.1',
  'HTTP/1.1 extra',
  'HTTP/1.1\0',
  'HTTP/\xff.1',
  'RTSP/1.0',
  '',
];

const ENDINGS = ['\r\n', '\n', '\r', '\n\r', '\r\r\n', ''];

function requestLines(random: SeededRandom): MalformedCase[] {
  const add = make('request line');
  const cases: MalformedCase[] = [];
  for (const target of TARGETS) {
    cases.push(add(`GET ${label(target)}`, [request(`GET ${target} HTTP/1.1`)]));
    cases.push(
      add(`POST ${label(target)}`, [
        request(`POST ${target} HTTP/1.1`, [`Host: ${HOST}`, 'Content-Length: 2'], 'hi'),
      ]),
    );
  }
  for (const method of METHODS) {
    for (const version of ['HTTP/1.1', 'HTTP/9.9', '']) {
      const line = `${method} http://${HOST}/ ${version}`;
      cases.push(add(`${label(method)} ${label(version)}`, [request(line)]));
    }
  }
  for (const version of VERSIONS) {
    for (const target of [`http://${HOST}/`, '/', '*']) {
      cases.push(add(`GET ${target} ${label(version)}`, [request(`GET ${target} ${version}`)]));
    }
  }
  // The request line alone, without its version or any space: what a parser sees first.
  for (const line of ['GET', 'GET ', `GET http://${HOST}/`, 'GET  HTTP/1.1', '  ', 'HTTP/1.1']) {
    for (const ending of ENDINGS) {
      cases.push(add(`line ${label(line)} ending ${label(ending)}`, [bytes(`${line}${ending}`)]));
      cases.push(
        add(`line ${label(line)} ending ${label(ending)}, headers`, [
          bytes(`${line}${ending}Host: ${HOST}${ending}${ending}`),
        ]),
      );
    }
  }
  // Combinations no table row spells out, the same ones on every run.
  for (let i = 0; i < 250; i++) {
    const method = random.pick(METHODS);
    const target = random.pick(TARGETS);
    const version = random.pick(VERSIONS);
    const ending = random.pick(ENDINGS);
    const host = random.int(2) === 0 ? `Host: ${HOST}${ending}` : '';
    cases.push(
      add(`mixed #${i}: ${label(method)} ${label(target)} ${label(version)} ${label(ending)}`, [
        bytes(`${method} ${target} ${version}${ending}${host}${ending}`),
      ]),
    );
  }
  return cases;
}

const HEADER_LINES = [
  'NoColonHere',
  ':',
  ':empty-name',
  ': value',
  ' leading: space',
  '\tfolded',
  'Name : space-before-colon',
  'Na me: x',
  'Name\0: x',
  'Name: va\0lue',
  'Name: \0',
  '\0',
  'Name: \xff\xfe',
  'Name: \xc0\x80',
  'Name: \xed\xa0\x80',
  'Name: \xf4\x90\x80\x80',
  'Name: \xe2\x28\xa1',
  '\xff\xfe: x',
  'Name:',
  'Name:\x7f',
  'Name: a\rb',
  'Name: a\nb',
  'X-Imei: ' + IMEI,
  'Cookie: ' + ';'.repeat(10_000),
  `Name: ${LONG(100 * 1024)}`,
  `${'N'.repeat(100 * 1024)}: v`,
  `Name: ${LONG(1024 * 1024)}`,
  'Content-Type: multipart/form-data; boundary=',
  'Content-Type: \xff/\xff; charset=\0',
  'Content-Encoding: gzip',
  'Content-Encoding: br, zstd, deflate, x-gzip, compress, ' + 'identity, '.repeat(1000),
  'Accept-Encoding: ' + 'gzip;q=1, '.repeat(1000),
  'Transfer-Encoding: \xff',
  'Connection: \xff, close, keep-alive, Upgrade',
  'Upgrade: \0',
  'Expect: garbage',
  'Range: bytes=-1--2,,,',
  'Authorization: Basic',
  'Proxy-Authorization: Basic',
  'Proxy-Authorization: Basic !!!',
  'Proxy-Connection: \xff',
];

/** Proxy-Authorization values: mockttp decodes "metadata:<json>" credentials into socket tags. */
const PROXY_AUTHS = [
  'Basic',
  'Basic ',
  'Basic  ',
  'Basic !!!',
  'Basic \xff\xfe',
  'Bearer',
  'basic',
  'Basic ' + Buffer.from('metadata').toString('base64'),
  'Basic ' + Buffer.from('metadata:').toString('base64'),
  'Basic ' + Buffer.from('metadata:eyJ').toString('base64'),
  'Basic ' + Buffer.from('metadata:e!!!').toString('base64'),
  'Basic ' + Buffer.from('metadata:{"tags":5}').toString('base64'),
  'Basic ' + Buffer.from('metadata:{"tags":[{"a":1}]}').toString('base64'),
  'Basic ' + Buffer.from('metadata:{"__proto__":{"polluted":1}}').toString('base64'),
  'Basic ' +
    Buffer.from('metadata:{"constructor":{"prototype":{"polluted":1}}}').toString('base64'),
  'Basic ' + Buffer.from('metadata:' + '['.repeat(8000)).toString('base64'),
  'Basic ' +
    Buffer.from('metadata:' + '{"a":'.repeat(1500) + '1' + '}'.repeat(1500)).toString('base64'),
];

const CONTENT_LENGTHS = [
  '-1',
  '-0',
  '0x10',
  '1e3',
  '+5',
  ' 5',
  '5 ',
  '5 5',
  '5,5',
  '5, 6',
  '05',
  '2147483648',
  '4294967296',
  '9007199254740993',
  '18446744073709551616',
  '99999999999999999999',
  '1'.repeat(1000),
  'NaN',
  'Infinity',
  '',
  'abc',
  '\xff',
  '5\0',
];

const HOSTS = [
  '',
  ' ',
  '[::1',
  '[::1]',
  '[::1]:80',
  '::1',
  ':80',
  `${HOST}:`,
  `${HOST}:99999`,
  `${HOST}:-1`,
  `${HOST}:abc`,
  `${HOST}:80:80`,
  'a b',
  '\0',
  `${HOST}\0`,
  '\xff\xfe',
  `user@${HOST}`,
  '@',
  `${HOST}/path`,
  `${HOST}?x`,
  `${HOST}#x`,
  '%41',
  'xn--',
  LONG(300),
  'a.'.repeat(200),
  '127.0.0.1:1',
  '0.0.0.0',
  '999.999.999.999',
  '[fe80::1%eth0]',
  '*',
];

function headers(): MalformedCase[] {
  const add = make('headers');
  const cases: MalformedCase[] = [];
  for (const line of HEADER_LINES) {
    cases.push(
      add(`${label(line)} after Host`, [
        request(`GET http://${HOST}/ HTTP/1.1`, [`Host: ${HOST}`, line]),
      ]),
    );
    cases.push(
      add(`${label(line)} before Host`, [request(`GET / HTTP/1.1`, [line, `Host: ${HOST}`])]),
    );
    cases.push(add(`${label(line)} alone`, [request(`GET http://${HOST}/ HTTP/1.1`, [line])]));
    cases.push(
      add(`${label(line)} three times`, [
        request(`GET / HTTP/1.1`, [`Host: ${HOST}`, line, line, line]),
      ]),
    );
    cases.push(
      add(`${label(line)} on a POST`, [
        request(
          `POST http://${HOST}/ HTTP/1.1`,
          [`Host: ${HOST}`, line, 'Content-Length: 5'],
          'hello',
        ),
      ]),
    );
  }
  // Thousands of headers: within Node's 16 KB header budget ("a:") and far beyond it.
  for (const count of [100, 1000, 1999, 2000, 2001, 3000, 4000, 10_000, 100_000]) {
    for (const shape of ['a:', 'X-N-#: value', 'Set-Cookie: x=#', `Host: ${HOST}`]) {
      const lines = Array.from({ length: count }, (_, i) => shape.replace('#', String(i)));
      cases.push(
        add(`${count} × ${label(shape)}`, [
          request(`GET http://${HOST}/ HTTP/1.1`, [`Host: ${HOST}`, ...lines]),
        ]),
      );
    }
  }
  for (const length of CONTENT_LENGTHS) {
    for (const body of ['', 'hello', LONG(100)]) {
      for (const method of ['POST', 'GET']) {
        cases.push(
          add(`${method} Content-Length ${label(length)}, ${body.length}-byte body`, [
            request(
              `${method} http://${HOST}/ HTTP/1.1`,
              [`Host: ${HOST}`, `Content-Length: ${length}`],
              body,
            ),
          ]),
        );
      }
    }
  }
  for (const [first, second] of [
    ['5', '5'],
    ['5', '6'],
    ['0', '5'],
    ['5', '-1'],
    ['5', ''],
    ['99999999999999999999', '5'],
  ] as const) {
    for (const body of ['', 'hello', 'hello world']) {
      cases.push(
        add(`Content-Length ${first} and ${second}, ${body.length}-byte body`, [
          request(
            `POST http://${HOST}/ HTTP/1.1`,
            [`Host: ${HOST}`, `Content-Length: ${first}`, `Content-Length: ${second}`],
            body,
          ),
        ]),
      );
    }
  }
  for (const host of HOSTS) {
    for (const target of ['/', `/x?imei=${IMEI}`, '*', `${HOST}:80`]) {
      cases.push(
        add(`Host ${label(host)}, target ${label(target)}`, [
          request(`GET ${target} HTTP/1.1`, [`Host: ${host}`]),
        ]),
      );
    }
  }
  for (const [name, lines] of [
    ['no Host', []],
    ['two Hosts', [`Host: ${HOST}`, 'Host: other.example.test']],
    ['empty and real Host', ['Host:', `Host: ${HOST}`]],
  ] as const) {
    for (const target of ['/', `http://${HOST}/`]) {
      cases.push(add(`${name}, target ${target}`, [request(`GET ${target} HTTP/1.1`, [...lines])]));
    }
  }
  for (const auth of PROXY_AUTHS) {
    cases.push(
      add(`Proxy-Authorization ${label(auth)}`, [
        request(`GET http://${HOST}/ HTTP/1.1`, [`Host: ${HOST}`, `Proxy-Authorization: ${auth}`]),
      ]),
    );
  }
  // Expectations and upgrades change what follows the headers; garbage follows them here.
  const upgrades: [string, string[]][] = [
    ['Expect 100-continue, body sent', ['Expect: 100-continue', 'Content-Length: 5']],
    ['Expect 100-continue, no body', ['Expect: 100-continue', 'Content-Length: 100000']],
    ['Expect garbage', ['Expect: \xff\0', 'Content-Length: 5']],
    ['websocket, no key', ['Upgrade: websocket', 'Connection: Upgrade']],
    [
      'websocket, bad key',
      [
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: !!!',
        'Sec-WebSocket-Version: 13',
      ],
    ],
    [
      'websocket, bad version',
      [
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: \xff',
      ],
    ],
    [
      'websocket, good handshake',
      [
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
      ],
    ],
    [
      'h2c, bad settings',
      ['Upgrade: h2c', 'Connection: Upgrade, HTTP2-Settings', 'HTTP2-Settings: !!!'],
    ],
    [
      'h2c, empty settings',
      ['Upgrade: h2c', 'Connection: Upgrade, HTTP2-Settings', 'HTTP2-Settings:'],
    ],
    ['Upgrade garbage', ['Upgrade: \xff\0', 'Connection: Upgrade']],
  ];
  for (const [name, lines] of upgrades) {
    for (const [after, tail] of [
      ['nothing', ''],
      ['hello', 'hello'],
      ['garbage', '\xff\x00\x81\xfe' + '\xff'.repeat(100)],
      ['a websocket frame of 2^63 bytes', '\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff'],
    ] as const) {
      cases.push(
        add(`${name}, then ${after}`, [
          request(`GET http://${HOST}/ws HTTP/1.1`, [`Host: ${HOST}`, ...lines]),
          bytes(tail),
        ]),
      );
    }
  }
  return cases;
}

const CHUNK_SIZES = [
  'zz',
  '-1',
  '-0',
  '0x5',
  ' 5',
  '5 ',
  '+5',
  '5;ext',
  '5;ext=',
  '5;ext="\0"',
  `5;${LONG(100_000)}`,
  '0'.repeat(1000) + '5',
  'ffffffffffffffff',
  '10000000000000000',
  'fffffffffffffffffffffff',
  '7fffffff',
  '',
  '\xff',
  '5\0',
  'G',
];

const CHUNK_BODIES: [string, (size: string) => string][] = [
  ['hello, no end', (size) => `${size}\r\nhello\r\n`],
  ['hello, end', (size) => `${size}\r\nhello\r\n0\r\n\r\n`],
  ['short data, end', (size) => `${size}\r\nhi\r\n0\r\n\r\n`],
  ['long data, end', (size) => `${size}\r\nhello world\r\n0\r\n\r\n`],
  ['no CRLF after data', (size) => `${size}\r\nhello0\r\n\r\n`],
  ['bare LF', (size) => `${size}\nhello\n0\n\n`],
  ['bare CR', (size) => `${size}\rhello\r0\r\r`],
];

const TRAILERS = [
  'X-Trailer: fine',
  'nocolon',
  ':',
  'X: \0',
  '\xff\xfe: \xff',
  `X: ${LONG(100 * 1024)}`,
  Array.from({ length: 5000 }, (_, i) => `T${i}: x`).join('\r\n'),
  ' folded',
  'Content-Length: 5',
  'Transfer-Encoding: chunked',
  'Host: other.example.test',
];

function chunked(): MalformedCase[] {
  const add = make('chunked');
  const head = (te = 'chunked') =>
    bytes(
      `POST http://${HOST}/chunked HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: ${te}\r\n\r\n`,
    );
  const cases: MalformedCase[] = [];
  for (const size of CHUNK_SIZES) {
    for (const [name, body] of CHUNK_BODIES) {
      cases.push(add(`size ${label(size)}, ${name}`, [head(), bytes(body(size))]));
    }
  }
  // A size larger than the data, then the client goes away: the proxy is left waiting.
  for (const size of ['5', 'ff', 'ffff', 'fffffff', '100000000']) {
    for (const data of ['', 'hi', LONG(1000)]) {
      cases.push(
        add(`size ${size} with ${data.length} bytes, then silence`, [
          head(),
          bytes(`${size}\r\n${data}`),
        ]),
      );
      cases.push(
        add(`size ${size} with ${data.length} bytes in one write`, [
          bytes(head().toString('latin1') + `${size}\r\n${data}`),
        ]),
      );
    }
  }
  for (const trailer of TRAILERS) {
    for (const ending of ['\r\n\r\n', '\r\n', '']) {
      cases.push(
        add(`trailer ${label(trailer)} ending ${label(ending)}`, [
          head(),
          bytes(`5\r\nhello\r\n0\r\n${trailer}${ending}`),
        ]),
      );
    }
  }
  for (const te of [
    'chunked, gzip',
    'gzip, chunked',
    'gzip',
    'identity',
    'chunked\0',
    ' chunked',
    'CHUNKED',
    'xchunked',
    'chunked, chunked',
    'chunked;q=1',
    '\xff',
  ]) {
    for (const [name, body] of CHUNK_BODIES.slice(0, 3)) {
      cases.push(add(`Transfer-Encoding ${label(te)}, ${name}`, [head(te), bytes(body('5'))]));
    }
  }
  // Many tiny chunks, and the terminating chunk split over writes.
  cases.push(
    add('10,000 one-byte chunks', [head(), bytes('1\r\nx\r\n'.repeat(10_000) + '0\r\n\r\n')]),
  );
  cases.push(
    add('terminator split over writes', [
      head(),
      bytes('5\r\nhello\r\n0'),
      bytes('\r'),
      bytes('\n\r'),
      bytes('\n'),
    ]),
  );
  cases.push(
    add('every byte its own write', [head(), ...[...'5\r\nhello\r\n0\r\n\r\n'].map(bytes)]),
  );
  return cases;
}

function conflicts(): MalformedCase[] {
  const add = make('Transfer-Encoding and Content-Length');
  const cases: MalformedCase[] = [];
  const lengths = ['0', '5', '3', '100', '-1', '99999999999999999999'];
  const encodings = [
    'chunked',
    'chunked, identity',
    'identity',
    'gzip, chunked',
    'Chunked',
    ' chunked',
    'chunked\t',
    'x',
  ];
  const bodies: [string, string][] = [
    ['chunked body', '5\r\nhello\r\n0\r\n\r\n'],
    ['raw body', 'hello'],
    ['smuggled request', `0\r\n\r\nGET http://${HOST}/smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`],
    ['nothing', ''],
  ];
  for (const length of lengths) {
    for (const encoding of encodings) {
      for (const [name, body] of bodies) {
        for (const teFirst of [true, false]) {
          const te = `Transfer-Encoding: ${encoding}`;
          const cl = `Content-Length: ${length}`;
          cases.push(
            add(
              `${teFirst ? 'TE then CL' : 'CL then TE'}: ${label(encoding)} / ${label(length)}, ${name}`,
              [
                request(
                  `POST http://${HOST}/conflict HTTP/1.1`,
                  [`Host: ${HOST}`, ...(teFirst ? [te, cl] : [cl, te])],
                  body,
                ),
              ],
            ),
          );
        }
      }
    }
  }
  // HTTP/1.0 has no chunked encoding at all.
  for (const [name, body] of bodies) {
    cases.push(
      add(`HTTP/1.0 with chunked, ${name}`, [
        request(
          `POST http://${HOST}/ HTTP/1.0`,
          [`Host: ${HOST}`, 'Transfer-Encoding: chunked', 'Content-Length: 5'],
          body,
        ),
      ]),
    );
  }
  return cases;
}

// --- TLS ---------------------------------------------------------------------------------------

const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u24 = (n: number) => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
const vector16 = (...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([u16(body.length), body]);
};
const extension = (type: number, body: Buffer) => Buffer.concat([u16(type), vector16(body)]);

interface HelloParts {
  version?: Buffer;
  sessionId?: Buffer;
  ciphers?: Buffer;
  compression?: Buffer;
  extensions?: Buffer[];
  recordVersion?: Buffer;
  /** Overrides the record's declared length. */
  recordLength?: number;
  /** Overrides the handshake's declared length. */
  handshakeLength?: number;
}

export const sni = (name: Buffer) => extension(0x0000, vector16(Buffer.from([0]), vector16(name)));
const alpn = (...protocols: string[]) =>
  extension(
    0x0010,
    vector16(...protocols.map((p) => Buffer.concat([Buffer.from([p.length & 0xff]), bytes(p)]))),
  );
const GROUPS = extension(0x000a, vector16(u16(0x001d), u16(0x0017)));
const SIGNATURES = extension(0x000d, vector16(u16(0x0403), u16(0x0804), u16(0x0401)));
const VERSIONS_EXT = extension(0x002b, Buffer.from([4, 3, 4, 3, 3]));
const KEY_SHARE = extension(0x0033, vector16(u16(0x001d), vector16(Buffer.alloc(32, 9))));

/**
 * A TLS 1.3 ClientHello built field by field (deterministic, unlike one captured from OpenSSL),
 * so that each length and extension can be broken on its own.
 */
export function clientHello(parts: HelloParts = {}): Buffer {
  const extensions = Buffer.concat(
    parts.extensions ?? [
      sni(bytes(HOST)),
      GROUPS,
      SIGNATURES,
      VERSIONS_EXT,
      KEY_SHARE,
      alpn('h2', 'http/1.1'),
    ],
  );
  const body = Buffer.concat([
    parts.version ?? Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    parts.sessionId ?? Buffer.concat([Buffer.from([32]), Buffer.alloc(32, 1)]),
    parts.ciphers ?? vector16(u16(0x1301), u16(0x1302), u16(0xc02f)),
    parts.compression ?? Buffer.from([1, 0]),
    vector16(extensions),
  ]);
  const handshake = Buffer.concat([
    Buffer.from([1]),
    u24(parts.handshakeLength ?? body.length),
    body,
  ]);
  return Buffer.concat([
    Buffer.from([0x16]),
    parts.recordVersion ?? Buffer.from([3, 1]),
    u16(parts.recordLength ?? handshake.length),
    handshake,
  ]);
}

function badHellos(random: SeededRandom): [string, Buffer][] {
  const good = clientHello();
  const hellos: [string, Buffer][] = [];
  for (let cut = 1; cut < good.length; cut += 7)
    hellos.push([`cut at ${cut} bytes`, good.subarray(0, cut)]);
  for (let i = 0; i < 60; i++) {
    const flipped = Buffer.from(good);
    for (let n = 0; n <= random.int(4); n++)
      flipped[5 + random.int(good.length - 5)] = random.int(256);
    hellos.push([`bytes changed #${i}`, flipped]);
  }
  for (const recordLength of [0, 1, 4, 0x3fff, 0x4000, 0x4001, 0xffff]) {
    hellos.push([`record length ${recordLength}`, clientHello({ recordLength })]);
  }
  for (const handshakeLength of [0, 1, 0x4000, 0xffffff]) {
    hellos.push([`handshake length ${handshakeLength}`, clientHello({ handshakeLength })]);
  }
  for (const version of [
    [0, 0],
    [3, 0],
    [3, 4],
    [0xff, 0xff],
    [2, 0],
  ]) {
    hellos.push([`version ${version.join('.')}`, clientHello({ version: Buffer.from(version) })]);
    hellos.push([
      `record version ${version.join('.')}`,
      clientHello({ recordVersion: Buffer.from(version) }),
    ]);
  }
  hellos.push([
    'session id of 255 bytes declared',
    clientHello({ sessionId: Buffer.from([255, 1, 2]) }),
  ]);
  hellos.push(['no cipher suites', clientHello({ ciphers: vector16() })]);
  hellos.push(['odd cipher list', clientHello({ ciphers: vector16(Buffer.from([0x13])) })]);
  hellos.push(['cipher list longer than the hello', clientHello({ ciphers: u16(0xfffe) })]);
  hellos.push(['no compression', clientHello({ compression: Buffer.from([0]) })]);
  hellos.push(['compression only deflate', clientHello({ compression: Buffer.from([1, 1]) })]);
  const names: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['NUL', bytes('a\0b.test')],
    ['bad UTF-8', bytes('\xff\xfe.test')],
    ['UTF-8', Buffer.from('bücher.test')],
    ['IP', bytes('127.0.0.1')],
    ['IPv6', bytes('[::1')],
    ['trailing dot', bytes(`${HOST}.`)],
    ['spaces', bytes('a b.test')],
    ['wildcard', bytes('*.test')],
    ['8 KB', bytes(`${LONG(8000)}.test`)],
    ['60 KB', bytes(`${LONG(60_000)}.test`)],
    ['label of 300', bytes(`${LONG(300)}.test`)],
  ];
  for (const [name, value] of names)
    hellos.push([
      `SNI ${name}`,
      clientHello({ extensions: [sni(value), KEY_SHARE, VERSIONS_EXT] }),
    ]);
  hellos.push([
    'two SNI extensions',
    clientHello({ extensions: [sni(bytes(HOST)), sni(bytes('b.test')), KEY_SHARE] }),
  ]);
  hellos.push([
    'SNI of type 1',
    clientHello({ extensions: [extension(0, vector16(Buffer.from([1]), vector16(bytes(HOST))))] }),
  ]);
  hellos.push([
    'SNI list shorter than its name',
    clientHello({
      extensions: [extension(0, Buffer.concat([u16(2), Buffer.from([0]), u16(500), bytes(HOST)]))],
    }),
  ]);
  hellos.push([
    'SNI extension empty',
    clientHello({ extensions: [extension(0, Buffer.alloc(0))] }),
  ]);
  hellos.push(['ALPN empty protocol', clientHello({ extensions: [sni(bytes(HOST)), alpn('')] })]);
  hellos.push([
    'ALPN 255-byte protocol',
    clientHello({ extensions: [sni(bytes(HOST)), alpn(LONG(255))] }),
  ]);
  hellos.push([
    'ALPN only unknown',
    clientHello({ extensions: [sni(bytes(HOST)), alpn('\xff\0')] }),
  ]);
  hellos.push([
    'ALPN list overruns',
    clientHello({
      extensions: [extension(0x10, Buffer.concat([u16(100), Buffer.from([50]), bytes('h2')]))],
    }),
  ]);
  hellos.push([
    'extension length overruns',
    clientHello({ extensions: [Buffer.concat([u16(0), u16(0xffff)])] }),
  ]);
  hellos.push([
    '1,000 unknown extensions',
    clientHello({
      extensions: Array.from({ length: 1000 }, (_, i) => extension(0x5000 + i, Buffer.alloc(0))),
    }),
  ]);
  hellos.push([
    'GREASE everywhere',
    clientHello({
      ciphers: vector16(u16(0x0a0a), u16(0x1301)),
      extensions: [extension(0x0a0a, Buffer.alloc(0)), sni(bytes(HOST)), KEY_SHARE, VERSIONS_EXT],
    }),
  ]);
  hellos.push(['no extensions', clientHello({ extensions: [] })]);
  hellos.push([
    'hello split in 1-byte records',
    Buffer.concat([...good.subarray(5)].map((b) => Buffer.from([0x16, 3, 1, 0, 1, b]))),
  ]);
  hellos.push(['alert instead of hello', Buffer.from([0x15, 3, 3, 0, 2, 2, 40])]);
  hellos.push([
    'application data first',
    Buffer.concat([Buffer.from([0x17, 3, 3, 0, 5]), bytes('hello')]),
  ]);
  hellos.push([
    'SSLv2 hello',
    Buffer.from([
      0x80,
      0x2e,
      0x01,
      0x00,
      0x02,
      0x00,
      0x15,
      0x00,
      0x00,
      0x00,
      0x10,
      ...Buffer.alloc(21, 1),
      ...Buffer.alloc(16, 2),
    ]),
  ]);
  hellos.push(['two hellos', Buffer.concat([good, good])]);
  hellos.push(['hello then garbage', Buffer.concat([good, random.bytes(300)])]);
  for (let i = 0; i < 80; i++) {
    const size = random.pick([1, 3, 10, 100, 1000, 20_000]);
    hellos.push([
      `0x16 0x03 then ${size} random bytes #${i}`,
      Buffer.concat([Buffer.from([0x16, 0x03, random.int(6)]), random.bytes(size)]),
    ]);
  }
  return hellos;
}

function clientHellos(random: SeededRandom): MalformedCase[] {
  const add = make('ClientHello');
  return badHellos(random).map(([name, hello]) => add(name, [hello]));
}

// --- CONNECT -----------------------------------------------------------------------------------

const CONNECT_TARGETS = [
  `${HOST}:443`,
  HOST,
  `${HOST}:`,
  `${HOST}:0`,
  `${HOST}:99999`,
  `${HOST}:-1`,
  `${HOST}:443:443`,
  `${HOST}:443 extra`,
  ':443',
  '[::1',
  '[::1]:443',
  '[::1]',
  '127.0.0.1:1',
  '*',
  '/',
  `http://${HOST}/`,
  '\0:443',
  '%00:443',
  '\xff\xfe:443',
  `${LONG(10_000)}:443`,
  '@:443',
  `user@${HOST}:443`,
];

function connects(random: SeededRandom): MalformedCase[] {
  const add = make('CONNECT');
  const cases: MalformedCase[] = [];
  const followUps: [string, Buffer[]][] = [
    ['nothing', []],
    ['random bytes', [random.bytes(200)]],
    ['a relative GET', [request(`GET /inside?imei=${IMEI} HTTP/1.1`)]],
    ['an unterminated IPv6 URL', [request('GET http://[::1/ HTTP/1.1')]],
    ['a relative GET with no Host', [bytes('GET / HTTP/1.1\r\n\r\n')]],
    [
      'a bad ClientHello',
      [Buffer.concat([Buffer.from([0x16, 3, 1, 0xff, 0xff, 1]), random.bytes(100)])],
    ],
    ['a ClientHello cut short', [clientHello().subarray(0, 40)]],
    ['another CONNECT', [request(`CONNECT ${HOST}:443 HTTP/1.1`)]],
    [
      'an HTTP/2 preface and garbage',
      [Buffer.concat([bytes('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), random.bytes(64)])],
    ],
    ['a SOCKS5 greeting', [Buffer.from([5, 1, 0])]],
  ];
  for (const target of CONNECT_TARGETS) {
    for (const version of ['HTTP/1.1', 'HTTP/1.0', 'HTTP/9.9']) {
      cases.push(
        add(`CONNECT ${label(target)} ${version}`, [
          request(`CONNECT ${target} ${version}`, [`Host: ${target}`]),
        ]),
      );
    }
    for (const [name, tunnel] of followUps) {
      cases.push(
        add(`CONNECT ${label(target)}, then ${name}`, [request(`CONNECT ${target} HTTP/1.1`)], {
          tunnel,
        }),
      );
    }
    // The same bytes in the CONNECT's own packet: before the proxy said the tunnel is open.
    cases.push(
      add(`CONNECT ${label(target)} with garbage in the same packet`, [
        Buffer.concat([request(`CONNECT ${target} HTTP/1.1`), random.bytes(50)]),
      ]),
    );
  }
  for (const auth of PROXY_AUTHS) {
    cases.push(
      add(`CONNECT with Proxy-Authorization ${label(auth)}`, [
        request(`CONNECT ${HOST}:443 HTTP/1.1`, [
          `Host: ${HOST}:443`,
          `Proxy-Authorization: ${auth}`,
        ]),
      ]),
    );
  }
  for (const garbage of [
    'CONNECT',
    'CONNECT \r\n\r\n',
    'CONNECT  HTTP/1.1\r\n\r\n',
    'CONNECT HTTP/1.1\r\n\r\n',
    'CONNECT :\r\n\r\n',
    'CONNECT \0\0\0 HTTP/1.1\r\n\r\n',
    `CONNECT ${HOST}:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello`,
    `CONNECT ${HOST}:443 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
  ]) {
    cases.push(add(`CONNECT garbage ${label(garbage)}`, [bytes(garbage)]));
  }
  // TLS that completes through the tunnel, then hostile bytes inside it.
  const inside: [string, Buffer[]][] = [
    ['nothing', []],
    ['random bytes', [random.bytes(300)]],
    ['an unterminated IPv6 URL', [request('GET http://[::1/ HTTP/1.1')]],
    [
      'chunk size past the data',
      [bytes(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\nffff\r\nhi`)],
    ],
    ['a 1 MB header', [request('GET / HTTP/1.1', [`Host: ${HOST}`, `X: ${LONG(1024 * 1024)}`])]],
    ['a relative GET with the IMEI', [request(`GET /tls?imei=${IMEI} HTTP/1.1`)]],
  ];
  for (const target of [`${HOST}:443`, HOST, '[::1]:443', '127.0.0.1:1', `${HOST}:99999`]) {
    for (const [name, send] of inside) {
      cases.push(
        add(
          `CONNECT ${label(target)}, TLS, then ${name}`,
          [request(`CONNECT ${target} HTTP/1.1`)],
          {
            tls: { servername: HOST, send },
            deadlineMs: 2000,
          },
        ),
      );
    }
  }
  for (const [name, send] of http2Garbage(random).slice(0, 12)) {
    cases.push(
      add(`CONNECT, TLS with ALPN h2, then ${name}`, [request(`CONNECT ${HOST}:443 HTTP/1.1`)], {
        tls: { servername: HOST, alpn: ['h2'], send: [Buffer.concat([PREFACE, ...send])] },
        deadlineMs: 2000,
      }),
    );
  }
  for (const alpns of [['\xff'], ['h2c'], ['http/1.0'], ['spdy/3'], [LONG(200)]]) {
    cases.push(
      add(
        `CONNECT, TLS with ALPN ${label(alpns.join(','))}, then a GET`,
        [request(`CONNECT ${HOST}:443 HTTP/1.1`)],
        {
          tls: { servername: HOST, alpn: alpns, send: [request('GET / HTTP/1.1')] },
          deadlineMs: 2000,
        },
      ),
    );
  }
  for (const [name, hello] of badHellos(random).filter((_, i) => i % 4 === 0)) {
    cases.push(
      add(`CONNECT, then a ClientHello: ${name}`, [request(`CONNECT ${HOST}:443 HTTP/1.1`)], {
        tunnel: [hello],
      }),
    );
  }
  return cases;
}

// --- HTTP/2 ------------------------------------------------------------------------------------

export const PREFACE = bytes('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer,
  length = payload.length,
): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([header, payload]);
}

/** An HPACK literal header, never indexed, no Huffman: enough to write any header at all. */
function literal(name: string, value: string): Buffer {
  const length = (text: string) => {
    const size = Buffer.byteLength(text, 'latin1');
    if (size < 127) return Buffer.from([size]);
    // Longer strings take HPACK's multi-byte integer.
    const out = [127];
    let rest = size - 127;
    while (rest >= 128) {
      out.push((rest % 128) + 128);
      rest = Math.floor(rest / 128);
    }
    out.push(rest);
    return Buffer.from(out);
  };
  return Buffer.concat([
    Buffer.from([0x10]),
    length(name),
    bytes(name),
    length(value),
    bytes(value),
  ]);
}

const SETTINGS = frame(4, 0, 0, Buffer.alloc(0));
const END_HEADERS = 4;
const END_STREAM = 1;

function headersFrame(
  stream: number,
  fields: [string, string][],
  flags = END_HEADERS | END_STREAM,
) {
  return frame(1, flags, stream, Buffer.concat(fields.map(([n, v]) => literal(n, v))));
}

const GET_FIELDS: [string, string][] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':authority', HOST],
  [':path', `/h2?imei=${IMEI}`],
];

function http2Garbage(random: SeededRandom): [string, Buffer[]][] {
  const out: [string, Buffer[]][] = [
    ['nothing', []],
    ['random bytes', [random.bytes(100)]],
    ['SETTINGS with a bad length', [frame(4, 0, 0, Buffer.alloc(5))]],
    ['SETTINGS on a stream', [frame(4, 0, 1, Buffer.alloc(0))]],
    ['a frame claiming 16 MB', [frame(0, 0, 1, Buffer.alloc(10), 0xffffff)]],
    [
      'HEADERS of garbage HPACK',
      [SETTINGS, frame(1, END_HEADERS | END_STREAM, 1, random.bytes(60))],
    ],
    [
      'HEADERS with an index past the table',
      [SETTINGS, frame(1, END_HEADERS, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))],
    ],
    ['HEADERS on stream 0', [SETTINGS, headersFrame(0, GET_FIELDS)]],
    ['HEADERS on an even stream', [SETTINGS, headersFrame(2, GET_FIELDS)]],
    ['a good GET, then garbage', [SETTINGS, headersFrame(1, GET_FIELDS), random.bytes(50)]],
    [
      'a GET with no :path',
      [
        SETTINGS,
        headersFrame(
          1,
          GET_FIELDS.filter(([n]) => n !== ':path'),
        ),
      ],
    ],
    [
      'a GET to an unterminated IPv6 authority',
      [
        SETTINGS,
        headersFrame(1, [
          [':method', 'GET'],
          [':scheme', 'http'],
          [':authority', '[::1'],
          [':path', '/'],
        ]),
      ],
    ],
    [
      'a GET with :path garbage',
      [
        SETTINGS,
        headersFrame(1, [
          [':method', 'GET'],
          [':scheme', 'http'],
          [':authority', HOST],
          [':path', '\0\xff %zz'],
        ]),
      ],
    ],
    ['a GET with a header of NUL', [SETTINGS, headersFrame(1, [...GET_FIELDS, ['x-nul', '\0']])]],
    [
      'a GET with an uppercase header',
      [SETTINGS, headersFrame(1, [...GET_FIELDS, ['X-Upper', 'x']])],
    ],
    [
      'a GET with connection-specific headers',
      [
        SETTINGS,
        headersFrame(1, [...GET_FIELDS, ['connection', 'close'], ['transfer-encoding', 'chunked']]),
      ],
    ],
    [
      'a GET with :method garbage',
      [
        SETTINGS,
        headersFrame(1, [
          [':method', 'G\0T'],
          [':scheme', 'http'],
          [':authority', HOST],
          [':path', '/'],
        ]),
      ],
    ],
    [
      'a CONNECT with no :authority',
      [SETTINGS, headersFrame(1, [[':method', 'CONNECT']], END_HEADERS)],
    ],
    [
      'a CONNECT to an unterminated IPv6 authority',
      [
        SETTINGS,
        headersFrame(
          1,
          [
            [':method', 'CONNECT'],
            [':authority', '[::1'],
          ],
          END_HEADERS,
        ),
      ],
    ],
    [
      'a CONNECT with Proxy-Authorization "Basic"',
      [
        SETTINGS,
        headersFrame(
          1,
          [
            [':method', 'CONNECT'],
            [':authority', `${HOST}:443`],
            ['proxy-authorization', 'Basic'],
          ],
          END_HEADERS,
        ),
      ],
    ],
    [
      'a POST whose DATA overruns content-length',
      [
        SETTINGS,
        headersFrame(
          1,
          [
            [':method', 'POST'],
            [':scheme', 'http'],
            [':authority', HOST],
            [':path', '/'],
            ['content-length', '2'],
          ],
          END_HEADERS,
        ),
        frame(0, END_STREAM, 1, bytes('hello')),
      ],
    ],
    [
      'a POST with gzip garbage',
      [
        SETTINGS,
        headersFrame(
          1,
          [
            [':method', 'POST'],
            [':scheme', 'http'],
            [':authority', HOST],
            [':path', '/'],
            ['content-encoding', 'gzip'],
          ],
          END_HEADERS,
        ),
        frame(0, END_STREAM, 1, Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3])),
      ],
    ],
    ['DATA on an idle stream', [SETTINGS, frame(0, END_STREAM, 7, bytes('x'))]],
    [
      'DATA with padding longer than the frame',
      [
        SETTINGS,
        headersFrame(1, GET_FIELDS, END_HEADERS),
        frame(0, 8 | END_STREAM, 1, Buffer.from([200, 1, 2])),
      ],
    ],
    ['WINDOW_UPDATE of 0', [SETTINGS, frame(8, 0, 0, Buffer.alloc(4))]],
    [
      'WINDOW_UPDATE past 2^31',
      [
        SETTINGS,
        frame(8, 0, 0, Buffer.from([0x7f, 0xff, 0xff, 0xff])),
        frame(8, 0, 0, Buffer.from([0x7f, 0xff, 0xff, 0xff])),
      ],
    ],
    ['PING with a bad length', [SETTINGS, frame(6, 0, 0, Buffer.alloc(3))]],
    ['GOAWAY garbage', [SETTINGS, frame(7, 0, 0, random.bytes(3))]],
    ['PRIORITY on itself', [SETTINGS, frame(2, 0, 1, Buffer.from([0, 0, 0, 1, 16]))]],
    ['an unknown frame type', [SETTINGS, frame(0xfe, 0xff, 1, random.bytes(20))]],
    ['CONTINUATION with no HEADERS', [SETTINGS, frame(9, END_HEADERS, 1, random.bytes(10))]],
    [
      '1,000 CONTINUATION frames',
      [
        SETTINGS,
        frame(1, 0, 1, literal('x', 'y')),
        ...Array.from({ length: 1000 }, () => frame(9, 0, 1, literal('x-flood', 'y'.repeat(50)))),
      ],
    ],
    [
      '500 streams opened and reset',
      [
        SETTINGS,
        ...Array.from({ length: 500 }, (_, i) =>
          Buffer.concat([
            headersFrame(2 * i + 1, GET_FIELDS),
            frame(3, 0, 2 * i + 1, Buffer.from([0, 0, 0, 8])),
          ]),
        ),
      ],
    ],
    [
      'PUSH_PROMISE from the client',
      [
        SETTINGS,
        frame(5, END_HEADERS, 1, Buffer.concat([Buffer.from([0, 0, 0, 2]), literal(':path', '/')])),
      ],
    ],
    [
      'SETTINGS of a huge table',
      [frame(4, 0, 0, Buffer.from([0, 1, 0xff, 0xff, 0xff, 0xff, 0, 4, 0xff, 0xff, 0xff, 0xff]))],
    ],
    ['a 1 MB header', [SETTINGS, headersFrame(1, [...GET_FIELDS, ['x-big', LONG(1024 * 1024)]])]],
  ];
  for (let i = 0; i < 40; i++) {
    const type = random.int(11);
    out.push([
      `random frame of type ${type} #${i}`,
      [SETTINGS, frame(type, random.int(256), random.int(8), random.bytes(random.int(40)))],
    ]);
  }
  return out;
}

function http2(random: SeededRandom): MalformedCase[] {
  const add = make('HTTP/2 preface');
  const cases: MalformedCase[] = [];
  for (const [name, frames] of http2Garbage(random)) {
    cases.push(add(`preface, then ${name}`, [PREFACE, ...frames]));
    cases.push(add(`preface and ${name} in one write`, [Buffer.concat([PREFACE, ...frames])]));
  }
  for (const size of [1, 8, 64, 1024, 65_536]) {
    for (let i = 0; i < 4; i++)
      cases.push(add(`preface, then ${size} random bytes #${i}`, [PREFACE, random.bytes(size)]));
  }
  const broken = [
    'PRI * HTTP/2.0\r\n',
    'PRI * HTTP/2.0\r\n\r\n',
    'PRI * HTTP/2.0\r\n\r\nSM',
    'PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n',
    'PRI * HTTP/2.0\n\nSM\n\n',
    'PRI / HTTP/2.0\r\n\r\nSM\r\n\r\n',
    'PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n',
    'PRI * HTTP/2.1\r\n\r\nSM\r\n\r\n',
    'PRI',
    'P',
  ];
  for (const text of broken) {
    cases.push(add(`broken preface ${label(text)}`, [bytes(text)]));
    cases.push(add(`broken preface ${label(text)} and garbage`, [bytes(text), random.bytes(64)]));
  }
  return cases;
}

// --- the rest ----------------------------------------------------------------------------------

function randomBinary(random: SeededRandom): MalformedCase[] {
  const add = make('random binary');
  const cases: MalformedCase[] = [];
  // The first byte decides how the proxy sniffs the connection (TLS, HTTP/2, SOCKS, HTTP).
  const firsts = [0x00, 0x04, 0x05, 0x16, 0x17, 0x80, 0xff, 0x47, 0x50, 0x43, 0x0d, 0x0a, 0x20];
  for (const first of firsts) {
    for (const size of [1, 2, 7, 64, 1000, 65_536]) {
      for (let i = 0; i < 3; i++) {
        const data = random.bytes(size);
        data[0] = first;
        cases.push(add(`0x${first.toString(16)} then ${size - 1} random bytes #${i}`, [data]));
      }
    }
  }
  for (let i = 0; i < 60; i++) {
    const writes = Array.from({ length: 1 + random.int(5) }, () =>
      random.bytes(1 + random.int(500)),
    );
    cases.push(add(`${writes.length} random writes #${i}`, writes));
  }
  for (const size of [1024 * 1024, 4 * 1024 * 1024]) {
    cases.push(add(`${size >> 20} MB of random bytes`, [random.bytes(size)]));
    cases.push(add(`${size >> 20} MB of NULs`, [Buffer.alloc(size)]));
  }
  // A normal request after garbage on the same connection.
  for (let i = 0; i < 20; i++) {
    cases.push(
      add(`random bytes then a request #${i}`, [
        random.bytes(1 + random.int(30)),
        request(`GET http://${HOST}/ HTTP/1.1`),
      ]),
    );
  }
  return cases;
}

function emptyConnections(): MalformedCase[] {
  const add = make('empty connections');
  const cases: MalformedCase[] = [];
  for (let i = 0; i < 20; i++) {
    cases.push(add(`connect and close #${i}`, [], { deadlineMs: 0 }));
    cases.push(add(`connect and wait #${i}`, []));
    cases.push(add(`an empty write #${i}`, [Buffer.alloc(0)]));
  }
  // One byte, then the client closes: every first byte the proxy might sniff.
  for (let byte = 0; byte < 256; byte++) {
    cases.push(
      add(`the single byte 0x${byte.toString(16).padStart(2, '0')}`, [Buffer.from([byte])], {
        deadlineMs: 100,
      }),
    );
  }
  return cases;
}

/** zstd frames have magic bytes and RLE blocks: 4 bytes stand for 128 KB of zeros. */
function zstdOfZeros(blocks: number, claimedSize?: bigint): Buffer {
  const header =
    claimedSize === undefined
      ? Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])
      : Buffer.concat([
          Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0]),
          (() => {
            const size = Buffer.alloc(8);
            size.writeBigUInt64LE(claimedSize);
            return size;
          })(),
        ]);
  const block = (last: boolean) => {
    const value = (1 << 1) | ((128 * 1024) << 3) | (last ? 1 : 0);
    return Buffer.from([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, 0]);
  };
  return Buffer.concat([
    header,
    ...Array.from({ length: blocks }, (_, i) => block(i === blocks - 1)),
  ]);
}

/**
 * Bodies that inflate far past the decoding budget: zeros, compressed once at test time (gzip
 * of 65 MiB takes about 0.3 s). Concatenated gzip members stand for 1 GiB without building it.
 */
function bombs(): MalformedCase[] {
  const add = make('compressed-body bombs');
  const zeros = Buffer.alloc(MAX_DECODED + 1024 * 1024);
  const gzip = gzipSync(zeros);
  const bodies: [string, string, Buffer, boolean][] = [
    ['gzip', 'gzip', gzip, true],
    ['x-gzip', 'x-gzip', gzip, true],
    ['GZIP uppercase', 'GZIP', gzip, true],
    [
      'gzip of 1 GiB in members',
      'gzip',
      Buffer.concat(Array.from({ length: 16 }, () => gzip)),
      true,
    ],
    ['gzip inside gzip', 'gzip, gzip', gzipSync(gzip), true],
    ['gzip declared twice, sent once', 'gzip, gzip', gzip, true],
    // Cut short, it decodes to ~33 MiB, within the budget: all that was sent is scanned.
    ['gzip cut in half', 'gzip', gzip.subarray(0, gzip.length >> 1), false],
    ['gzip as identity, gzip', 'identity, gzip', gzip, true],
    [
      'br',
      'br',
      brotliCompressSync(Buffer.alloc(256 * 1024 * 1024), {
        params: { [constants.BROTLI_PARAM_QUALITY]: 1 },
      }),
      true,
    ],
    ['deflate', 'deflate', deflateSync(zeros), true],
    ['raw deflate', 'deflate', deflateRawSync(zeros), true],
    ['zstd of 1 GiB', 'zstd', zstdOfZeros(8192), true],
    ['zstd claiming 2^62 bytes', 'zstd', zstdOfZeros(8, 1n << 62n), false],
    [
      'gzip magic, then garbage',
      'gzip',
      Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(1000, 0xff)]),
      false,
    ],
    ['br of garbage', 'br', Buffer.alloc(1000, 0xff), false],
    // A raw snappy block's preamble declaring 4 GiB: refused before anything is allocated.
    [
      'snappy declaring 4 GiB in 1 KB',
      'snappy',
      Buffer.concat([Buffer.from('ffffffff0f', 'hex'), Buffer.alloc(1019)]),
      true,
    ],
    ['snappy of garbage', 'snappy', Buffer.alloc(1000, 0xff), false],
    ['lz4 frame of 80 MiB', 'lz4', lz4ZeroBomb(20), true],
    [
      'lz4 frame claiming 1 TiB',
      'lz4',
      Buffer.from('04224d18' + '6840' + '0000000000010000' + '00' + '00000000', 'hex'),
      true,
    ],
  ];
  const cases: MalformedCase[] = [];
  for (const [name, coding, body, unscanned] of bodies) {
    const slug = name.replace(/[^a-z0-9]+/gi, '-');
    for (const framing of ['length', 'chunked'] as const) {
      const url = `http://bomb.example.test/${slug}/${framing}?imei=${IMEI}`;
      const head = [`Host: bomb.example.test`, `Content-Encoding: ${coding}`];
      const send =
        framing === 'length'
          ? [request(`POST ${url} HTTP/1.1`, [...head, `Content-Length: ${body.length}`]), body]
          : [
              request(`POST ${url} HTTP/1.1`, [...head, 'Transfer-Encoding: chunked']),
              Buffer.concat([
                bytes(`${body.length.toString(16)}\r\n`),
                body,
                bytes('\r\n0\r\n\r\n'),
              ]),
            ];
      cases.push(
        add(`${name}, ${framing}`, send, { deadlineMs: 20_000, journaled: { url, unscanned } }),
      );
    }
  }
  // The same over HTTPS: the capture decodes what it decrypted just the same.
  const url = `https://bomb.example.test/gzip/tls?imei=${IMEI}`;
  cases.push(
    add('gzip over TLS', [request('CONNECT bomb.example.test:443 HTTP/1.1')], {
      tls: {
        servername: 'bomb.example.test',
        send: [
          request(`POST /gzip/tls?imei=${IMEI} HTTP/1.1`, [
            'Host: bomb.example.test',
            'Content-Encoding: gzip',
            `Content-Length: ${gzip.length}`,
          ]),
          gzip,
        ],
      },
      deadlineMs: 20_000,
      journaled: { url, unscanned: true },
    }),
  );
  return cases;
}

/**
 * Requests whose head arrived and whose body never did: the phone hangs up midway. mockttp never
 * completes such a request, yet its URL and headers were sent, so they must be journaled — with
 * the body marked unscanned, since what arrived of it is not kept.
 */
function cutOff(): MalformedCase[] {
  const add = make('bodies cut off');
  const cases: MalformedCase[] = [];
  for (const [declared, sent] of [
    [10, 0],
    [10, 5],
    [1000, 999],
    [1 << 20, 1000],
    [1 << 30, 65_536],
  ] as const) {
    for (const framing of ['length', 'chunked'] as const) {
      const url = `http://cut.example.test/${framing}/${declared}-${sent}?imei=${IMEI}`;
      const head =
        framing === 'length'
          ? request(`POST ${url} HTTP/1.1`, [
              'Host: cut.example.test',
              `Content-Length: ${declared}`,
            ])
          : request(`POST ${url} HTTP/1.1`, [
              'Host: cut.example.test',
              'Transfer-Encoding: chunked',
            ]);
      const body =
        framing === 'length'
          ? Buffer.alloc(sent, 0x61)
          : Buffer.concat([bytes(`${declared.toString(16)}\r\n`), Buffer.alloc(sent, 0x61)]);
      cases.push(
        add(`${declared} bytes declared, ${sent} sent, ${framing}`, [head, body], {
          deadlineMs: 300,
          journaled: { url, unscanned: true },
        }),
      );
    }
  }
  return cases;
}

/**
 * WebSocket frames a hostile client sends after a good handshake: the proxy accepts the socket
 * (to record its messages), so every frame the ws parser refuses must close that socket alone.
 */
function webSocketFrames(random: ReturnType<typeof seededRandom>): MalformedCase[] {
  const add = make('WebSocket frames');
  const handshake = (path: string) =>
    request(`GET http://${HOST}${path} HTTP/1.1`, [
      `Host: ${HOST}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
    ]);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = (payload: Buffer) => Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  const frame = (
    first: number,
    payload: Buffer,
    options: { masked?: boolean; length?: Buffer } = {},
  ) =>
    Buffer.concat([
      Buffer.from([first]),
      options.length ?? Buffer.from([(options.masked === false ? 0 : 0x80) | payload.length]),
      options.masked === false ? Buffer.alloc(0) : mask,
      options.masked === false ? payload : masked(payload),
    ]);
  const bad: [string, Buffer][] = [
    ['RSV1-3 set', frame(0xf1, bytes('hi'))],
    ['RSV2 set', frame(0xa1, bytes('hi'))],
    ['an unmasked client frame', frame(0x81, bytes('hi'), { masked: false })],
    ['a reserved opcode 0x3', frame(0x83, bytes('hi'))],
    ['a reserved control opcode 0xb', frame(0x8b, bytes('hi'))],
    [
      'a ping over 125 bytes',
      frame(0x89, Buffer.alloc(126), { length: Buffer.from([0x80 | 126, 0, 126]) }),
    ],
    ['a fragmented ping', frame(0x09, bytes('hi'))],
    ['a continuation with nothing to continue', frame(0x80, bytes('hi'))],
    [
      'a 2^63-byte length',
      Buffer.concat([
        Buffer.from([0x82, 0x80 | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        mask,
      ]),
    ],
    ['a close code 999', frame(0x88, Buffer.from([0x03, 0xe7]))],
    ['a one-byte close payload', frame(0x88, Buffer.from([0x03]))],
  ];
  const cases = bad.map(([name, frames], i) =>
    add(name, [handshake(`/ws-${i}?imei=${IMEI}`), frames], {
      deadlineMs: 500,
      journaled: { url: `ws://${HOST}/ws-${i}?imei=${IMEI}`, unscanned: false },
    }),
  );
  for (let i = 0; i < 40; i++) {
    cases.push(
      add(
        `random frames #${i}`,
        [handshake(`/ws-random-${i}`), random.bytes(1 + random.int(300))],
        {
          deadlineMs: 500,
        },
      ),
    );
  }
  return cases;
}

export const FAMILIES: Family[] = [
  { name: 'request line', concurrency: 50, cases: () => requestLines(seededRandom(1)) },
  { name: 'headers', concurrency: 50, cases: headers },
  { name: 'chunked', concurrency: 50, cases: chunked },
  { name: 'Transfer-Encoding and Content-Length', concurrency: 50, cases: conflicts },
  { name: 'CONNECT', concurrency: 50, cases: () => connects(seededRandom(2)) },
  { name: 'ClientHello', concurrency: 50, cases: () => clientHellos(seededRandom(3)) },
  { name: 'HTTP/2 preface', concurrency: 50, cases: () => http2(seededRandom(4)) },
  { name: 'random binary', concurrency: 50, cases: () => randomBinary(seededRandom(5)) },
  { name: 'empty connections', concurrency: 50, cases: emptyConnections },
  { name: 'WebSocket frames', concurrency: 20, cases: () => webSocketFrames(seededRandom(6)) },
  { name: 'bodies cut off', concurrency: 10, cases: cutOff },
  // Each bomb costs the proxy ~0.2 s of inflating; two at a time keep the loop responsive.
  { name: 'compressed-body bombs', concurrency: 2, cases: bombs },
];
