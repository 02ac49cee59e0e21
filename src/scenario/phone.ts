import type { ActionResult, PhoneActions } from '../device/device.ts';
import { PhonehomeError } from '../errors.ts';
import type { ConsentDeclaration, IdentifierKind, IdentifierValues, Mark } from '../types.ts';
import type { CanaryMaker } from './canary.ts';

/** A value an action shows the phone, as an identifier kind and the value. */
type Shown = [kind: IdentifierKind, value: string];

/**
 * What a scenario's `steps` receive: the user actions of the device, plus `step` and `consent`
 * to put marks on the timeline, and `canary` to plant unique values. After every step and consent
 * the harness waits for the phone's traffic to go quiet, so each exchange lands in the phase of
 * the action that caused it. Every value an action shows the phone — the numbers, names, texts,
 * account and location given to it, and what the device says the phone saw instead (a peer's
 * real number) — is journalled as an identifier of the run before it can leave the phone, canary
 * or not: what the phone was shown is what it must not send.
 *
 * @example
 *   await phone.step('add a contact', () => phone.addContact(phone.canary.name(), phone.canary.phoneNumber()));
 *   await phone.consent('cloud-messaging', () => phone.setSetting('cloud-messaging', true));
 */
export class ScenarioPhone implements PhoneActions {
  readonly canary: CanaryMaker;
  /**
   * The run's WebdriverIO session, for what the user actions do not cover: tapping through a
   * vendor's setup wizard or an app's consent dialog (`await phone.driver.$('~Agree').click()`).
   * On Android phones and remote farms it is a UiAutomator2 session; on the virtual phone, its
   * driver's `mobile:` commands (`phone.driver.execute('mobile: …', {…})`).
   */
  readonly driver: WebdriverIO.Browser;
  private readonly actions: PhoneActions;
  private readonly consents: ConsentDeclaration[];
  private readonly settings: string[] | undefined;
  private readonly mark: (mark: Mark) => void;
  private readonly plant: (values: IdentifierValues) => void;
  private readonly settle: () => Promise<void>;
  private readonly onStep: (name: string, consent: boolean) => void;
  private readonly waitFor: (options: {
    host?: string;
    since: number;
    timeoutMs: number;
  }) => Promise<void>;
  /** When the current step (or consent) began: what waitForTraffic looks back to. */
  private stepStartedAt = Date.now();
  /** The current step's mark: a skipped action restates it with why. */
  private currentStep: Mark | undefined;

  constructor(options: {
    driver: WebdriverIO.Browser;
    waitFor: (options: { host?: string; since: number; timeoutMs: number }) => Promise<void>;
    actions: PhoneActions;
    consents: ConsentDeclaration[];
    /** The settings the scenario declared it switches; absent, any. */
    settings?: string[];
    canary: CanaryMaker;
    mark: (mark: Mark) => void;
    /** Journals values the phone was shown as identifiers of the run (source `planted`). */
    plant: (values: IdentifierValues) => void;
    settle: () => Promise<void>;
    onStep?: (name: string, consent: boolean) => void;
    /** The step in effect before the scenario's first (the run's `boot`). */
    currentStep?: Mark;
  }) {
    this.driver = options.driver;
    this.waitFor = options.waitFor;
    this.actions = options.actions;
    this.consents = options.consents;
    this.settings = options.settings;
    this.canary = options.canary;
    this.mark = options.mark;
    this.plant = options.plant;
    this.settle = options.settle;
    this.onStep = options.onStep ?? (() => {});
    this.currentStep = options.currentStep;
  }

  /** Marks a step, runs it, and waits for the phone's traffic to settle. */
  async step(name: string, action?: () => Promise<unknown>): Promise<void> {
    this.onStep(name, false);
    this.stepStartedAt = Date.now();
    this.currentStep = { type: 'step', name, at: this.stepStartedAt };
    this.mark(this.currentStep);
    await action?.();
    await this.settle();
  }

