/**
 * `npm run bench:routes [-- --requests N --rate R]`: the latency each route adds to a small HTTPS
 * request, against the same request straight to its server, in one run (default 500 requests at
 * 50/s per route). Needs root: it makes the test network of test/support/netns.ts (a gateway
 * namespace where the capture and the server run, a phone namespace where the client runs).
 *
 *   sudo npm run bench:routes
 *
 * Each request is a new TLS connection from the phone's namespace, as a phone's SDK with
 * `connection: close` makes it: GET https://bench.example:8443/ping, a 2-byte answer.
 * - direct: to the server (10.77.0.1:8443), no capture: the baseline.
 * - proxy: through the capture as the phone's HTTP proxy (CONNECT), passed on to the server.
 * - gateway: no proxy; nftables redirects the connection to the gateway's front, which hands it
 *   to the capture over SOCKS5, which passes it on to the server.
 * The capture records every exchange (journal and all), as in a run. Prints p50, p99 and the
 * added latency of each route over direct. Not a timed test: it never fails on a figure.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bodyStore } from '../src/capture/bodies.ts';
import { loadOrCreateCa } from '../src/capture/ca.ts';
import { Gateway } from '../src/capture/gateway/gateway.ts';
import { CaptureSession } from '../src/capture/session.ts';
import { JournalWriter } from '../src/journal/writer.ts';
import { createTestNetwork, namespaceTestsBlocked } from '../test/support/netns.ts';

const HOST = 'bench.example';
const PORT = 8443;

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '500' },
    rate: { type: 'string', default: '50' },
    inside: { type: 'string' },
  },
});

if (values.inside) {
  await insideGateway(JSON.parse(values.inside) as Plan);
} else {
  await main();
}

interface Plan {
  dir: string;
  phone: string;
  phoneInterface: string;
  gatewayAddress: string;
  phoneAddress: string;
  requests: number;
  rate: number;
}

async function main(): Promise<void> {
  const blocked = namespaceTestsBlocked();
  if (blocked) {
    console.error(
      `bench:routes: ${blocked === 'skip' ? 'skipped (PHONEHOME_SKIP_NAMESPACE_TESTS)' : blocked}`,
    );
    process.exit(blocked === 'skip' ? 0 : 1);
  }
  const network = createTestNetwork();
  const dir = mkdtempSync(join(tmpdir(), 'phonehome-bench-routes-'));
  // The server's name, for the capture passing requests on: `ip netns exec` puts this file over
  // /etc/hosts for processes in the gateway's namespace alone.
  const etc = join('/etc/netns', network.gateway);
  try {
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'hosts'), `127.0.0.1 localhost\n${network.gatewayAddress} ${HOST}\n`);
    // The vendor's server: a self-signed certificate for bench.example, which the phone (direct)
    // and the capture (passing on) both trust.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${HOST}`,
        '-addext',
        `subjectAltName=DNS:${HOST}`,
        '-keyout',
        join(dir, 'server-key.pem'),
        '-out',
        join(dir, 'server.pem'),
      ],
      { stdio: 'ignore' },
    );
    const plan: Plan = {
      dir,
      phone: network.phone,
      phoneInterface: network.phoneInterface,
      gatewayAddress: network.gatewayAddress,
      phoneAddress: network.phoneAddress,
      requests: Number(values.requests),
      rate: Number(values.rate),
    };
    console.log(
      `bench:routes — ${plan.requests} HTTPS requests per route at ${plan.rate}/s, each a new TLS connection from the phone's namespace (${process.version}, ${process.arch})`,
    );
    await run(
      'ip',
      [
        'netns',
        'exec',
        network.gateway,
        process.execPath,
        '--import',
        'tsx',
        import.meta.filename,
        '--inside',
        JSON.stringify(plan),
      ],
      {
        NODE_EXTRA_CA_CERTS: join(dir, 'server.pem'),
      },
    );
  } finally {
    network.remove();
    rmSync(dir, { recursive: true, force: true });
    rmSync(etc, { recursive: true, force: true });
  }
}

/** In the gateway's namespace: the server, the capture, each route in turn. */
async function insideGateway(plan: Plan): Promise<void> {
  const server = createServer(
    {
      key: readFileSync(join(plan.dir, 'server-key.pem')),
      cert: readFileSync(join(plan.dir, 'server.pem')),
    },
    (_request, response) => response.end('ok'),
  );
  await new Promise<void>((resolve) => server.listen(PORT, plan.gatewayAddress, resolve));
  const ca = await loadOrCreateCa(join(plan.dir, 'ca'));
  writeFileSync(join(plan.dir, 'run-ca.pem'), ca.certPem);
  const results: Record<string, Latencies> = {};

  results.direct = await client(plan, { ca: join(plan.dir, 'server.pem') });

  const journal = JournalWriter.open(join(plan.dir, 'journal.ndjson'));
  const capture = await CaptureSession.start({
    ca,
    journal,
    bodies: bodyStore(plan.dir),
    host: plan.gatewayAddress,
    // The phone (the proxy route) and the gateway's front, which connects from this address.
    allowedClients: [plan.phoneAddress, plan.gatewayAddress],
    answers: { hosts: {}, otherwise: 'pass-through' },
  });
  try {
    results.proxy = await client(plan, {
      ca: join(plan.dir, 'run-ca.pem'),
      proxy: `${plan.gatewayAddress}:${capture.port}`,
    });
    const gateway = await Gateway.start({
      settings: { interface: plan.phoneInterface, phoneAddress: plan.phoneAddress },
      passThrough: true,
      proxyPort: capture.port,
      proxyHost: plan.gatewayAddress,
      journal,
      log: (line) => console.error(`  ${line}`),
    });
    try {
      results.gateway = await client(plan, { ca: join(plan.dir, 'run-ca.pem') });
    } finally {
      await gateway.stop();
    }
  } finally {
    await capture.stop();
    journal.close();
    server.close();
  }
  const base = results.direct!;
  console.log('route     ok    failed  p50 ms  p99 ms  added p50  added p99');
  for (const [route, latency] of Object.entries(results)) {
    const added =
      route === 'direct'
        ? ['(baseline)', '']
        : [`+${(latency.p50 - base.p50).toFixed(1)}`, `+${(latency.p99 - base.p99).toFixed(1)}`];
    console.log(
      `${route.padEnd(8)}  ${String(latency.ok).padStart(4)}  ${String(latency.failed).padStart(6)}  ${latency.p50.toFixed(1).padStart(6)}  ${latency.p99.toFixed(1).padStart(6)}  ${added[0]!.padStart(9)}  ${added[1]!.padStart(9)}`,
    );
  }
}

