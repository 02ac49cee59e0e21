import { expect } from 'chai';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import scenario from '../../scenarios/fsecure-out-of-box.scenario.ts';
import { findDevice, loadDevices } from '../../src/config/devices.ts';
import { runScenario } from '../../src/scenario/run.ts';
import type { RunResult } from '../../src/types.ts';
import { tempDir } from '../support/temp.ts';

// The F-Secure scenario through the real pipeline: embedded Appium, the virtual phone driver,
// the mockttp proxy (HTTP and intercepted HTTPS), the journal on disk, detection and verdicts.
describe('the F-Secure out-of-box scenario on the virtual phone', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  const config = loadDevices(join(import.meta.dirname, '..', '..', 'devices.json'));
  const run = (id: string) =>
    runScenario({
      scenario,
      entry: findDevice(config, id),
      reportsDir: join(dirs.path, 'reports'),
      caDir: join(dirs.path, 'ca'),
    });
  let leaky: RunResult;
  let fixed: RunResult;

  before(async () => {
    leaky = await run('virtual-redmi-1s-2014');
    fixed = await run('virtual-redmi-1s-optin');
  });
  after(() => dirs.remove());

  /** (kind, host, step where it first appeared) of the findings on one side of consent. */
  const firsts = (outcome: RunResult, beforeConsent: boolean) => {
    const seen = new Map<string, string>();
    for (const f of [...outcome.findings].sort((a, b) => a.startedAt - b.startedAt)) {
      if (f.beforeConsent !== beforeConsent) continue;
      const key = `${f.label} → ${f.host}`;
      if (!seen.has(key)) seen.set(key, `${key} @ ${f.step}`);
    }
    return [...seen.values()].sort();
  };

  it('proves the route of both runs with the probes after routing and after the last step', () => {
    for (const outcome of [leaky, fixed]) {
      expect(outcome.probes!.map((p) => [p.moment, p.arrivedAt !== undefined])).to.deep.equal([
        ['routing', true],
        ['last-step', true],
      ]);
    }
  });

  it('fails the 2014 firmware with the IMEI, phone number, operator and new contacts before consent', () => {
    expect(leaky.verdicts.map((c) => [c.name, c.status])).to.deep.equal([
      ['runs to the end', 'pass'],
      ["no identifier leaves the phone before consent 'cloud-messaging'", 'fail'],
    ]);
    expect(leaky.status).to.equal('fail');
    expect(firsts(leaky, true)).to.deep.equal([
      'IMEI #1 → api.account.xiaomi.com @ insert SIM',
      'contact number #1 → api.account.xiaomi.com @ add a contact',
      'contact number #2 → api.account.xiaomi.com @ receive an SMS',
      'operator name #1 → api.account.xiaomi.com @ insert SIM',
      'phone number #1 → api.account.xiaomi.com @ insert SIM',
    ]);
  });

  it("puts the 2014 firmware's boot request in the boot step, before the first step, not in 'insert SIM'", () => {
    const contact = leaky.contacts.find((c) => c.host === 'connect.rom.miui.com');
    expect(contact && [contact.step, contact.phase]).to.deep.equal(['boot', 'before consent']);
    const insertSim = leaky.marks.find((m) => m.name === 'insert SIM');
    expect(contact!.at).to.be.below(insertSim!.at);
    expect(leaky.marks[0]?.name).to.equal('boot');
  });

  it('sees the 2014 firmware send the IMSI only after the Mi Cloud login', () => {
    const imsi = leaky.findings.filter((f) => f.kind === 'imsi');
    expect(imsi).to.not.be.empty;
    expect(
      imsi.every(
        (f) =>
          !f.beforeConsent &&
          (f.step === 'consent: cloud-messaging' || f.step.endsWith('(after consent)')),
      ),
    ).to.equal(true);
  });

  it('finds the documented request: GET …/pass/v3/user@id with Cookie deviceId=<IMEI>', () => {
    const cookie = leaky.findings.find(
      (f) => f.kind === 'imei' && f.where === 'cookie:deviceId' && f.beforeConsent,
    );
    expect(cookie, 'IMEI in the deviceId cookie').to.not.equal(undefined);
    const journal = readFileSync(join(leaky.folder, 'journal.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean);
    const exchange = JSON.parse(
      journal.filter((l) => l.includes('"type":"exchange"'))[cookie!.exchange]!,
    ).exchange;
    expect(exchange.request.method).to.equal('GET');
    expect(exchange.request.url).to.equal(
      'http://api.account.xiaomi.com/pass/v3/user@id?type=MXPH&externalId=01',
    );
  });

  it('gives a failure message that names identifier, host, step and fragment', () => {
    const message = leaky.verdicts[1]!.message;
    expect(message).to.match(
      /IMEI #1 \(imei\) sent to api\.account\.xiaomi\.com during step 'insert SIM' in cookie:deviceId/,
    );
    expect(message).to.include('⟦86…564⟧');
    expect(message, 'values are masked').to.not.include('865432101234564');
  });

  it('passes the opt-in update: identifiers appear only after Cloud Messaging is on', () => {
    expect(fixed.verdicts.map((c) => c.status)).to.deep.equal(['pass', 'pass']);
    expect(fixed.status).to.equal('pass');
    expect(fixed.findings.filter((f) => f.beforeConsent)).to.deep.equal([]);
    const after = new Set(fixed.findings.map((f) => f.kind));
    for (const kind of ['imei', 'imsi', 'msisdn', 'contact_number'])
      expect(after, kind).to.include(kind);
  });

  it('records HTTPS exchanges decrypted through the run CA', () => {
    const https = leaky.findings.filter(
      (f) => f.host === 'api.account.xiaomi.com' && f.where === 'request-body',
    );
    expect(https).to.not.be.empty;
    expect(leaky.unreadable).to.deep.equal([]);
  });

  it('leaves a run folder with journal, run.json and findings.json, private to the user', () => {
    for (const outcome of [leaky, fixed]) {
      const run = JSON.parse(readFileSync(join(outcome.folder, 'run.json'), 'utf8'));
      expect(run.status).to.equal(outcome === leaky ? 'fail' : 'pass');
      expect(run.device.firmware).to.equal(
        outcome === leaky ? 'redmi-1s-2014' : 'redmi-1s-optin-update',
      );
      expect(run.versions).to.have.keys('phonehome', 'node', 'appium', 'webdriverio', 'mockttp');
      for (const file of ['journal.ndjson', 'run.json', 'findings.json']) {
        expect(statSync(join(outcome.folder, file)).mode & 0o077, file).to.equal(0);
      }
    }
  });
});
