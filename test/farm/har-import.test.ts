import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { RunRecord } from '../../src/report/json-report.ts';
import { join } from 'node:path';
import { imei, runSimOnly, useFarm } from './farm-devices.ts';

const IMEI = imei('35123456789012');

/** A HAR 1.2 network log as a farm records it: the phone's Cloud Messaging lookup by IMEI. */
function farmHar(): object {
  return {
    log: {
      version: '1.2',
      creator: { name: 'farm-stub', version: '1' },
      entries: [
        {
          startedDateTime: new Date().toISOString(),
          time: 12,
          request: {
            method: 'GET',
            url: 'http://api.account.xiaomi.com/pass/v3/user@id?type=MXPH&externalId=01',
            httpVersion: 'HTTP/1.1',
            headers: [
              { name: 'Host', value: 'api.account.xiaomi.com' },
              { name: 'Cookie', value: `deviceId=${IMEI}` },
            ],
            cookies: [{ name: 'deviceId', value: IMEI }],
            queryString: [],
            headersSize: -1,
            bodySize: 0,
          },
          response: {
            status: 200,
            statusText: 'OK',
            httpVersion: 'HTTP/1.1',
            headers: [{ name: 'Content-Type', value: 'application/json' }],
            cookies: [],
            content: { size: 10, mimeType: 'application/json', text: '{"code":0}' },
            redirectURL: '',
            headersSize: -1,
            bodySize: 10,
          },
          cache: {},
          timings: { send: 1, wait: 10, receive: 1 },
        },
      ],
    },
  };
}

