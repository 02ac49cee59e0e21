import { expect } from 'chai';
import { request } from 'node:https';
import type { LookupFunction } from 'node:net';
import { compress as lz4js } from 'lz4js';
import protobuf from 'protobufjs';
import { compress as snappyjs } from 'snappyjs';
import type { Finding } from '../../src/types.ts';
import { captureThenScan } from '../support/capture-then-scan.ts';
import { tempDir } from '../support/temp.ts';

// A phone's identifiers (the IMEI is the standard's documentation example; the rest made up).
const PHONE = { imei: '356938035643809', msisdn: '+33612345678', android_id: '9774d56d682e549c' };

// The wire formats as Loki (pkg/push/push.proto) and Prometheus (prompb/remote.proto, types.proto)
// define them, fields numbered as there; encoded by protobufjs.
const SCHEMA = protobuf.parse(`
  syntax = "proto3";
  message Timestamp { int64 seconds = 1; int32 nanos = 2; }
  message EntryAdapter { Timestamp timestamp = 1; string line = 2; }
  message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
  message PushRequest { repeated StreamAdapter streams = 1; }
  message Label { string name = 1; string value = 2; }
  message Sample { double value = 1; int64 timestamp = 2; }
  message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
  message WriteRequest { repeated TimeSeries timeseries = 1; }
`).root;

function encode(type: string, message: object): Buffer {
  const Type = SCHEMA.lookupType(type);
  return Buffer.from(Type.encode(Type.fromObject(message)).finish());
}

const now = Math.floor(Date.now() / 1000);

/**
 * A Loki push batch: one stream labelled with the IMEI, two lines. The IMEI is in a line too, so
 * snappy writes that copy as a back-reference to the label: it is in the line only once decoded.
 */
const PUSH = encode('PushRequest', {
  streams: [
    {
      labels: `{app="canary", imei="${PHONE.imei}"}`,
      entries: [
        {
          timestamp: { seconds: now, nanos: 0 },
          line: `level=info msg="device registered" phone=${PHONE.msisdn}`,
        },
        {
          timestamp: { seconds: now + 1, nanos: 0 },
          line: `level=info msg="heartbeat" imei=${PHONE.imei} android_id=${PHONE.android_id}`,
        },
      ],
    },
  ],
});

/** A Prometheus remote-write request: one series labelled with the phone's identifiers. */
const WRITE = encode('WriteRequest', {
  timeseries: [
    {
      labels: [
        { name: '__name__', value: 'app_boot_total' },
        { name: 'imei', value: PHONE.imei },
        { name: 'phone', value: PHONE.msisdn },
        { name: 'android_id', value: PHONE.android_id },
      ],
      samples: [{ value: 1, timestamp: now * 1000 }],
    },
  ],
});

/** Every name resolves to the capture on loopback, as a redirected phone's traffic arrives. */
const toLoopback = ((_host, options, callback) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as LookupFunction;

/** POSTs `body` over HTTPS through the capture (trusted by its CA), as the client library would. */
function post(
  port: number,
  caPem: string,
  url: string,
  body: Uint8Array,
  headers: Record<string, string>,
): Promise<number> {
  const { hostname, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const sent = request(
      {
        host: hostname,
        port,
        path: pathname,
        method: 'POST',
        ca: caPem,
        lookup: toLoopback,
        headers: { ...headers, 'content-length': String(body.length) },
      },
      (response) => response.resume().on('end', () => resolve(response.statusCode ?? 0)),
    );
    sent.on('error', reject);
    sent.end(body);
  });
}

describe('snappy and lz4 batches through a real capture, found by phonehome scan', function () {
  this.timeout(120_000);
  const dirs = tempDir();
  after(() => dirs.remove());
  const lokiBody = Buffer.from(snappyjs(PUSH));
  let findings: Finding[] = [];
  const at = (host: string) =>
    findings
      .filter((finding) => finding.host === host)
      .map((finding) => [finding.kind, finding.where]);

  before(async () => {
    findings = await captureThenScan(
      dirs.path,
      {
        hosts: Object.fromEntries(
          ['logs.vendor.test', 'metrics.vendor.test', 'batch.vendor.test'].map((host) => [
            host,
            { status: 204 },
          ]),
        ),
        otherwise: 'not-found',
      },
      async (capture, ca) => {
        const protobufType = { 'content-type': 'application/x-protobuf' };
        // Loki push: raw snappy, declared by nothing but the convention of its endpoint.
        const statuses = [
          await post(
            capture.port,
            ca.certPem,
            'https://logs.vendor.test/loki/api/v1/push',
            lokiBody,
            protobufType,
          ),
          // Prometheus remote-write: raw snappy, declared.
          await post(
            capture.port,
            ca.certPem,
            'https://metrics.vendor.test/api/v1/write',
            snappyjs(WRITE),
            {
              ...protobufType,
              'content-encoding': 'snappy',
              'x-prometheus-remote-write-version': '0.1.0',
            },
          ),
          // A batch in an LZ4 frame (lz4js), sent as opaque bytes: found by the frame's magic.
          await post(capture.port, ca.certPem, 'https://batch.vendor.test/v1/batch', lz4js(WRITE), {
            'content-type': 'application/octet-stream',
          }),
        ];
        expect(statuses).to.deep.equal([204, 204, 204]);
      },
      PHONE,
    );
  });

  it('the Loki body carries the IMEI once as bytes: the line holds a back-reference', () => {
    expect(lokiBody.toString('latin1').split(PHONE.imei)).to.have.length(2);
    expect(PUSH.toString('latin1').split(PHONE.imei)).to.have.length(3);
  });

  it('Loki push (undeclared raw snappy): every identifier, the back-referenced IMEI too', () => {
    // PushRequest: streams 1 → labels 1, entries 2 → line 2.
    const labels = 'request-body>snappy>protobuf:1.1';
    const line = 'request-body>snappy>protobuf:1.2.2';
    expect(at('logs.vendor.test')).to.have.deep.members([
      ['imei', labels],
      ['imei', line],
      ['msisdn', line],
      ['android_id', line],
    ]);
    expect(at('logs.vendor.test')).to.have.length(4);
  });

  it('Prometheus remote-write (Content-Encoding: snappy, undone by the capture): every label value', () => {
    // WriteRequest: timeseries 1 → labels 1 → value 2.
    const value = 'request-body>protobuf:1.1.2';
    expect(at('metrics.vendor.test')).to.have.deep.members([
      ['imei', value],
      ['msisdn', value],
      ['android_id', value],
    ]);
    expect(at('metrics.vendor.test')).to.have.length(3);
  });

  it('an LZ4 frame of the same batch, undeclared: every label value', () => {
    const value = 'request-body>lz4>protobuf:1.1.2';
    expect(at('batch.vendor.test')).to.have.deep.members([
      ['imei', value],
      ['msisdn', value],
      ['android_id', value],
    ]);
    expect(at('batch.vendor.test')).to.have.length(3);
  });
});
