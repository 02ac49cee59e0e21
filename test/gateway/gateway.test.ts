import { expect } from 'chai';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../../src/report/json-report.ts';
import type { RunResult } from '../../src/types.ts';
import { analyseJournal } from '../../src/verdict/analyse.ts';
import { runCli } from '../support/cli.ts';
import {
  createTestNetwork,
  namespaceTestsBlocked,
  nodeIn,
  rulesetIn,
  runCliIn,
  spawnCliIn,
  tablesIn,
  type TestNetwork,
} from '../support/netns.ts';
import { skipForSystem } from '../support/system-tools.ts';
import { tempDir } from '../support/temp.ts';

const SCENARIO = 'test/fixtures/scenarios/daemon-opt-in.scenario.ts';
const IMEI = '356938035643809';

// The gateway route, for real: phonehome runs in a namespace that is the phone's only network,
// installs its nftables rules there, and the virtual phone (in its own namespace, no proxy set)
// runs the system-daemon profile, whose daemon leaks over direct HTTPS, raw TCP, UDP and a DNS
// lookup. The same profile on the proxy route shows what that route cannot see.
describe('the gateway route: every connection, lookup and datagram the phone sends', function () {
  this.timeout(180_000);
  const blocked = namespaceTestsBlocked();
  const dirs = tempDir();
  let network: TestNetwork;
  let devicesFile: string;
  let env: Record<string, string>;

  before(function () {
    if (blocked) skipForSystem(this, blocked);
    network = createTestNetwork();
    devicesFile = join(dirs.path, 'devices.json');
    const phone = {
      kind: 'virtual',
      identifiers: { imei: [IMEI], imsi: ['460009876543210'] },
      settle: { quietMs: 300, maxMs: 4000 },
    };
    const capabilities = {
      platformName: 'Android',
      'appium:automationName': 'PhonehomeVirtual',
      'appium:firmware': 'system-daemon',
      'appium:requestTimeout': 4000,
    };
    writeFileSync(
      devicesFile,
      JSON.stringify({
        devices: [
          {
            ...phone,
            id: 'daemon-gateway',
            capabilities: {
              ...capabilities,
              'appium:networkNamespace': network.phone,
              'appium:dnsServer': network.gatewayAddress,
            },
            gateway: {
              interface: network.phoneInterface,
              phoneAddress: network.phoneAddress,
              addressPool: network.addressPool,
            },
          },
          // The same entry, but the phone is on another network than the gateway's interface:
          // nothing it sends reaches the capture, and only its route probe can tell.
          {
            ...phone,
            id: 'daemon-elsewhere',
            capabilities: {
              ...capabilities,
              'appium:networkNamespace': network.intruder,
              'appium:dnsServer': network.intruderGatewayAddress,
            },
            gateway: {
              interface: network.phoneInterface,
              phoneAddress: network.phoneAddress,
              addressPool: network.addressPool,
            },
          },
          { ...phone, id: 'daemon-proxy', capabilities },
        ],
      }),
    );
    env = {
      PHONEHOME_REPORTS_DIR: join(dirs.path, 'reports'),
      PHONEHOME_CA_DIR: join(dirs.path, 'ca'),
      PHONEHOME_DEVICES_FILE: devicesFile,
    };
  });
  after(() => {
    network?.remove();
    dirs.remove();
  });

  /** The newest run's run.json, and its result as rebuilt from its journal. */
  const lastRun = async (): Promise<{ record: RunRecord; result: RunResult }> => {
    const reports = join(dirs.path, 'reports');
    const newest = readdirSync(reports)
      .filter((name) => /^\d{8}-/.test(name))
      .sort()
      .at(-1)!;
    const folder = join(reports, newest);
    const record = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as RunRecord;
    const { result } = await analyseJournal(join(folder, 'journal.ndjson'));
    return { record, result };
  };

  it('finds the direct and the raw TCP leaks, records the UDP unreadable and the lookup as a contact, and leaves no rule behind', async () => {
    const run = await runCliIn(
      network.gateway,
      ['run', SCENARIO, '--device', 'daemon-gateway'],
      env,
    );
    expect(run.code, run.stdout + run.stderr).to.equal(1);
    const { record, result } = await lastRun();
    expect(record.status).to.equal('fail');
    expect(record.coverage.route).to.equal('gateway');

    // Direct HTTPS, around any proxy: read and scanned like any other request.
    const leaks = result.findings.filter((f) => f.beforeConsent);
    expect(leaks.map((f) => [f.host, f.kind])).to.deep.include([
      'telemetry.daemon.example',
      'imei',
    ]);
    // The push channel's own protocol, named from the DNS answer: offline nobody can answer it,
    // so its bytes are recorded as the phone sent them, and scanned.
    expect(
      leaks.filter((f) => f.where === 'tcp-sent').map((f) => [f.host, f.kind]),
    ).to.have.deep.members([
      ['push.daemon.example', 'imei'],
      ['push.daemon.example', 'imsi'],
    ]);
    // The datagram cannot be read: recorded by destination and size.
    expect(result.unreadable.map((u) => [u.host, u.port, u.cause])).to.deep.equal([
      ['stats.daemon.example', 9999, 'udp'],
    ]);
    const udp = result.unreadable.find((u) => u.cause === 'udp')!;
    // One datagram: "imei=<15 digits>" (20 bytes) in 28 bytes of IPv4 and UDP headers.
    expect([udp.packets, udp.bytes]).to.deep.equal([1, 48]);
    // The beacon was only looked up: a forbidden host all the same, and its name is scanned.
    const forbidden = result.verdicts.find((v) => v.rule === 'forbidden-hosts')!;
    expect(forbidden.status).to.equal('fail');
    expect(forbidden.message).to.include(`${IMEI}.beacon.daemon.example looked up (DNS)`);
    expect(leaks.filter((f) => f.where === 'dns-name').map((f) => [f.host, f.kind])).to.deep.equal([
      [`${IMEI}.beacon.daemon.example`, 'imei'],
    ]);
    expect(record.coverage.statement).to.match(
      /^route gateway: every TCP connection .*; 1 UDP flow unreadable; \d+ DNS lookups$/,
    );
    // The opt-in after consent went through the proxy setting the phone does not have: direct.
    expect(result.findings.filter((f) => !f.beforeConsent).map((f) => f.host)).to.include(
      'diagnostics.daemon.example',
    );
    expect(tablesIn(network.gateway)).to.deep.equal([]);
    // The route probes: looked up with the gateway's DNS and fetched through it, never a contact.
    expect(result.probes!.map((p) => [p.moment, p.arrivedAt !== undefined])).to.deep.equal([
      ['routing', true],
      ['last-step', true],
    ]);
    expect(result.contacts.map((c) => c.host)).to.not.include('probe.phonehome.invalid');
  });

  it('is inconclusive, never a pass, when the phone is not on the gateway: its probe never arrives', async () => {
    const run = await runCliIn(
      network.gateway,
      ['run', SCENARIO, '--device', 'daemon-elsewhere'],
      env,
    );
    expect(run.code, run.stdout + run.stderr).to.equal(1);
    const { record, result } = await lastRun();
    expect(result.exchanges).to.equal(0);
    expect(record.status).to.equal('inconclusive');
    const consent = record.verdicts.find((v) => v.rule === 'consent')!;
    expect(consent.summary).to.equal(
      'inconclusive: route not proven: the probe after routing could not be sent',
    );
    expect(consent.message).to.include("routes through the gateway's interface");
    expect(record.route!.statement[0]).to.match(/^route probe after routing: NOT SENT/);
  });

  it('on the proxy route the same phone passes, qualified, and none of the daemon is seen', async () => {
    const run = await runCli(['run', SCENARIO, '--device', 'daemon-proxy'], env);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const { record, result } = await lastRun();
    expect(record.statusWord).to.equal('PASS (proxy-aware traffic only)');
    const hosts = [...result.contacts.map((c) => c.host), ...result.unreadable.map((u) => u.host)];
    for (const host of ['telemetry', 'push', 'stats', `${IMEI}.beacon`])
      expect(hosts).to.not.include(`${host}.daemon.example`);
    expect(record.coverage.statement).to.include(
      'not seen: apps and system services that ignore the system proxy',
    );
    expect(record.coverage.statement).to.include(
      'TCP protocols other than HTTP, UDP and QUIC, and DNS lookups',
    );
  });

  it('doctor checks what the route needs, in the namespace that has the interface and outside it', async () => {
    const inside = await runCliIn(network.gateway, ['doctor', '--device', 'daemon-gateway'], env);
    expect(inside.code, inside.stdout + inside.stderr).to.equal(0);
    expect(inside.stdout).to.include('✓ gateway: nftables: nft runs and may change the ruleset');
    expect(inside.stdout).to.include(
      `✓ gateway: interface: ${network.phoneInterface} is up at ${network.gatewayAddress}; the phone is ${network.phoneAddress}`,
    );
    const outside = await runCli(['doctor', '--device', 'daemon-gateway'], env);
    expect(outside.code).to.equal(1);
    expect(outside.stdout).to.match(
      new RegExp(
        `✗ gateway: interface: gateway\\.interface '${network.phoneInterface}' is not a network interface here`,
      ),
    );
    expect(outside.stdout).to.include('fix: start the access point (docs/gateway.md)');
  });

  it('answers only the phone, and after a SIGKILL `phonehome restore` removes every rule', async () => {
    const capture = spawnCliIn(
      network.gateway,
      [
        'capture',
        '--gateway',
        network.phoneInterface,
        '--client',
        network.phoneAddress,
        '--address-pool',
        network.addressPool,
        '--offline',
      ],
      env,
    );
    const closed = new Promise((resolve) => capture.once('close', resolve));
    let output = '';
    capture.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    capture.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor(
        () => /Capturing everything/.test(output),
        () => output,
      );
      const rules = rulesetIn(network.gateway);
      const frontPort = Number(/tcp redirect to :(\d+)/.exec(rules)?.[1]);
      const dnsPort = Number(/udp dport 53 redirect to :(\d+)/.exec(rules)?.[1]);
      expect(frontPort).to.be.greaterThan(0);

      // The phone: its lookup is answered from the pool, and its connection reaches the capture.
      const fromPhone = nodeIn(
        network.phone,
        probe(network.gatewayAddress, 53, ['10.78.200.1', 80]),
      );
      expect(JSON.parse(fromPhone)).to.deep.equal({ dns: '10.78.0.1', tcp: 'answered' });

      // Another host, on another interface, at the gateway's ports and the phone's names.
      for (const address of [network.gatewayAddress, network.intruderGatewayAddress]) {
        const fromOther = JSON.parse(
          nodeIn(network.intruder, probe(address, dnsPort, [address, frontPort])),
        ) as { dns: string; tcp: string };
        expect(fromOther, address).to.deep.equal({ dns: 'no answer', tcp: 'no answer' });
      }
      const atPool = JSON.parse(
        nodeIn(network.intruder, probe(network.gatewayAddress, 53, ['10.78.0.1', 80])),
      ) as { dns: string; tcp: string };
      expect(atPool.tcp).to.not.equal('answered');
      expect(atPool.dns).to.not.match(/^10\.78\./);
    } finally {
      capture.kill('SIGKILL');
      await closed;
    }
    expect(tablesIn(network.gateway)).to.have.length(1);
    const restore = await runCliIn(network.gateway, ['restore', '--device', 'daemon-gateway'], env);
    expect(restore.code, restore.stdout + restore.stderr).to.equal(0);
    expect(restore.stdout).to.match(
      /removed the gateway rules a stopped run left \(nft table inet phonehome_\d+\)/,
    );
    expect(tablesIn(network.gateway)).to.deep.equal([]);
  });
});

/**
 * A script that asks `dnsServer:dnsPort` for "probe.example" and opens a TCP connection to
 * `tcp`, sending one HTTP request; prints what happened, each within a second.
 */
function probe(dnsServer: string, dnsPort: number, tcp: [string, number]): string {
  return `
const { Resolver } = require('node:dns').promises;
const net = require('node:net');
const resolver = new Resolver({ timeout: 1000, tries: 1 });
resolver.setServers(['${dnsServer}:${dnsPort}']);
const dns = resolver.resolve4('probe.example').then((a) => a[0], () => 'no answer');
const tcp = new Promise((resolve) => {
  const socket = net.connect(${tcp[1]}, '${tcp[0]}');
  socket.setTimeout(1000, () => { socket.destroy(); resolve('no answer'); });
  socket.on('connect', () => socket.write('GET / HTTP/1.1\\r\\nhost: probe.example\\r\\nconnection: close\\r\\n\\r\\n'));
  socket.on('data', () => { socket.destroy(); resolve('answered'); });
  socket.on('error', (error) => resolve(error.code));
});
Promise.all([dns, tcp]).then(([dns, tcp]) => console.log(JSON.stringify({ dns, tcp })));
`;
}

async function waitFor(ready: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`capture did not start:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