  /**
   * Marks a consent as given at the moment the user gives it (before the action, so the phone's
   * reaction to the toggle counts as after consent), runs the action, and waits to settle.
   */
  async consent(name: string, action: () => Promise<unknown>): Promise<void> {
    const declared = this.consents.find((consent) => consent.name === name);
    if (!declared) {
      throw new PhonehomeError(
        'CONSENT_UNDECLARED',
        `consent '${name}' is not declared in the scenario's consents (${this.consents.map((c) => c.name).join(', ') || 'none'}); add it there with the kinds it covers`,
      );
    }
    this.onStep(name, true);
    const at = Date.now();
    this.stepStartedAt = at;
    this.currentStep = { type: 'step', name: `consent: ${name}`, at };
    this.mark(this.currentStep);
    this.mark({ type: 'consent', name, at, covers: declared.covers });
    await action();
    await this.settle();
  }

  /**
   * Waits until the phone has sent a request to `host` (or a subdomain; any host when absent)
   * since the current step began — one that already landed counts — on top of the automatic
   * settle. Rejects after `timeoutMs` (default 30 s), naming the host: the run then errors.
   *
   * @example
   *   await phone.step('open the gallery', () => phone.driver.$('~Gallery').click());
   *   await phone.waitForTraffic({ host: 'data.mistat.xiaomi.com', timeoutMs: 60_000 });
   */
  waitForTraffic(options: { host?: string; timeoutMs?: number } = {}): Promise<void> {
    return this.waitFor({
      ...(options.host !== undefined ? { host: options.host } : {}),
      since: this.stepStartedAt,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  }

  insertSim = () => this.act([], () => this.actions.insertSim());
  setWifi = (on: boolean) => this.act([], () => this.actions.setWifi(on));
  allowLocation = () => this.act([], () => this.actions.allowLocation());
  setLocation = (latitude: number, longitude: number) =>
    this.act([['location', `${latitude},${longitude}`]], () =>
      this.actions.setLocation(latitude, longitude),
    );
  addContact = (name: string, phoneNumber: string) =>
    this.act(
      [
        ['contact_name', name],
        ['contact_number', phoneNumber],
      ],
      () => this.actions.addContact(name, phoneNumber),
    );
  receiveSms = (from: string, text: string) =>
    this.act(message(from, text), () => this.actions.receiveSms(from, text));
  sendSms = (to: string, text: string) =>
    this.act(message(to, text), () => this.actions.sendSms(to, text));
  receiveMms = (from: string, text: string) =>
    this.act(message(from, text), () => this.actions.receiveMms(from, text));
  sendMms = (to: string, text: string) =>
    this.act(message(to, text), () => this.actions.sendMms(to, text));
  receiveCall = (from: string) =>
    this.act([['contact_number', from]], () => this.actions.receiveCall(from));
  makeCall = (to: string) => this.act([['contact_number', to]], () => this.actions.makeCall(to));
  cloudLogin = (account: string) =>
    this.act([['email', account]], () => this.actions.cloudLogin(account));
  setSetting = (name: string, on: boolean) => {
    if (this.settings && !this.settings.includes(name)) {
      // The declaration is what the run was checked against: a setting outside it was never checked.
      return Promise.reject(
        new PhonehomeError(
          'SCENARIO_SETTING_UNDECLARED',
          `setting '${name}' is not in the scenario's settings (${this.settings.join(', ')}); add it there, so that devices without it are refused before the run`,
        ),
      );
    }
    return this.act([], () => this.actions.setSetting(name, on));
  };

  /**
   * Runs one action: what it is given is journalled first (a run killed mid-action still searches
   * it), then what the device says the phone saw instead, and whether it did nothing: the
   * current step's mark is then restated with why (several skipped actions: each reason).
   */
  private async act(shown: Shown[], action: () => ActionResult): Promise<void> {
    this.plant(values(shown));
    const outcome = await action();
    if (!outcome) return;
    this.plant(values((outcome.planted ?? []).map(({ kind, value }): Shown => [kind, value])));
    if (outcome.skipped && this.currentStep) {
      const { skipped } = this.currentStep;
      this.currentStep = {
        ...this.currentStep,
        skipped: skipped ? `${skipped}; ${outcome.skipped}` : outcome.skipped,
      };
      this.mark(this.currentStep);
    }
  }
}

function message(number: string, text: string): Shown[] {
  return [
    ['contact_number', number],
    ['sms_text', text],
  ];
}

function values(shown: Shown[]): IdentifierValues {
  const grouped: IdentifierValues = {};
  for (const [kind, value] of shown) if (value !== '') (grouped[kind] ??= []).push(value);
  return grouped;
}
