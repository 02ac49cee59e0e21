import { inspect } from 'node:util';
import { PROXY_COVERAGE } from '../../src/coverage.ts';
import { expect } from 'chai';
import {
  IDENTIFIER_KINDS,
  type ConsentDeclaration,
  type Finding,
  type IdentifierKind,
  type Mark,
  type RunResult,
  type TlsFailure,
} from '../../src/types.ts';
import { expect as phonehomeExpect } from '../../src/verdict/chai.ts';
import {
  evaluateChecks,
  judge,
  type JudgeInput,
  overallStatus,
  plannedVerdicts,
  standing,
  withChecks,
} from '../../src/verdict/judge.ts';

const T0 = 1_800_000_000_000;

function finding(kind: IdentifierKind, at: number, host = 'api.vendor.example'): Finding {
  return {
    exchange: 0,
    exchangeId: `x-${kind}-${at}`,
    kind,
    label: `${kind} #1`,
    form: 'plain',
    where: 'url',
    host,
    offset: 0,
    evidence: 'strong',
    fragment: '⟦value⟧',
    startedAt: T0 + at,
  };
}

const step = (name: string, at: number): Mark => ({ type: 'step', name, at: T0 + at });
const consent = (name: string, at: number, covers: Mark['covers'] = 'all'): Mark => ({
  type: 'consent',
  name,
  at: T0 + at,
  covers,
});

interface Row {
  name: string;
  consents: ConsentDeclaration[];
  marks: Mark[];
  findings: Finding[];
  tls?: TlsFailure[];
  unscanned?: NonNullable<JudgeInput['unscanned']>;
  forbidden?: string[];
  exchanges?: { host: string; startedAt: number }[];
  /** Kinds the run had identifiers of; every kind unless said. */
  known?: IdentifierKind[];
  /** Verdicts other than "runs to the end". */
  verdicts: [string, 'pass' | 'fail' | 'inconclusive'][];
  beforeConsent?: boolean[];
  /** The consent that judges each finding. */
  judgedBy?: (string | undefined)[];
  /** Which verdict each finding counts in, by the verdict's position in `verdicts`. */
  countsIn?: number[][];
}

