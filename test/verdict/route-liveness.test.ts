import { expect } from 'chai';
import { PROXY_COVERAGE } from '../../src/coverage.ts';
import { probeLines } from '../../src/report/route-probes.ts';
import type { Finding, Mark, RouteProbe, RunResult } from '../../src/types.ts';
import { expect as phonehomeExpect } from '../../src/verdict/chai.ts';
import { evaluateChecks, judge, type JudgeInput } from '../../src/verdict/judge.ts';

const T0 = 1_800_000_000_000;
const URL_OF = (moment: string) => `http://probe.phonehome.invalid/0123456789abcdef/${moment}`;
const FIX = 'check `adb reverse --list` and `settings get global http_proxy`';

function probe(moment: RouteProbe['moment'], arrived: boolean, error?: string): RouteProbe {
  return {
    moment,
    url: URL_OF(moment),
    how: 'adb shell: nc to the global proxy',
    fix: FIX,
    sentAt: T0 + (moment === 'routing' ? 10 : 900),
    ...(arrived ? { arrivedAt: T0 + (moment === 'routing' ? 12 : 902) } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}

const imeiLeak: Finding = {
  exchange: 0,
  exchangeId: 'x-1',
  kind: 'imei',
  label: 'IMEI #1',
  form: 'plain',
  where: 'url',
  host: 'api.vendor.example',
  offset: 0,
  evidence: 'strong',
  fragment: '⟦value⟧',
  startedAt: T0 + 100,
};

const marks: Mark[] = [
  { type: 'step', name: 'insert SIM', at: T0 + 50 },
  { type: 'consent', name: 'cloud', at: T0 + 500, covers: 'all' },
];

function judged(probes: RouteProbe[] | undefined, over: Partial<JudgeInput> = {}) {
  return judge({
    marks,
    consents: [{ name: 'cloud', covers: 'all' }],
    findings: [],
    tlsFailures: [],
    exchanges: [],
    forbiddenHosts: ['vendor.example'],
    knownKinds: ['imei'],
    ...(probes ? { probes } : {}),
    ...over,
  });
}

// A capture that cannot show the phone's traffic reached it proves nothing by being clean: each
// row is a state of the route probes, and what the consent and forbidden-host verdicts come to.
describe('route liveness: a verdict never passes on a route its probes did not prove', () => {
  const rows: {
    name: string;
    probes: RouteProbe[];
    status: string;
    summary: string;
    /** Words the message must hold: what did not arrive, and the fix. */
    says?: string[];
  }[] = [
    {
      name: 'both probes arrived',
      probes: [probe('routing', true), probe('last-step', true)],
      status: 'pass',
      summary: '',
    },
    {
      name: 'the probe after routing never arrived',
      probes: [probe('routing', false), probe('last-step', true)],
      status: 'inconclusive',
      summary:
        'inconclusive: route not proven: the probe sent after routing never reached the capture',
      says: [URL_OF('routing'), FIX],
    },
    {
      name: 'the route died before the last step',
      probes: [probe('routing', true), probe('last-step', false)],
      status: 'inconclusive',
      summary:
        'inconclusive: route not proven: the probe sent after the last step never reached the capture',
      says: [URL_OF('last-step'), FIX],
    },
    {
      name: 'the phone could not send the probe',
      probes: [probe('routing', false, 'adb: device offline'), probe('last-step', true)],
      status: 'inconclusive',
      summary: 'inconclusive: route not proven: the probe after routing could not be sent',
      says: ['adb: device offline', FIX],
    },
    {
      name: 'no probe was sent at all',
      probes: [],
      status: 'inconclusive',
      summary: 'inconclusive: route not proven: the run sent no route probe',
    },
    {
      name: 'the probe opened by hand arrived',
      probes: [probe('by-hand', true)],
      status: 'pass',
      summary: '',
    },
  ];
  for (const row of rows) {
    it(`${row.name}: consent and forbidden hosts are ${row.status}`, () => {
      const { verdicts } = judged(row.probes);
      const [, consentVerdict, hostsVerdict] = verdicts;
      for (const verdict of [consentVerdict!, hostsVerdict!]) {
        expect(verdict.status, verdict.name).to.equal(row.status);
        expect(verdict.summary).to.equal(row.summary);
        for (const words of row.says ?? []) expect(verdict.message).to.include(words);
      }
    });
  }

  it('keeps a leak a fail on a dead route: what was seen is real', () => {
    const { verdicts } = judged([probe('routing', false)], { findings: [imeiLeak] });
    expect(verdicts[1]!.status).to.equal('fail');
  });

  it('keeps a forbidden contact a fail on a dead route', () => {
    const { verdicts } = judged([probe('routing', false)], {
      exchanges: [{ host: 'api.vendor.example', startedAt: T0 + 100 }],
    });
    expect(verdicts[2]!.status).to.equal('fail');
  });

  it("leaves route liveness unjudged when the caller gives no probes (a bare scan's findings)", () => {
    expect(judged(undefined).verdicts.map((v) => v.status)).to.deep.equal(['pass', 'pass', 'pass']);
  });

  it("makes a scenario's passing check inconclusive on a dead route, and leaves a failing one failed", () => {
    const run = {
      findings: [],
      contacts: [],
      unreadable: [],
      unscanned: [],
      marks,
      coverage: PROXY_COVERAGE,
      probes: [probe('routing', true), probe('last-step', false)],
    } as unknown as RunResult;
    const [held, broke] = evaluateChecks(
      {
        'never mistat': (result) =>
          phonehomeExpect(result).to.have.noContactBeforeConsent('mistat.example'),
        'always fails': () => expect(1).to.equal(2),
      },
      run,
    );
    expect(held!.status).to.equal('inconclusive');
    expect(held!.summary).to.equal(
      'inconclusive: route not proven: the probe sent after the last step never reached the capture',
    );
    expect(broke!.status).to.equal('fail');
  });

  it('says, per probe, whether it arrived, how it was sent and the fix', () => {
    expect(
      probeLines({ probes: [probe('routing', true), probe('last-step', false)] }),
    ).to.deep.equal([
      `route probe after routing: arrived after 2 ms (adb shell: nc to the global proxy; ${URL_OF('routing')})`,
      `route probe after the last step: NEVER ARRIVED (adb shell: nc to the global proxy; ${URL_OF('last-step')}); ${FIX}`,
    ]);
  });
});
