import * as chai from 'chai';
import type { RunResult } from '../scenario/result.ts';
import { covers } from '../timeline/timeline.ts';
import type { Verdict } from '../types.ts';
import { contactsBeforeConsent, describeContacts, describeLeaks } from './judge.ts';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Chai {
    interface Assertion {
      /**
       * Fails when an identifier left the phone before the consent covering it (or before
       * `consent`, when named). Fails as inconclusive when TLS before that consent was unreadable.
       */
      noLeaksBeforeConsent(consent?: string): Assertion;
      /** Fails when `host` (or a subdomain) was contacted before the first consent. */
      noContactBeforeConsent(host: string): Assertion;
    }
  }
}

/** An assertion that could not decide (unreadable traffic): it fails, and says it is inconclusive. */
function inconclusive(message: string): Error {
  return Object.assign(new chai.AssertionError(message), { inconclusive: true });
}

const phonehomeAssertions: Chai.ChaiPlugin = (api, utils) => {
  api.Assertion.addMethod(
    'noLeaksBeforeConsent',
    function (this: Chai.AssertionStatic, consent?: string) {
      const run = utils.flag(this, 'object') as RunResult;
      const declared = consent ? run.consents.filter((c) => c.name === consent) : run.consents;
      if (consent && declared.length === 0) {
        throw new chai.AssertionError(
          `the scenario declares no consent '${consent}' (declared: ${run.consents.map((c) => c.name).join(', ')})`,
        );
      }
      const leaks = run.findings.filter(
        (finding) =>
          finding.beforeConsent &&
          (declared.length === 0 || declared.some((c) => covers(c, finding.kind))),
      );
      if (leaks.length > 0) {
        throw new chai.AssertionError(
          describeLeaks(leaks, consent ?? declared.map((c) => c.name).join("', '")),
        );
      }
      const blind = run.verdicts.find(
        (verdict) =>
          verdict.status === 'inconclusive' && (!consent || verdict.name.includes(`'${consent}'`)),
      );
      if (blind) throw inconclusive(blind.message);
    },
  );

  api.Assertion.addMethod(
    'noContactBeforeConsent',
    function (this: Chai.AssertionStatic, host: string) {
      const run = utils.flag(this, 'object') as RunResult;
      const early = contactsBeforeConsent(run.contacts, run.marks, [host]);
      if (early.length > 0) {
        throw new chai.AssertionError(
          `${host} was contacted before consent:\n${describeContacts(early)}`,
        );
      }
    },
  );
};

chai.use(phonehomeAssertions);

/** chai's expect with phonehome's assertions installed. */
export const expect = chai.expect;

/** Runs a scenario's named checks over a result; an assertion error becomes a failed verdict. */
export function evaluateChecks(
  checks: Record<string, (run: RunResult) => void>,
  run: RunResult,
): Verdict[] {
  return Object.entries(checks).map(([name, check]) => {
    try {
      check(run);
      return { name, status: 'pass', message: '' };
    } catch (error) {
      const unsure = (error as { inconclusive?: boolean }).inconclusive === true;
      return {
        name,
        status: unsure ? 'inconclusive' : 'fail',
        message: (error as Error).message,
      };
    }
  });
}