// One row per rule of the consent semantics (README.md, "Verdicts").
const ROWS: Row[] = [
  {
    name: 'a finding before the consent fails',
    consents: [{ name: 'cloud', covers: 'all' }],
    marks: [step('insert SIM', 0), consent('cloud', 100)],
    findings: [finding('imei', 50)],
    verdicts: [["no identifier leaves the phone before consent 'cloud'", 'fail']],
    beforeConsent: [true],
  },
  {
    name: 'a finding after the consent passes',
    consents: [{ name: 'cloud', covers: 'all' }],
    marks: [consent('cloud', 100)],
    findings: [finding('imei', 150)],
    verdicts: [["no identifier leaves the phone before consent 'cloud'", 'pass']],
    beforeConsent: [false],
  },
  {
    name: 'a request starting the very millisecond consent is given counts as after',
    consents: [{ name: 'cloud', covers: 'all' }],
    marks: [consent('cloud', 100)],
    findings: [finding('imei', 100)],
    verdicts: [["no identifier leaves the phone before consent 'cloud'", 'pass']],
    beforeConsent: [false],
  },
  {
    name: 'a consent that was never given leaves everything before it',
    consents: [{ name: 'cloud', covers: 'all' }],
    marks: [step('insert SIM', 0)],
    findings: [finding('msisdn', 500)],
    verdicts: [["no identifier leaves the phone before consent 'cloud'", 'fail']],
    beforeConsent: [true],
  },
  {
    name: 'a consent covers only its kinds: location after the location consent, IMEI still before its own',
    consents: [
      { name: 'location', covers: ['location'] },
      { name: 'cloud', covers: ['imei'] },
    ],
    marks: [consent('location', 100, ['location']), consent('cloud', 300, ['imei'])],
    findings: [finding('location', 150), finding('imei', 200)],
    verdicts: [
      ["no identifier (location) leaves the phone before consent 'location'", 'pass'],
      ["no identifier (imei) leaves the phone before consent 'cloud'", 'fail'],
    ],
    beforeConsent: [false, true],
    judgedBy: ['location', 'cloud'],
    countsIn: [[], [1]],
  },
  {
    name: 'a finding is judged once, by the first consent covering its kind, not by every one',
    consents: [
      { name: 'location', covers: ['location'] },
      { name: 'analytics', covers: 'all' },
    ],
    marks: [consent('location', 100, ['location']), consent('analytics', 300)],
    findings: [finding('location', 50), finding('imei', 200)],
    verdicts: [
      ["no identifier (location) leaves the phone before consent 'location'", 'fail'],
      ["no identifier leaves the phone before consent 'analytics'", 'fail'],
    ],
    beforeConsent: [true, true],
    judgedBy: ['location', 'analytics'],
    countsIn: [[0], [1]],
  },
  {
    name: 'the consent given first judges a kind two consents cover, whatever the declared order',
    consents: [
      { name: 'analytics', covers: 'all' },
      { name: 'location', covers: ['location'] },
    ],
    marks: [consent('location', 100, ['location']), consent('analytics', 300)],
    findings: [finding('location', 150)],
    verdicts: [
      ["no identifier leaves the phone before consent 'analytics'", 'pass'],
      ["no identifier (location) leaves the phone before consent 'location'", 'pass'],
    ],
    beforeConsent: [false],
    judgedBy: ['location'],
  },
  {
    name: 'a kind no consent covers is judged by none: not a leak, and the run passes',
    consents: [{ name: 'location', covers: ['location'] }],
    marks: [step('insert SIM', 0), consent('location', 100, ['location'])],
    findings: [finding('imei', 50)],
    verdicts: [["no identifier (location) leaves the phone before consent 'location'", 'pass']],
    beforeConsent: [false],
    judgedBy: [undefined],
    countsIn: [[]],
  },
  {
    name: 'no identifier known: the consent verdict is inconclusive, never a pass',
    consents: [{ name: 'consent', covers: 'all' }],
    marks: [consent('consent', 100)],
    findings: [],
    exchanges: [{ host: 'api.vendor.example', startedAt: T0 + 50 }],
    known: [],
    verdicts: [["no identifier leaves the phone before consent 'consent'", 'inconclusive']],
  },
  {
    name: 'a consent covering only kinds nobody knows a value of is inconclusive',
    consents: [
      { name: 'location', covers: ['location'] },
      { name: 'cloud', covers: ['imei'] },
    ],
    marks: [consent('location', 100, ['location']), consent('cloud', 200, ['imei'])],
    findings: [],
    known: ['imei'],
    verdicts: [
      ["no identifier (location) leaves the phone before consent 'location'", 'inconclusive'],
      ["no identifier (imei) leaves the phone before consent 'cloud'", 'pass'],
    ],
  },
  {
    name: 'unreadable TLS before the consent makes it inconclusive, never a pass',
    consents: [{ name: 'cloud', covers: 'all' }],
    marks: [consent('cloud', 100)],
    findings: [],
    tls: [{ at: T0 + 50, host: 'pinned.vendor.example', cause: 'tls-reset' }],
    verdicts: [["no identifier leaves the phone before consent 'cloud'", 'inconclusive']],
  },
  {
    name: 'a body part not scanned (over a budget) before the consent makes it inconclusive',
    consents: [{ name: 'cloud', covers: 'all' }],
    marks: [consent('cloud', 100)],
    findings: [],
    unscanned: [
      {
        at: T0 + 50,
        host: 'ota.vendor.example',
        exchangeId: 'x',
        where: 'response-body',
        reason: 'over the recording limit',
      },
    ],
    verdicts: [["no identifier leaves the phone before consent 'cloud'", 'inconclusive']],
  },
  {
    name: 'a body part not scanned after the consent does not',
    consents: [{ name: 'cloud', covers: 'all' }],
    marks: [consent('cloud', 100)],
    findings: [],
    unscanned: [
      {
        at: T0 + 150,
        host: 'ota.vendor.example',
        exchangeId: 'x',
        where: 'response-body',
        reason: 'big',
      },
    ],
    verdicts: [["no identifier leaves the phone before consent 'cloud'", 'pass']],
  },
  {
    name: 'unreadable TLS after the consent does not',
    consents: [{ name: 'cloud', covers: 'all' }],
    marks: [consent('cloud', 100)],
    findings: [],
    tls: [{ at: T0 + 150, host: 'pinned.vendor.example', cause: 'tls-reset' }],
    verdicts: [["no identifier leaves the phone before consent 'cloud'", 'pass']],
  },
  {
    name: 'a forbidden host contacted before consent fails even when unreadable',
    consents: [{ name: 'cloud', covers: 'all' }],
    marks: [step('boot', 0), consent('cloud', 100)],
    findings: [],
    tls: [{ at: T0 + 20, host: 'tracking.vendor.example', cause: 'tls-reset' }],
    forbidden: ['vendor.example'],
    verdicts: [
      ["no identifier leaves the phone before consent 'cloud'", 'inconclusive'],
      ['no contact with vendor.example before consent', 'fail'],
    ],
  },
  {
    name: 'a forbidden host contacted only after consent passes',
    consents: [{ name: 'cloud', covers: 'all' }],
    marks: [consent('cloud', 100)],
    findings: [],
    exchanges: [{ host: 'api.vendor.example', startedAt: T0 + 200 }],
    forbidden: ['vendor.example'],
    verdicts: [
      ["no identifier leaves the phone before consent 'cloud'", 'pass'],
      ['no contact with vendor.example before consent', 'pass'],
    ],
  },
];