// The `har` traffic path: the farm (here a local stub of BrowserStack's REST API) recorded the
// session's network log; phonehome downloads it after the session and judges it like its own.
describe("a farm's network log (traffic mode har)", function () {
  this.timeout(60_000);
  const farm = useFarm();
  const requests: { path: string; auth: string }[] = [];
  let api: Server;
  // The farm's recording proxy: what its phone sends over plain HTTP, kept as HAR entries.
  const recorded: object[] = [];
  let serveRecorded: boolean | undefined;
  let recorder: Server;
  const recordedHar = () => ({
    log: {
      version: '1.2',
      creator: { name: 'farm-stub', version: '1' },
      entries: serveRecorded ? recorded : [],
    },
  });

  before(async () => {
    api = createServer((request, response) => {
      requests.push({ path: request.url ?? '', auth: request.headers.authorization ?? '' });
      const details = /^\/app-automate\/sessions\/([^/]+)\.json$/.exec(request.url ?? '');
      if (details) {
        response.setHeader('content-type', 'application/json');
        response.end(
          JSON.stringify({
            automation_session: {
              browser_url: `https://app-automate.example/builds/b0c1d2/sessions/${details[1]}`,
            },
          }),
        );
      } else if (
        /^\/app-automate\/builds\/b0c1d2\/sessions\/[^/]+\/networklogs$/.test(request.url ?? '')
      ) {
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify(serveRecorded === undefined ? farmHar() : recordedHar()));
      } else {
        response.statusCode = 404;
        response.end();
      }
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    recorder = createServer((request, response) => {
      recorded.push({
        startedDateTime: new Date().toISOString(),
        time: 1,
        request: {
          method: request.method,
          url: request.url,
          httpVersion: 'HTTP/1.1',
          headers: Object.entries(request.headers).map(([name, value]) => ({
            name,
            value: String(value),
          })),
          cookies: [],
          queryString: [],
          headersSize: -1,
          bodySize: 0,
        },
        response: {
          status: 200,
          statusText: 'OK',
          httpVersion: 'HTTP/1.1',
          headers: [],
          cookies: [],
          content: { size: 0, mimeType: 'text/plain', text: '' },
          redirectURL: '',
          headersSize: -1,
          bodySize: 0,
        },
        cache: {},
        timings: { send: 0, wait: 1, receive: 0 },
      });
      request.resume();
      response.end('ok');
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise((resolve) => api.close(resolve));
    await new Promise((resolve) => recorder.close(resolve));
  });

  it('downloads the HAR with the session id, imports it and fails the leak', async () => {
    const apiPort = (api.address() as { port: number }).port;
    const file = join(farm.dir(), 'devices.json');
    const device = {
      id: 'farm-har',
      kind: 'remote',
      endpoint: `http://127.0.0.1:${farm.port()}/`,
      // The clean firmware sends nothing identifying itself: the leak comes from the farm's log.
      capabilities: {
        platformName: 'Android',
        'appium:automationName': 'PhonehomeVirtual',
        'appium:firmware': 'clean',
      },
      identifiers: { imei: [IMEI] },
      traffic: {
        mode: 'har',
        har: {
          farm: 'browserstack',
          api: `http://127.0.0.1:${apiPort}`,
          user: '${FARM_USER}',
          key: '${FARM_KEY}',
        },
      },
      settle: { quietMs: 50, maxMs: 2000 },
    };
    writeFileSync(file, JSON.stringify({ devices: [device] }));
    const reports = join(farm.dir(), 'reports');
    const result = await runSimOnly(file, ['--device', 'farm-har', '--quiet'], {
      PHONEHOME_REPORTS_DIR: reports,
      PHONEHOME_CA_DIR: join(farm.dir(), 'ca'),
      FARM_USER: 'nightly',
      FARM_KEY: 'k3y',
    });
    expect(result.code, result.stdout + result.stderr).to.equal(1);
    const details = requests.find((r) => r.path.endsWith('.json'))!;
    const sessionId = /sessions\/([^/]+)\.json/.exec(details.path)![1]!;
    expect(requests.map((r) => r.path)).to.deep.equal([
      `/app-automate/sessions/${sessionId}.json`,
      `/app-automate/builds/b0c1d2/sessions/${sessionId}/networklogs`,
    ]);
    expect(
      requests.every((r) => r.auth === `Basic ${Buffer.from('nightly:k3y').toString('base64')}`),
    ).to.equal(true);
    const folder = join(
      reports,
      readdirSync(reports).find((name) => name.includes('farm-har'))!,
    );
    const findings = JSON.parse(readFileSync(join(folder, 'findings.json'), 'utf8')).findings as {
      kind: string;
      where: string;
      host: string;
      beforeConsent: boolean;
    }[];
    expect(findings.map((f) => [f.kind, f.where, f.host, f.beforeConsent])).to.deep.include([
      'imei',
      'cookie:deviceId',
      'api.account.xiaomi.com',
      true,
    ]);
    expect(readdirSync(folder)).to.include('farm-network-log.har');
  });

  /**
   * A run of the clean firmware whose phone's proxy is the farm's recording proxy (`recorder`),
   * with the farm's log served from what it recorded (or nothing, when `logs` is false).
   */
  const recordedRun = async (name: string, logs: boolean): Promise<RunRecord> => {
    recorded.length = 0;
    serveRecorded = logs;
    const apiPort = (api.address() as { port: number }).port;
    const file = join(farm.dir(), `devices-${name}.json`);
    const device = {
      id: 'farm-har',
      kind: 'remote',
      endpoint: `http://127.0.0.1:${farm.port()}/`,
      capabilities: {
        platformName: 'Android',
        'appium:automationName': 'PhonehomeVirtual',
        'appium:firmware': 'clean',
        'appium:proxy': `http://127.0.0.1:${(recorder.address() as { port: number }).port}`,
        'appium:requestTimeout': 2000,
      },
      identifiers: { imei: [IMEI] },
      traffic: {
        mode: 'har',
        har: { farm: 'browserstack', api: `http://127.0.0.1:${apiPort}`, user: 'u', key: 'k' },
      },
      settle: { quietMs: 50, maxMs: 2000 },
    };
    writeFileSync(file, JSON.stringify({ devices: [device] }));
    const reports = join(farm.dir(), `reports-${name}`);
    const result = await runSimOnly(file, ['--device', 'farm-har', '--json'], {
      PHONEHOME_REPORTS_DIR: reports,
      PHONEHOME_CA_DIR: join(farm.dir(), 'ca'),
    });
    expect(result.code, result.stdout + result.stderr).to.equal(logs ? 0 : 1);
    return JSON.parse(readFileSync(join(reports, 'latest', 'run.json'), 'utf8')) as RunRecord;
  };

  it("passes when the probes the phone opened are in the farm's network log", async () => {
    const record = await recordedRun('alive', true);
    expect(record.status).to.equal('pass');
    expect(record.route!.probes.map((p) => [p.moment, p.arrivedAt !== undefined])).to.deep.equal([
      ['routing', true],
      ['last-step', true],
    ]);
    expect(record.route!.statement[1]).to.include("recorded in browserstack's network log");
  });

  it('is inconclusive when the farm recorded a log with no entries', async () => {
    const record = await recordedRun('empty', false);
    expect(record.exchanges).to.equal(0);
    expect(record.status).to.equal('inconclusive');
    const consent = record.verdicts.find((v) => v.rule === 'consent')!;
    expect(consent.summary).to.equal(
      'inconclusive: route not proven: the probe sent after routing never reached the capture',
    );
    expect(consent.message).to.include("check that the farm records the session's network log");
  });
});
