import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/appium/server.ts';
import { PROJECT_ROOT } from '../../src/paths.ts';
import type { RunRecord } from '../../src/report/json-report.ts';
import { imei, runSimOnly, useFarm } from './farm-devices.ts';

const FAKE_TUNNEL = join(PROJECT_ROOT, 'test', 'fixtures', 'fake-tunnel', 'fake-tunnel.mjs');

// Traffic mode `tunnel`: phonehome starts the farm's tunnel program with its proxy's address,
// waits for it to say it is ready, runs the session, and stops it. The tunnel is a test fake.
describe("a farm's tunnel (traffic mode tunnel)", function () {
  this.timeout(60_000);
  const farm = useFarm();

  const device = (args: string[], ready = 'You can now access') => ({
    id: 'farm-tunnel',
    kind: 'remote',
    endpoint: `http://127.0.0.1:${farm.port()}/`,
    capabilities: {
      platformName: 'Android',
      'appium:automationName': 'PhonehomeVirtual',
      'appium:firmware': 'redmi-1s-2014',
    },
    identifiers: { imei: [imei('35765400000000')] },
    traffic: {
      mode: 'tunnel',
      tunnel: { command: process.execPath, args: [FAKE_TUNNEL, ...args], ready, timeoutMs: 5000 },
    },
    settle: { quietMs: 50, maxMs: 2000 },
  });

  it('starts the tunnel with the proxy address and the secret, and stops it after the run', async () => {
    const file = join(farm.dir(), 'devices.json');
    writeFileSync(
      file,
      JSON.stringify({
        devices: [
          device([
            '--key',
            '${TUNNEL_KEY}',
            '--force-local',
            '--local-proxy-host',
            '{proxyHost}',
            '--local-proxy-port',
            '{proxyPort}',
          ]),
        ],
      }),
    );
    const log = join(farm.dir(), 'tunnel.ndjson');
    writeFileSync(log, '');
    const result = await runSimOnly(file, ['--device', 'farm-tunnel'], {
      PHONEHOME_REPORTS_DIR: join(farm.dir(), 'reports'),
      PHONEHOME_CA_DIR: join(farm.dir(), 'ca'),
      FAKE_TUNNEL_LOG: log,
      TUNNEL_KEY: 'tunnel-s3cret',
    });
    expect(result.code, result.stdout + result.stderr).to.equal(1); // the 2014 firmware leaks
    const events = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; args?: string[] });
    expect(events.map((e) => e.event)).to.deep.equal(['started', 'stopped']);
    const args = events[0]!.args!;
    expect(args.slice(0, 5)).to.deep.equal([
      '--key',
      'tunnel-s3cret',
      '--force-local',
      '--local-proxy-host',
      '127.0.0.1',
    ]);
    expect(args[5]).to.equal('--local-proxy-port');
    expect(args[6]).to.match(/^\d+$/);
    expect(result.stdout + result.stderr).to.not.include('tunnel-s3cret');
  });

  /**
   * A run of the opt-in firmware (nothing leaves before consent) whose phone's proxy is the farm's
   * end of the fake tunnel; `drop` makes the tunnel carry nothing.
   */
  const carriedRun = async (name: string, drop: boolean): Promise<RunRecord> => {
    const listen = await freePort();
    const entry = device([
      '--listen-port',
      String(listen),
      '--local-proxy-host',
      '{proxyHost}',
      '--local-proxy-port',
      '{proxyPort}',
      ...(drop ? ['--drop'] : []),
    ]);
    entry.capabilities['appium:firmware'] = 'redmi-1s-optin-update';
    const capabilities = entry.capabilities as Record<string, unknown>;
    capabilities['appium:proxy'] = `http://127.0.0.1:${listen}`;
    capabilities['appium:requestTimeout'] = 2000;
    const file = join(farm.dir(), `devices-${name}.json`);
    writeFileSync(file, JSON.stringify({ devices: [entry] }));
    const reports = join(farm.dir(), `reports-${name}`);
    const log = join(farm.dir(), `tunnel-${name}.ndjson`);
    writeFileSync(log, '');
    const result = await runSimOnly(file, ['--device', 'farm-tunnel', '--json'], {
      PHONEHOME_REPORTS_DIR: reports,
      PHONEHOME_CA_DIR: join(farm.dir(), 'ca'),
      FAKE_TUNNEL_LOG: log,
    });
    expect(result.code, result.stdout + result.stderr).to.equal(drop ? 1 : 0);
    return JSON.parse(readFileSync(join(reports, 'latest', 'run.json'), 'utf8')) as RunRecord;
  };

  it('passes when the probes came through the tunnel', async () => {
    const record = await carriedRun('alive', false);
    expect(record.status).to.equal('pass');
    expect(record.route!.probes.map((p) => [p.moment, p.arrivedAt !== undefined])).to.deep.equal([
      ['routing', true],
      ['last-step', true],
    ]);
    expect(record.route!.statement[0]).to.include("through the farm's tunnel");
  });

  it('is inconclusive when the tunnel said it was ready but carried nothing', async () => {
    const record = await carriedRun('dead', true);
    expect(record.exchanges).to.equal(0);
    expect(record.status).to.equal('inconclusive');
    const consent = record.verdicts.find((v) => v.rule === 'consent')!;
    expect(consent.summary).to.equal(
      'inconclusive: route not proven: the probe after routing could not be sent',
    );
    expect(consent.message).to.include('check that the tunnel connected');
  });

  it('fails the run with the tunnel’s last output when it never gets ready', async () => {
    const file = join(farm.dir(), 'devices-slow.json');
    writeFileSync(file, JSON.stringify({ devices: [device([], 'a line it never prints')] }));
    const log = join(farm.dir(), 'tunnel-slow.ndjson');
    writeFileSync(log, '');
    const result = await runSimOnly(file, ['--device', 'farm-tunnel'], {
      PHONEHOME_REPORTS_DIR: join(farm.dir(), 'reports-slow'),
      PHONEHOME_CA_DIR: join(farm.dir(), 'ca'),
      FAKE_TUNNEL_LOG: log,
    });
    // The run broke (no tunnel, no traffic): an error, exit 3 — not a leak, and never a pass.
    expect(result.code).to.equal(3);
    expect(result.stdout).to.match(
      /the tunnel '.*node' was not ready within 5000 ms; its last output:\nConnecting…\n\[SUCCESS\] You can now access your local server/,
    );
    expect(readFileSync(log, 'utf8')).to.include('"stopped"');
  });
});