describe('consent semantics (judge)', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const result = judge({
        marks: row.marks,
        consents: row.consents,
        findings: row.findings,
        tlsFailures: row.tls ?? [],
        exchanges:
          row.exchanges ?? row.findings.map((f) => ({ host: f.host, startedAt: f.startedAt })),
        forbiddenHosts: row.forbidden ?? [],
        unscanned: row.unscanned ?? [],
        knownKinds: row.known ?? [...IDENTIFIER_KINDS],
      });
      const [ran, ...verdicts] = result.verdicts;
      expect([ran!.name, ran!.status]).to.deep.equal(['runs to the end', 'pass']);
      expect(verdicts.map((v) => [v.name, v.status])).to.deep.equal(row.verdicts);
      if (row.beforeConsent)
        expect(result.findings.map((f) => f.beforeConsent)).to.deep.equal(row.beforeConsent);
      if (row.judgedBy) expect(result.findings.map((f) => f.consent)).to.deep.equal(row.judgedBy);
      if (row.countsIn) {
        expect(
          result.findings.map((f) =>
            verdicts.flatMap((v, index) => (v.findings.includes(f.id) ? [index] : [])),
          ),
        ).to.deep.equal(row.countsIn);
      }
      // The names mocha registers before the run are the names the run's verdicts have.
      expect(
        plannedVerdicts({
          consents: row.consents,
          forbiddenHosts: row.forbidden ?? [],
          checks: [],
        }).map((v) => v.name),
      ).to.deep.equal(result.verdicts.map((v) => v.name));
    });
  }

  it('makes "runs to the end" an error when the run broke, and keeps judging what it captured', () => {
    const result = judge({
      marks: [step('insert SIM', 0)],
      consents: [{ name: 'cloud', covers: 'all' }],
      findings: [finding('imei', 50)],
      tlsFailures: [],
      exchanges: [],
      forbiddenHosts: [],
      knownKinds: ['imei'],
      error: 'lost the phone (adb: device offline)',
    });
    expect(result.verdicts.map((v) => [v.name, v.status])).to.deep.equal([
      ['runs to the end', 'error'],
      ["no identifier leaves the phone before consent 'cloud'", 'fail'],
    ]);
    expect(result.verdicts[0]!.message).to.equal(
      'the run stopped early: lost the phone (adb: device offline) (what was captured until then is judged)',
    );
  });

  it('says how each finding stands, in words that match its verdict', () => {
    const result = judge({
      marks: [consent('location', 100, ['location']), consent('cloud', 300, ['imei'])],
      consents: [
        { name: 'location', covers: ['location'] },
        { name: 'cloud', covers: ['imei'] },
      ],
      findings: [
        finding('imei', 50),
        finding('imei', 200),
        finding('imei', 400),
        finding('msisdn', 10),
      ],
      tlsFailures: [],
      exchanges: [],
      forbiddenHosts: [],
      knownKinds: ['imei', 'msisdn'],
    });
    expect(result.findings.map(standing)).to.deep.equal([
      "a leak: sent before consent 'cloud'",
      "sent after consent 'location', which does not cover IMEI — a leak judged by consent 'cloud'",
      "allowed: sent after consent 'cloud'",
      'not judged: no consent covers phone number',
    ]);
  });

  const statusRows: [string[], string][] = [
    [[], 'pass'],
    [['pass', 'pass'], 'pass'],
    [['pass', 'inconclusive'], 'inconclusive'],
    [['inconclusive', 'error'], 'error'],
    [['error', 'fail', 'inconclusive'], 'fail'],
  ];
  for (const [statuses, want] of statusRows) {
    it(`the run's status is ${want} for verdicts [${statuses.join(', ')}]`, () => {
      expect(overallStatus(statuses.map((status) => ({ status }) as never))).to.equal(want);
    });
  }

  it('places each finding in the step and phase its request started in', () => {
    const result = judge({
      marks: [
        step('insert SIM', 0),
        step('add a contact', 100),
        consent('cloud', 200),
        step('consent: cloud', 200),
        step('add a contact (after consent)', 300),
      ],
      consents: [{ name: 'cloud', covers: 'all' }],
      findings: [
        finding('imei', 10),
        finding('contact_number', 150),
        finding('imsi', 250),
        finding('contact_number', 310),
      ],
      tlsFailures: [],
      exchanges: [],
      forbiddenHosts: [],
      knownKinds: [...IDENTIFIER_KINDS],
    });
    expect(result.findings.map((f) => [f.kind, f.step, f.phase])).to.deep.equal([
      ['imei', 'insert SIM', 'before consent'],
      ['contact_number', 'add a contact', 'before consent'],
      ['imsi', 'consent: cloud', 'after cloud'],
      ['contact_number', 'add a contact (after consent)', 'after cloud'],
    ]);
  });

  it('says in the failure which identifier, host, step and fragment, values masked', () => {
    const leak = {
      ...finding('imei', 10),
      fragment: 'deviceId=⟦865432101234564⟧; imei2=865432101234572',
    };
    const result = judge({
      marks: [step('insert SIM', 0), consent('cloud', 100)],
      consents: [{ name: 'cloud', covers: 'all' }],
      findings: [leak],
      tlsFailures: [],
      exchanges: [],
      forbiddenHosts: [],
      knownKinds: ['imei'],
    });
    const message = result.verdicts[1]!.message;
    expect(message).to.equal(
      "1 identifier(s) left the phone before consent 'cloud':\n  - imei #1 (imei) sent to api.vendor.example during step 'insert SIM' in url (plain): deviceId=⟦86…564⟧; imei2=86…572",
    );
  });
});

