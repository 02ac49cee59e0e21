import * as chai from 'chai';
import type { IdentifierKind, JudgedFinding, RunResult } from '../types.ts';
import {
  contactsBeforeConsent,
  describeContacts,
  describeLeaks,
  hostMatches,
  type CheckFailure,
} from './judge.ts';

/** Narrows `noLeaksBeforeConsent` to one consent, some kinds, some hosts. */
export interface LeakFilter {
  consent?: string;
  kinds?: IdentifierKind[];
  /** Hosts, each also matching its subdomains ("xiaomi.com" matches api.account.xiaomi.com). */
  hosts?: string[];
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Chai {
    interface Assertion {
      /**
       * Fails when an identifier left the phone before the consent that judges it — the run's
       * consent verdicts, read as they are (narrowed to one consent, kinds or hosts when given).
       * Fails as inconclusive when that consent's verdict could not see.
       */
      noLeaksBeforeConsent(filter?: string | LeakFilter): Assertion;
      /** Fails when `host` (or a subdomain) was contacted before the first consent. */
      noContactBeforeConsent(host: string): Assertion;
      /** Fails when `host` (or a subdomain) was contacted at all, at any moment of the run. */
      noContact(host: string): Assertion;
      /**
       * Fails when an identifier sent after its consent went to a host not in `hosts` (each also
       * matching its subdomains): consent to Cloud Messaging is no consent to an ad network.
       * Narrowed to one consent when `consent` is given.
       */
      onlyHostsAfterConsent(hosts: string[], consent?: string): Assertion;
    }
  }
}

/** An assertion error that carries the evidence it rests on, for the check's verdict. */
function failure(message: string, detail: Partial<CheckFailure>): Error {
  return Object.assign(new chai.AssertionError(message), detail);
}

const phonehomeAssertions: Chai.ChaiPlugin = (api, utils) => {
  api.Assertion.addMethod(
    'noLeaksBeforeConsent',
    function (this: Chai.AssertionStatic, filter?: string | LeakFilter) {
      const run = utils.flag(this, 'object') as RunResult;
      const wanted: LeakFilter = typeof filter === 'string' ? { consent: filter } : (filter ?? {});
      let verdicts = run.verdicts.filter((v) => v.rule === 'consent');
      if (wanted.consent !== undefined) {
        verdicts = verdicts.filter((v) => v.consent === wanted.consent);
        if (verdicts.length === 0) {
          throw new chai.AssertionError(
            `the scenario declares no consent '${wanted.consent}' (declared: ${run.consents.map((c) => c.name).join(', ')})`,
          );
        }
      }
      const leaks = verdicts
        .flatMap((verdict) => verdict.findings.map((id) => run.findings[id] as JudgedFinding))
        .filter(
          (f) =>
            (!wanted.kinds || wanted.kinds.includes(f.kind)) &&
            (!wanted.hosts || wanted.hosts.some((host) => hostMatches(f.host, host))),
        );
      if (leaks.length > 0) {
        const byConsent = new Map<string, JudgedFinding[]>();
        for (const leak of leaks)
          byConsent.set(leak.consent!, [...(byConsent.get(leak.consent!) ?? []), leak]);
        throw failure(
          [...byConsent].map(([consent, own]) => describeLeaks(own, consent)).join('\n'),
          { evidence: { findings: leaks.map((f) => f.id) } },
        );
      }
      const blind = verdicts.find((verdict) => verdict.status === 'inconclusive');
      if (blind) {
        throw failure(blind.message, {
          inconclusive: true,
          evidence: { unreadable: blind.unreadable },
        });
      }
    },
  );

  api.Assertion.addMethod(
    'noContactBeforeConsent',
    function (this: Chai.AssertionStatic, host: string) {
      const run = utils.flag(this, 'object') as RunResult;
      const early = contactsBeforeConsent(run.contacts, run.marks, [host]);
      if (early.length > 0) {
        throw failure(`${host} was contacted before consent:\n${describeContacts(early)}`, {
          evidence: { contacts: early.map((contact) => run.contacts.indexOf(contact)) },
        });
      }
    },
  );

  api.Assertion.addMethod('noContact', function (this: Chai.AssertionStatic, host: string) {
    const run = utils.flag(this, 'object') as RunResult;
    const seen = run.contacts.filter((contact) => hostMatches(contact.host, host));
    if (seen.length > 0) {
      throw failure(`${host} was contacted:\n${describeContacts(seen)}`, {
        evidence: { contacts: seen.map((contact) => run.contacts.indexOf(contact)) },
      });
    }
  });

  api.Assertion.addMethod(
    'onlyHostsAfterConsent',
    function (this: Chai.AssertionStatic, hosts: string[], consent?: string) {
      const run = utils.flag(this, 'object') as RunResult;
      const elsewhere = run.findings.filter(
        (f) =>
          f.consent !== undefined &&
          !f.beforeConsent &&
          (consent === undefined || f.consent === consent) &&
          !hosts.some((host) => hostMatches(f.host, host)),
      );
      if (elsewhere.length > 0) {
        const lines = elsewhere.map(
          (f) =>
            `  - ${f.label} (${f.kind}) sent to ${f.host} after consent '${f.consent}' during step '${f.step}' in ${f.where}`,
        );
        throw failure(
          `identifiers went after consent to hosts other than ${hosts.join(', ')}:\n${lines.join('\n')}`,
          { evidence: { findings: elsewhere.map((f) => f.id) } },
        );
      }
    },
  );
};

chai.use(phonehomeAssertions);
// Failure messages show the whole value (findings, verdicts and contacts inspect as one readable
// line each), not chai's 40-character cut "[ Array(3) ]".
chai.config.truncateThreshold = 0;

/** chai's expect with phonehome's assertions installed. */
export const expect = chai.expect;
