import type { FirmwareProfile, PhoneEvent, RequestRule, TemplateValues } from './firmware.ts';
import { render } from './firmware.ts';
import type { IncomingResponse, OutgoingRequest } from './network.ts';

/** How the phone's requests leave it: through its system proxy, or its own network (netns.ts). */
export type Transmit = (request: OutgoingRequest) => Promise<IncomingResponse>;

/** The phone's own hardware and SIM: identifier values by kind, as in devices.json. */
export type Hardware = Partial<Record<string, string[]>>;

export interface Contact {
  name: string;
  number: string;
}

/** What the phone did with one request, for the driver's log and `mobile: networkLog`. */
export interface SentRequest {
  event: PhoneEvent;
  method: string;
  url: string;
  status?: number;
  error?: string;
}

/**
 * The virtual phone's state — SIM, Wi-Fi, location, contacts, messages, calls, cloud account and
 * settings — changed by user actions. Each change fires an event; the firmware decides which
 * requests that event causes. Requests made while the phone has no network wait, as a real sync
 * service would, and go out when the SIM or Wi-Fi brings the network up; `boot` requests go out
 * at boot (see `boot`).
 */
export class VirtualPhone {
  readonly hardware: Hardware;
  readonly firmware: FirmwareProfile;
  readonly contacts: Contact[] = [];
  readonly messages: {
    direction: 'in' | 'out';
    kind: 'sms' | 'mms';
    number: string;
    text: string;
  }[] = [];
  readonly calls: { direction: 'in' | 'out'; number: string }[] = [];
  readonly sent: SentRequest[] = [];
  readonly settings: Record<string, boolean>;
  simInserted = false;
  wifi = false;
  gps = false;
  location?: { latitude: number; longitude: number };
  cloudAccount?: string;
  private readonly transmit: Transmit;
  private queue: { event: PhoneEvent; rule: RequestRule; values: TemplateValues }[] = [];

  constructor(hardware: Hardware, firmware: FirmwareProfile, transmit: Transmit) {
    this.hardware = hardware;
    this.firmware = firmware;
    this.settings = { ...firmware.settings };
    this.transmit = transmit;
  }

  /**
   * The phone's browser opening a link (an intent's VIEW of an http(s) URL): one GET over the
   * phone's route, as its apps' requests go. The link to the route (the proxy, the network
   * namespace) is up from power on, as `adb reverse` is on a phone on USB, so it goes out
   * whether or not the SIM or Wi-Fi is on yet.
   */
  async openUrl(url: string): Promise<IncomingResponse> {
    return await this.transmit({
      method: 'GET',
      url,
      headers: { 'user-agent': 'phonehome-virtual-phone browser', accept: 'text/html,*/*' },
    });
  }

  get online(): boolean {
    return this.wifi || this.simInserted;
  }

  /**
   * Sends the firmware's `boot` requests while the session opens, before any step, network or
   * not: they model what a phone sends the moment it is first online after power-on, which no
   * user action causes. Held back until a SIM or Wi-Fi, they would land in that step and read as
   * caused by it.
   */
  async boot(): Promise<void> {
    await this.fire('boot', {}, { online: true });
  }

  async insertSim(): Promise<void> {
    this.simInserted = true;
    await this.flush();
    await this.fire('sim-inserted');
  }

  async setWifi(on: boolean): Promise<void> {
    const was = this.wifi;
    this.wifi = on;
    if (on && !was) {
      await this.flush();
      await this.fire('wifi-connected');
    }
  }

  async setGps(on: boolean): Promise<void> {
    const was = this.gps;
    this.gps = on;
    if (on && !was) await this.fire('gps-enabled');
  }

  async setLocation(latitude: number, longitude: number): Promise<void> {
    this.location = { latitude, longitude };
    if (this.gps) await this.fire('location-changed');
  }