interface Latencies {
  ok: number;
  failed: number;
  p50: number;
  p99: number;
}

/** Runs the load from the phone's namespace and returns its latencies. */
async function client(plan: Plan, route: { ca: string; proxy?: string }): Promise<Latencies> {
  const script = `
const https = require('node:https');
const http = require('node:http');
const tls = require('node:tls');
const ca = require('node:fs').readFileSync(${JSON.stringify(route.ca)});
const proxy = ${JSON.stringify(route.proxy ?? '')};
const once = () => new Promise((resolve) => {
  const started = process.hrtime.bigint();
  const done = (ok, why) => resolve({ ok, ms: Number(process.hrtime.bigint() - started) / 1e6, ...(why ? { why: String(why) } : {}) });
  const get = (socket) => {
    // No agent: false with a socket of our own: Node ignores createConnection when it is set.
    const request = https.request({ host: '${HOST}', port: ${PORT}, path: '/ping', ca, servername: '${HOST}',
      headers: { connection: 'close' }, timeout: 10000,
      ...(socket ? { createConnection: () => socket } : { agent: false, lookup: (h, o, cb) => o.all ? cb(null, [{ address: '${plan.gatewayAddress}', family: 4 }]) : cb(null, '${plan.gatewayAddress}', 4) }) },
      (response) => { response.resume(); response.on('end', () => done(response.statusCode === 200, response.statusCode)); });
    request.on('error', (error) => done(false, error.message));
    request.on('timeout', () => request.destroy());
    request.end();
  };
  if (!proxy) return get();
  const [host, port] = proxy.split(':');
  const connect = http.request({ host, port, method: 'CONNECT', path: '${HOST}:${PORT}' });
  connect.on('connect', (response, raw) => response.statusCode === 200
    ? get(tls.connect({ socket: raw, servername: '${HOST}', ca }))
    : done(false, 'CONNECT ' + response.statusCode));
  connect.on('error', (error) => done(false, error.message));
  connect.end();
});
const total = ${plan.requests}, gap = 1000 / ${plan.rate};
const results = [];
let sent = 0;
const start = Date.now();
const tick = () => {
  while (sent < total && Date.now() - start >= sent * gap) { sent++; once().then((r) => results.push(r)); }
  if (sent < total) setTimeout(tick, 2); else wait();
};
const wait = () => results.length < total ? setTimeout(wait, 20) : console.log(JSON.stringify(results));
// A few requests first, not counted: TLS and the capture's certificate cache warm up.
Promise.all([once(), once(), once()]).then(tick);
`;
  const out = await run(
    'ip',
    ['netns', 'exec', plan.phone, process.execPath, '-e', script],
    {},
    true,
  );
  const results = JSON.parse(out) as { ok: boolean; ms: number; why?: string }[];
  const why = results.find((r) => !r.ok)?.why;
  if (why) console.log(`  first failure: ${why}`);
  const ok = results
    .filter((r) => r.ok)
    .map((r) => r.ms)
    .sort((a, b) => a - b);
  const at = (q: number) => ok[Math.min(ok.length - 1, Math.floor(q * ok.length))] ?? NaN;
  return { ok: ok.length, failed: results.length - ok.length, p50: at(0.5), p99: at(0.99) };
}

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  capture = false,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code}`)),
    );
  });
}
