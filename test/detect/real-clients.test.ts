import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { expect } from 'chai';
import type { LookupFunction } from 'node:net';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.ts';
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
};
const PROTO = join(PROJECT_ROOT, 'test', 'fixtures', 'detect', 'device-registry.proto');

/** Every name resolves to the capture on loopback, as a redirected phone's traffic arrives. */
const toLoopback = ((_host, options, callback) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as LookupFunction;

/**
 * OpenTelemetry's own OTLP/HTTP protobuf exporter sends one log record whose attributes are the
 * phone's identifiers, over HTTPS to logs.vendor.test (the capture, trusted by its CA).
 */
async function exportOtlpLogs(port: number, caPem: string): Promise<void> {
  const exporter = new OTLPLogExporter({
    url: `https://logs.vendor.test:${port}/v1/logs`,
    httpAgentOptions: { ca: caPem, lookup: toLoopback },
  });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'canary-app' }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  provider.getLogger('device').emit({
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    body: 'device registered',
    attributes: {
      'device.imei': PHONE.imei,
      'device.phone': PHONE.msisdn,
      'user.email': PHONE.email,
      'device.android_id': PHONE.android_id,
      // iOS and many SDKs write MACs in upper case.
      'device.mac': PHONE.wifi_mac.toUpperCase(),
    },
  });
  await provider.forceFlush();
  await provider.shutdown();
}

type Register = (
  request: unknown,
  callback: (error: grpc.ServiceError | null, reply?: unknown) => void,
) => void;

/**
 * A grpc-js client calls Registry.Register on api.vendor.test over TLS (HTTP/2), once plain and
 * once with its messages gzip-compressed. The capture answers 404, so each call fails: only what
 * the client sent matters here.
 */
async function callGrpc(port: number, caPem: string, compressed: boolean): Promise<void> {
  const definition = protoLoader.loadSync(PROTO, { keepCase: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    phonehome: { test: { Registry: grpc.ServiceClientConstructor } };
  };
  const client = new loaded.phonehome.test.Registry(
    `127.0.0.1:${port}`,
    grpc.credentials.createSsl(Buffer.from(caPem)),
    {
      'grpc.ssl_target_name_override': 'api.vendor.test',
      'grpc.default_authority': 'api.vendor.test',
      ...(compressed ? { 'grpc.default_compression_algorithm': 2 } : {}),
    },
  );
  const register = (client['Register'] as Register).bind(client);
  const error = await new Promise<grpc.ServiceError | null>((resolve) =>
    register(
      {
        device: {
          imei: PHONE.imei,
          phone: PHONE.msisdn,
          email: PHONE.email,
          mac: PHONE.wifi_mac.toUpperCase(),
          android_id: PHONE.android_id,
          sdk: 34,
        },
        app: 'com.example.canary',
      },
      (failed) => resolve(failed),
    ),
  );
  client.close();
  // The call reached the capture and got its 404 (UNIMPLEMENTED), not a TLS or connection error.
  expect(error?.code, error?.message).to.equal(grpc.status.UNIMPLEMENTED);
}

describe('real client libraries through a real capture, found by phonehome scan', function () {
  this.timeout(120_000);
  const dirs = tempDir();
  after(() => dirs.remove());
  let findings: Finding[] = [];
  const at = (host: string) =>
    findings
      .filter((finding) => finding.host === host)
      .map((finding) => [finding.kind, finding.form, finding.where]);

  before(async () => {
    findings = await captureThenScan(
      dirs.path,
      {
        hosts: {
          'logs.vendor.test': {
            status: 200,
            headers: { 'content-type': 'application/x-protobuf' },
          },
        },
        otherwise: 'not-found',
      },
      async (capture, ca) => {
        await exportOtlpLogs(capture.port, ca.certPem);
        await callGrpc(capture.port, ca.certPem, false);
        await callGrpc(capture.port, ca.certPem, true);
      },
      PHONE,
    );
  });

  it('OpenTelemetry OTLP/HTTP protobuf logs: all five attributes, each at its field path', () => {
    // ExportLogsServiceRequest: resource_logs 1 → scope_logs 2 → log_records 2 → attributes 6
    // → value 2 → string_value 1. Every value is followed by the next attribute's tag, '2'.
    const where = 'request-body>protobuf:1.2.2.6.2.1';
    expect(at('logs.vendor.test')).to.deep.equal([
      ['imei', 'plain', where],
      ['msisdn', 'plain', where],
      ['email', 'plain', where],
      ['android_id', 'plain', where],
      ['wifi_mac', 'upper-case', where],
    ]);
  });

  it('grpc-js calls, plain and gzip-compressed: every field found, named by field number', () => {
    const plain = 'request-body>grpc[0]>protobuf:1';
    const gzip = 'request-body>grpc[0]>gzip>protobuf:1';
    const fields: [kind: string, form: string, field: number][] = [
      ['imei', 'plain', 1],
      ['msisdn', 'plain', 6],
      ['email', 'plain', 7],
      ['wifi_mac', 'upper-case', 8],
      ['android_id', 'plain', 9],
    ];
    const expected = [plain, gzip].flatMap((message) =>
      fields.map(([kind, form, field]) => [kind, form, `${message}.${field}`]),
    );
    expect(at('api.vendor.test')).to.have.deep.members(expected);
    expect(at('api.vendor.test')).to.have.length(expected.length);
  });
});