  async addContact(contact: Contact): Promise<void> {
    this.contacts.push(contact);
    await this.fire('contact-added', {
      'event.name': contact.name,
      'event.number': contact.number,
    });
  }

  async message(
    direction: 'in' | 'out',
    kind: 'sms' | 'mms',
    number: string,
    text: string,
  ): Promise<void> {
    this.messages.push({ direction, kind, number, text });
    const event = `${kind}-${direction === 'in' ? 'received' : 'sent'}` as PhoneEvent;
    await this.fire(event, {
      'event.number': number,
      'event.text': text,
      'event.name': this.nameOf(number),
    });
  }

  async call(direction: 'in' | 'out', number: string): Promise<void> {
    this.calls.push({ direction, number });
    const event: PhoneEvent = direction === 'in' ? 'call-incoming' : 'call-outgoing';
    await this.fire(event, { 'event.number': number, 'event.name': this.nameOf(number) });
  }

  async cloudLogin(account: string): Promise<void> {
    this.cloudAccount = account;
    await this.fire('cloud-login');
  }

  async setSetting(name: string, value: boolean): Promise<void> {
    // A setting the firmware does not have would be accepted and change nothing: a scenario
    // toggling it would pass on a phone it does not fit.
    if (!Object.hasOwn(this.firmware.settings, name)) {
      const known = Object.keys(this.firmware.settings);
      throw new Error(
        `the firmware '${this.firmware.name}' has no setting '${name}'; its settings: ${known.join(', ') || '(none)'}`,
      );
    }
    const was = this.settings[name];
    this.settings[name] = value;
    if (was !== value) await this.fire(`setting-${value ? 'enabled' : 'disabled'}:${name}`);
  }

  /** Every request the firmware makes for this event, in profile order, each awaited. */
  private async fire(
    event: PhoneEvent,
    extra: TemplateValues = {},
    options: { online?: boolean } = {},
  ): Promise<void> {
    const values = { ...this.values(), ...extra };
    for (const rule of this.firmware.requests) {
      if (rule.on !== event || !this.allows(rule)) continue;
      if (this.online || options.online) await this.deliver(event, rule, values);
      else this.queue.push({ event, rule, values });
    }
  }

  private async flush(): Promise<void> {
    const waiting = this.queue;
    this.queue = [];
    for (const item of waiting) await this.deliver(item.event, item.rule, item.values);
  }

  private async deliver(
    event: PhoneEvent,
    rule: RequestRule,
    values: TemplateValues,
  ): Promise<void> {
    const request = render(rule, values, this.firmware.keys);
    const record: SentRequest = { event, method: request.method, url: request.url };
    this.sent.push(record);
    try {
      record.status = (await this.transmit(request)).status;
    } catch (error) {
      // A phone whose request fails goes on working; the failure is kept for the network log.
      record.error = (error as Error).message;
    }
  }

  private allows(rule: RequestRule): boolean {
    const when = rule.when;
    if (!when) return true;
    for (const [name, wanted] of Object.entries(when.settings ?? {})) {
      if ((this.settings[name] ?? false) !== wanted) return false;
    }
    if (when.cloudAccount !== undefined && (this.cloudAccount !== undefined) !== when.cloudAccount)
      return false;
    return true;
  }

  private values(): TemplateValues {
    const first = (kind: string, index = 0) => this.hardware[kind]?.[index];
    return {
      imei: first('imei'),
      imei2: first('imei', 1),
      imsi: first('imsi'),
      iccid: first('iccid'),
      msisdn: first('msisdn'),
      operator: first('operator'),
      serial: first('serial'),
      android_id: first('android_id'),
      wifi_mac: first('wifi_mac'),
      account: this.cloudAccount,
      'location.lat': this.location?.latitude.toFixed(6),
      'location.lon': this.location?.longitude.toFixed(6),
    };
  }

  private nameOf(number: string): string {
    return this.contacts.find((contact) => contact.number === number)?.name ?? '';
  }
}
