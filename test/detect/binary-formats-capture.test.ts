import { encode as msgpack } from '@msgpack/msgpack';
import avro from 'avsc';
import { expect } from 'chai';
import { encode as cbor } from 'cbor2';
import { request } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Finding } from '../../src/types.ts';
import { captureThenScan } from '../support/capture-then-scan.ts';
import { tempDir } from '../support/temp.ts';

// A phone's identifiers (the IMEI is the standard's documentation example; the rest made up).
const PHONE = {
  imei: '356938035643809',
  msisdn: '+33612345678',
  email: 'ana.canary@example.com',
  android_id: '9774d56d682e549c',
  wifi_mac: 'a4:50:46:12:34:56',
  contact_number: '+33698765432',
};

/**
 * One telemetry batch as an SDK sends it. Some values sit where their framing reads as text: the
 * e-mail address in a 52-byte note (msgpack str8 length byte '4', CBOR length byte '4', a word
 * byte or digit before it), the IMEI followed by the number 52 (msgpack byte '4') or -21 (CBOR
 * byte '4'), the e-mail address after its own length header (msgpack 0xb6, CBOR 'v').
 */
const note = `${PHONE.email} from the welcome screen today`; // 52 bytes
const batch = (last: number) => ({
  app: 'canary',
  device: { imei: PHONE.imei, androidId: PHONE.android_id, mac: PHONE.wifi_mac },
  user: { email: PHONE.email, phone: PHONE.msisdn, note },
  ids: [PHONE.imei, last],
  events: [
    { type: 'contacts_sync', at: 1733612345678, contacts: [{ number: PHONE.contact_number }] },
  ],
});

// Avro: a record avsc writes, fields in the schema's order; the int 26 after the IMEI is byte '4'
// and the 33-byte contact note has length byte 'B' (a word byte) before the e-mail address.
const PING = avro.Type.forSchema({
  type: 'record',
  name: 'Ping',
  fields: [
    { name: 'imei', type: 'string' },
    { name: 'battery', type: 'int' },
    { name: 'androidId', type: 'string' },
    { name: 'lat', type: 'double' },
    { name: 'mac', type: 'string' },
    { name: 'email', type: ['null', 'string'] },
    { name: 'phone', type: 'string' },
    { name: 'contacts', type: { type: 'array', items: 'string' } },
    { name: 'contactNote', type: 'string' },
  ],
});
const ping = {
  imei: PHONE.imei,
  battery: 26,
  androidId: PHONE.android_id,
  lat: 48.1,
  mac: PHONE.wifi_mac,
  email: PHONE.email,
  phone: PHONE.msisdn,
  contacts: [PHONE.contact_number],
  contactNote: `${PHONE.email} (personal)`,
};

/** An Avro object container file avsc writes (codec deflate), as a batch upload. */
async function containerFile(records: unknown[]): Promise<Buffer> {
  const encoder = new avro.streams.BlockEncoder(PING, { codec: 'deflate' });
  const chunks: Buffer[] = [];
  encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise((resolve) => encoder.on('end', resolve));
  for (const record of records) encoder.write(record);
  encoder.end();
  await done;
  return Buffer.concat(chunks);
}

