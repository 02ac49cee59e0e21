import type { CannedResponse } from '../capture/session.ts';
import type { DeviceKind } from '../config/devices.ts';
import type { Check, ConsentDeclaration, IdentifierKind, OpaqueException } from '../types.ts';
import { checkOpaqueExceptions } from '../verdict/opaque-exceptions.ts';
import type { ScenarioPhone } from './phone.ts';

/**
 * The devices a scenario is meant for. Each list given must hold (a device id in `devices`, its
 * kind in `kinds`, its firmware profile in `firmware`); a run on a device that does not fit is
 * refused before anything touches a phone.
 */
export interface ScenarioTarget {
  /** Device ids from devices.json. */
  devices?: string[];
  /** Device kinds: virtual, android, remote. */
  kinds?: DeviceKind[];
  /** The virtual phone's firmware profiles (`appium:firmware`, or a `appium:firmwareFile` path). */
  firmware?: string[];
}

/**
 * An audit scenario: the user actions to take, the consents among them, and the checks. A
 * scenario file default-exports one; `npm test` runs it as a mocha suite on the chosen device,
 * `phonehome run` on any devices.
 */
export interface ScenarioDefinition {
  /** kebab-case id, used in report folder names. */
  name: string;
  /** One line for people. */
  title: string;
  /** Consents the scenario gives, with the identifier kinds each covers ('all' by default). */
  consents: { name: string; covers?: IdentifierKind[] | 'all' }[];
  /** Hosts the phone must not contact before the first consent, readable or not. */
  forbiddenHosts?: string[];
  /**
   * Opaque parts (bytes that look encrypted) someone reviewed and declared harmless: a matching
   * part is a note with the reason, not an inconclusive verdict (docs/scenarios.md).
   */
  opaqueExceptions?: OpaqueException[];
  /** Canned answers for the vendor hosts the phone calls (the run has no internet). */
  answers?: Record<string, CannedResponse>;
  /** The devices it is meant for; absent, any. A run on another is refused (exit 2). */
  meantFor?: ScenarioTarget;
  /**
   * The consent settings its steps switch (`phone.setSetting`): a device that cannot switch one
   * (a firmware without it, an android phone without its taps) is refused before the run, and
   * `setSetting` of a setting not listed here is an error.
   */
  settings?: string[];
  /** The user actions, in order. */
  steps(phone: ScenarioPhone): Promise<void>;
  /**
   * Named checks beyond the built-in verdicts (one per consent, one for the forbidden hosts),
   * e.g. a per-host rule; each becomes a mocha test and a verdict. A check that restates a
   * consent verdict would fail the same leak twice: leave that to the built-in verdict.
   */
  checks?: Record<string, Check>;
}

export interface Scenario extends ScenarioDefinition {
  consents: ConsentDeclaration[];
  checks: Record<string, Check>;
  /** The file it was loaded from, relative to the project (set by importScenario and mocha). */
  file?: string;
}

/** Mocha registration, set by src/scenario/mocha.ts when the file runs under mocha. */
let register: ((scenario: Scenario) => void) | undefined;

export function onScenarioDefined(registrar: (scenario: Scenario) => void): void {
  register = registrar;
}

/**
 * Declares a scenario. Under mocha (npm test) it also registers the suite, so a scenario file is
 * both a test file and a module `phonehome run` can import.
 *
 * @example
 *   export default defineScenario({
 *     name: 'cloud-opt-in', title: 'Nothing leaves before Cloud opt-in',
 *     consents: [{ name: 'cloud' }],
 *     async steps(phone) { await phone.step('insert SIM', () => phone.insertSim()); … },
 *     checks: { 'no IMEI to mistat': (run) => expect(run).to.have.noLeaksBeforeConsent({ kinds: ['imei'], hosts: ['mistat.xiaomi.com'] }) },
 *   });
 */
export function defineScenario(definition: ScenarioDefinition): Scenario {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(definition.name)) {
    throw new Error(
      `scenario name '${definition.name}' must be kebab-case (a-z, 0-9, -): it names report folders`,
    );
  }
  checkNames(definition.name, 'settings', definition.settings);
  for (const field of ['devices', 'kinds', 'firmware'] as const)
    checkNames(definition.name, `meantFor.${field}`, definition.meantFor?.[field]);
  const kinds: readonly string[] = ['virtual', 'android', 'remote'];
  const unknownKind = definition.meantFor?.kinds?.find((kind) => !kinds.includes(kind));
  if (unknownKind !== undefined) {
    throw new Error(
      `scenario '${definition.name}': meantFor.kinds names '${unknownKind}'; kinds: ${kinds.join(', ')}`,
    );
  }
  checkOpaqueExceptions(definition.opaqueExceptions, `scenario '${definition.name}'`);
  const scenario: Scenario = {
    ...definition,
    checks: definition.checks ?? {},
    consents: definition.consents.map((consent) => ({
      name: consent.name,
      covers: consent.covers ?? 'all',
    })),
  };
  register?.(scenario);
  return scenario;
}

/** A list of names in a definition: absent, or non-empty strings, at least one. */
function checkNames(scenario: string, field: string, names: unknown): void {
  if (names === undefined) return;
  if (
    !Array.isArray(names) ||
    names.length === 0 ||
    names.some((name) => typeof name !== 'string' || name === '')
  ) {
    throw new Error(
      `scenario '${scenario}': ${field} must be a non-empty list of names, e.g. ['cloud-messaging']; leave it out to mean any`,
    );
  }
}
