import type { PhoneActions } from '../device/device.ts';
import { PhonehomeError } from '../errors.ts';
import type { ConsentDeclaration, Mark } from '../types.ts';
import type { CanaryMaker } from './canary.ts';

/**
 * What a scenario's `steps` receive: the user actions of the device, plus `step` and `consent`
 * to put marks on the timeline, and `canary` to plant unique values. After every step and consent
 * the harness waits for the phone's traffic to go quiet, so each exchange lands in the phase of
 * the action that caused it.
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
  private readonly mark: (mark: Mark) => void;
  private readonly settle: () => Promise<void>;
  private readonly onStep: (name: string, consent: boolean) => void;
  private readonly waitFor: (options: {
    host?: string;
    since: number;
    timeoutMs: number;
  }) => Promise<void>;
  /** When the current step (or consent) began: what waitForTraffic looks back to. */
  private stepStartedAt = Date.now();

  constructor(options: {
    driver: WebdriverIO.Browser;
    waitFor: (options: { host?: string; since: number; timeoutMs: number }) => Promise<void>;
    actions: PhoneActions;
    consents: ConsentDeclaration[];
    canary: CanaryMaker;
    mark: (mark: Mark) => void;
    settle: () => Promise<void>;
    onStep?: (name: string, consent: boolean) => void;
  }) {
    this.driver = options.driver;
    this.waitFor = options.waitFor;
    this.actions = options.actions;
    this.consents = options.consents;
    this.canary = options.canary;
    this.mark = options.mark;
    this.settle = options.settle;
    this.onStep = options.onStep ?? (() => {});
  }

  /** Marks a step, runs it, and waits for the phone's traffic to settle. */
  async step(name: string, action?: () => Promise<unknown>): Promise<void> {
    this.onStep(name, false);
    this.stepStartedAt = Date.now();
    this.mark({ type: 'step', name, at: this.stepStartedAt });
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
    this.mark({ type: 'step', name: `consent: ${name}`, at });
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

  insertSim = () => this.actions.insertSim();
  setWifi = (on: boolean) => this.actions.setWifi(on);
  allowLocation = () => this.actions.allowLocation();
  setLocation = (latitude: number, longitude: number) =>
    this.actions.setLocation(latitude, longitude);
  addContact = (name: string, phoneNumber: string) => this.actions.addContact(name, phoneNumber);
  receiveSms = (from: string, text: string) => this.actions.receiveSms(from, text);
  sendSms = (to: string, text: string) => this.actions.sendSms(to, text);
  receiveMms = (from: string, text: string) => this.actions.receiveMms(from, text);
  sendMms = (to: string, text: string) => this.actions.sendMms(to, text);
  receiveCall = (from: string) => this.actions.receiveCall(from);
  makeCall = (to: string) => this.actions.makeCall(to);
  cloudLogin = (account: string) => this.actions.cloudLogin(account);
  setSetting = (name: string, on: boolean) => this.actions.setSetting(name, on);
}