/** Every name resolves to the capture on loopback, as a redirected phone's traffic arrives. */
const toLoopback = ((_host, options, callback) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as LookupFunction;

/** POSTs `body` over HTTPS through the capture (trusted by its CA), as the SDK would. */
function post(port: number, caPem: string, url: string, body: Uint8Array, type: string) {
  const { hostname, pathname } = new URL(url);
  return new Promise<number>((resolve, reject) => {
    const sent = request(
      {
        host: hostname,
        port,
        path: pathname,
        method: 'POST',
        ca: caPem,
        lookup: toLoopback,
        headers: { 'content-type': type, 'content-length': String(body.length) },
      },
      (response) => response.resume().on('end', () => resolve(response.statusCode ?? 0)),
    );
    sent.on('error', reject);
    sent.end(body);
  });
}

const BODIES: [host: string, type: string, body: () => Promise<Uint8Array> | Uint8Array][] = [
  ['msgpack.vendor.test', 'application/msgpack', () => msgpack(batch(52))],
  ['msgpack-octets.vendor.test', 'application/octet-stream', () => msgpack(batch(52))],
  ['cbor.vendor.test', 'application/cbor', () => cbor(batch(-21))],
  ['avro.vendor.test', 'avro/binary', () => PING.toBuffer(ping)],
  ['avro-file.vendor.test', 'application/octet-stream', () => containerFile([ping])],
];

describe('msgpack, CBOR and Avro from real client libraries through a real capture, found by phonehome scan', function () {
  this.timeout(120_000);
  const dirs = tempDir();
  after(() => dirs.remove());
  let findings: Finding[] = [];
  const at = (host: string) =>
    findings
      .filter((finding) => finding.host === host)
      .map((finding) => [finding.kind, finding.where]);

  before(async () => {
    findings = await captureThenScan(
      dirs.path,
      {
        hosts: Object.fromEntries(BODIES.map(([host]) => [host, { status: 204 }])),
        otherwise: 'not-found',
      },
      async (capture, ca) => {
        const statuses: number[] = [];
        for (const [host, type, body] of BODIES)
          statuses.push(
            await post(capture.port, ca.certPem, `https://${host}/v1/batch`, await body(), type),
          );
        expect(statuses).to.deep.equal(BODIES.map(() => 204));
      },
      PHONE,
    );
  });

  it('the framing really reads as text next to the planted values', () => {
    const packed = Buffer.from(msgpack(batch(52)));
    expect(packed.toString('latin1')).to.include(`\xd9\x34${PHONE.email}`);
    expect(packed.toString('latin1')).to.include(`${PHONE.imei}\x34`);
    const cborBytes = Buffer.from(cbor(batch(-21)));
    expect(cborBytes.toString('latin1')).to.include(`v${PHONE.email}`);
    expect(cborBytes.toString('latin1')).to.include(`x4${PHONE.email}`);
    expect(cborBytes.toString('latin1')).to.include(`${PHONE.imei}\x34`);
    const record = PING.toBuffer(ping).toString('latin1');
    expect(record).to.include(`${PHONE.imei}4`);
    expect(record).to.include(`B${PHONE.email}`);
  });

  const MSGPACK_WHERE = (format: string): string[][] => [
    ['imei', `request-body>${format}:$.device.imei`],
    ['android_id', `request-body>${format}:$.device.androidId`],
    ['wifi_mac', `request-body>${format}:$.device.mac`],
    ['email', `request-body>${format}:$.user.email`],
    ['msisdn', `request-body>${format}:$.user.phone`],
    ['email', `request-body>${format}:$.user.note`],
    ['imei', `request-body>${format}:$.ids[0]`],
    ['contact_number', `request-body>${format}:$.events[0].contacts[0].number`],
  ];
  it('msgpack (@msgpack/msgpack), declared: every identifier at its path', () => {
    expect(at('msgpack.vendor.test')).to.have.deep.members(MSGPACK_WHERE('msgpack'));
    expect(at('msgpack.vendor.test')).to.have.length(8);
  });

  it('the same msgpack sent as application/octet-stream: recognised by its bytes', () => {
    expect(at('msgpack-octets.vendor.test')).to.have.deep.members(MSGPACK_WHERE('msgpack'));
    expect(at('msgpack-octets.vendor.test')).to.have.length(8);
  });

  it('CBOR (cbor2), declared: every identifier at its path', () => {
    expect(at('cbor.vendor.test')).to.have.deep.members(MSGPACK_WHERE('cbor'));
    expect(at('cbor.vendor.test')).to.have.length(8);
  });

  it('an Avro record (avsc), declared: every identifier by its position', () => {
    expect(at('avro.vendor.test')).to.have.deep.members([
      ['imei', 'request-body>avro:[0]'],
      ['android_id', 'request-body>avro:[1]'],
      ['wifi_mac', 'request-body>avro:[2]'],
      ['email', 'request-body>avro:[3]'],
      ['msisdn', 'request-body>avro:[4]'],
      ['contact_number', 'request-body>avro:[5]'],
      ['email', 'request-body>avro:[6]'],
    ]);
    expect(at('avro.vendor.test')).to.have.length(7);
  });

  it('an Avro container file (avsc, deflate), undeclared: every identifier in its block', () => {
    const block = 'request-body>avro-block[0]>deflate>avro';
    expect(at('avro-file.vendor.test')).to.have.deep.members([
      ['imei', `${block}:[0]`],
      ['android_id', `${block}:[1]`],
      ['wifi_mac', `${block}:[2]`],
      ['email', `${block}:[3]`],
      ['msisdn', `${block}:[4]`],
      ['contact_number', `${block}:[5]`],
      ['email', `${block}:[6]`],
    ]);
    expect(at('avro-file.vendor.test')).to.have.length(7);
  });
});