describe('the chai assertions scenarios use', () => {
  /** A RunResult as the runner builds it, from the judge's output. */
  function run(input: {
    marks: Mark[];
    findings: Finding[];
    tls?: TlsFailure[];
    exchanges?: { host: string; startedAt: number }[];
  }): RunResult {
    const consents: ConsentDeclaration[] = [{ name: 'cloud', covers: 'all' }];
    const judged = judge({
      ...input,
      consents,
      tlsFailures: input.tls ?? [],
      exchanges: input.exchanges ?? [],
      forbiddenHosts: [],
      knownKinds: [...IDENTIFIER_KINDS],
    });
    return {
      runId: 'r',
      folder: '/tmp/r',
      scenario: { name: 's', title: 's' },
      device: { id: 'd', kind: 'virtual' },
      startedAt: T0,
      endedAt: T0 + 1000,
      marks: input.marks,
      consents,
      forbiddenHosts: [],
      exchanges: input.exchanges?.length ?? 0,
      identifiers: 1,
      findings: judged.findings,
      unreadable: judged.unreadable,
      unscanned: judged.unscanned,
      contacts: judged.contacts,
      verdicts: judged.verdicts,
      status: overallStatus(judged.verdicts),
      coverage: PROXY_COVERAGE,
    };
  }
  const checks = {
    leaks: (r: RunResult) => phonehomeExpect(r).to.have.noLeaksBeforeConsent(),
    contact: (r: RunResult) => phonehomeExpect(r).to.have.noContactBeforeConsent('vendor.example'),
  };

  it('pass on a run that waited for consent', () => {
    const r = run({
      marks: [step('boot', 0), consent('cloud', 100)],
      findings: [finding('imei', 150)],
      exchanges: [{ host: 'api.vendor.example', startedAt: T0 + 150 }],
    });
    expect(evaluateChecks(checks, r).map((v) => v.status)).to.deep.equal(['pass', 'pass']);
  });

  it('noContact fails on any contact with the host, onlyHostsAfterConsent on identifiers sent elsewhere after consent', () => {
    const r = run({
      marks: [step('boot', 0), consent('cloud', 100), step('use', 200)],
      findings: [finding('imei', 150), finding('imsi', 250, 'ads.tracker.example')],
      exchanges: [
        { host: 'api.vendor.example', startedAt: T0 + 150 },
        { host: 'ads.tracker.example', startedAt: T0 + 250 },
      ],
    });
    const verdicts = evaluateChecks(
      {
        never: (x: RunResult) => phonehomeExpect(x).to.have.noContact('tracker.example'),
        neverOther: (x: RunResult) => phonehomeExpect(x).to.have.noContact('other.example'),
        only: (x: RunResult) =>
          phonehomeExpect(x).to.have.onlyHostsAfterConsent(['vendor.example']),
        both: (x: RunResult) =>
          phonehomeExpect(x).to.have.onlyHostsAfterConsent(
            ['vendor.example', 'tracker.example'],
            'cloud',
          ),
      },
      r,
    );
    expect(verdicts.map((v) => [v.name, v.status])).to.deep.equal([
      ['never', 'fail'],
      ['neverOther', 'pass'],
      ['only', 'fail'],
      ['both', 'pass'],
    ]);
    expect(verdicts[0]!.message).to.equal(
      "tracker.example was contacted:\nads.tracker.example contacted during step 'use'",
    );
    expect(verdicts[2]!.message).to.equal(
      "identifiers went after consent to hosts other than vendor.example:\n  - imsi #1 (imsi) sent to ads.tracker.example after consent 'cloud' during step 'use' in url",
    );
    expect(verdicts[2]!.findings).to.deep.equal([1]);
  });

  it('show findings, verdicts and contacts as one readable line each in a plain chai failure', () => {
    const r = run({
      marks: [step('boot', 0), consent('cloud', 100)],
      findings: [finding('imei', 50)],
      exchanges: [{ host: 'api.vendor.example', startedAt: T0 + 50 }],
    });
    const message = (assertion: () => void) => {
      try {
        assertion();
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    };
    expect(message(() => phonehomeExpect(r.findings).to.be.empty)).to.equal(
      "expected [ finding #0: imei #1 → api.vendor.example in url (plain), before consent 'cloud', step 'boot' ] to be empty",
    );
    expect(message(() => phonehomeExpect(r.contacts).to.have.length(0))).to.equal(
      "expected [ contact: api.vendor.example, before consent, step 'boot' ] to have a length of +0 but got 1",
    );
    expect(inspect(r.verdicts[0])).to.equal("verdict 'runs to the end': pass");
    // Nothing of it reaches JSON.
    expect(Object.keys(JSON.parse(JSON.stringify(r.findings[0])))).to.not.include('inspect');
    expect(JSON.stringify(r.findings[0])).to.not.include('finding #0');
  });

  it('fail on a leak and on an early contact, naming host and step', () => {
    const r = run({
      marks: [step('boot', 0), consent('cloud', 100)],
      findings: [finding('imei', 50)],
      exchanges: [{ host: 'api.vendor.example', startedAt: T0 + 50 }],
    });
    const [leaks, contact] = evaluateChecks(checks, r);
    expect(leaks!.status).to.equal('fail');
    expect(leaks!.findings, 'the leak check rests on the judged finding').to.deep.equal([0]);
    expect(contact).to.deep.equal({
      name: 'contact',
      rule: 'check',
      status: 'fail',
      summary: 'vendor.example was contacted before consent:',
      message:
        "vendor.example was contacted before consent:\napi.vendor.example contacted during step 'boot'",
      findings: [],
      contacts: [0],
      unreadable: [],
      unscanned: [],
    });
    const withThem = withChecks(r, evaluateChecks(checks, r));
    expect(withThem.verdicts.map((v) => v.rule)).to.deep.equal([
      'ran-to-end',
      'consent',
      'check',
      'check',
    ]);
    expect(withThem.status).to.equal('fail');
  });

  it('narrow to kinds and hosts, reading the consent verdicts as they are', () => {
    const r = run({
      marks: [step('boot', 0), consent('cloud', 100)],
      findings: [
        finding('imei', 50, 'api.vendor.example'),
        finding('msisdn', 60, 'stats.other.example'),
      ],
    });
    const narrowed = evaluateChecks(
      {
        'no IMEI': (x) => phonehomeExpect(x).to.have.noLeaksBeforeConsent({ kinds: ['imei'] }),
        'nothing to other.example': (x) =>
          phonehomeExpect(x).to.have.noLeaksBeforeConsent({ hosts: ['other.example'] }),
        'no email': (x) => phonehomeExpect(x).to.have.noLeaksBeforeConsent({ kinds: ['email'] }),
      },
      r,
    );
    expect(narrowed.map((v) => [v.status, v.findings])).to.deep.equal([
      ['fail', [0]],
      ['fail', [1]],
      ['pass', []],
    ]);
  });

  it('make a check that throws something other than an assertion an error, not a leak', () => {
    const r = run({ marks: [consent('cloud', 100)], findings: [] });
    const [broken] = evaluateChecks(
      {
        broken: () => {
          throw new TypeError('run.findngs is undefined');
        },
      },
      r,
    );
    expect([broken!.status, broken!.message]).to.deep.equal([
      'error',
      'the check threw: TypeError: run.findngs is undefined',
    ]);
  });

  it('are inconclusive, not passed, when TLS before consent could not be read', () => {
    const r = run({
      marks: [step('boot', 0), consent('cloud', 100)],
      findings: [],
      tls: [{ at: T0 + 20, host: 'pinned.example', cause: 'tls-reset' }],
    });
    const [leaks] = evaluateChecks(checks, r);
    expect(leaks!.status).to.equal('inconclusive');
    expect(leaks!.message).to.match(
      /^inconclusive: 1 TLS connection\(s\) before consent 'cloud' could not be read \(pinned\.example\)/,
    );
  });
});
