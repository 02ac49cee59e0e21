import { BaseDriver, errors } from 'appium/driver.js';
import { listFirmware, loadFirmware, loadFirmwareFile } from './firmware.ts';
import { send } from './network.ts';
import { NamespaceRadio } from './netns.ts';
import { VirtualPhone, type Hardware, type Transmit } from './phone.ts';

/**
 * Capabilities the virtual phone takes (they arrive with the `appium:` prefix removed):
 * - firmware: the profile name (see ../firmware/), or
 * - firmwareFile: the path of a profile file of one's own (the same format), instead
 * - proxy: the phone's system proxy, e.g. http://127.0.0.1:8123, or instead
 * - networkNamespace and dnsServer: no proxy; the phone is on the network of this Linux network
 *   namespace (whose way out is a gateway, e.g. phonehome's gateway route) and uses this DNS server
 * - caCertificate: PEM of the CA the phone trusts besides none (it has no public roots: the run
 *   has no internet)
 * - hardware: identifier values by kind, e.g. { "imei": ["865…"], "msisdn": ["+86…"] }
 */
const CONSTRAINTS = {
  firmware: { isString: true },
  firmwareFile: { isString: true },
  proxy: { isString: true },
  networkNamespace: { isString: true },
  dnsServer: { isString: true },
  caCertificate: { presence: true, isString: true },
  hardware: { isObject: true },
  requestTimeout: { isNumber: true },
} as const;

type Constraints = typeof CONSTRAINTS;

/**
 * The built-in virtual phone, an Appium 3 driver. Its commands are `mobile:` methods named like
 * UiAutomator2's where one exists (setConnectivity, setGeolocation, toggleGps, sendSms, gsmCall),
 * so a scenario drives it the way it drives a real phone. It is a model for running phonehome
 * without hardware, not the product.
 */
export class VirtualPhoneDriver extends BaseDriver<Constraints> {
  static executeMethodMap = {
    'mobile: deviceInfo': { command: 'mobileDeviceInfo' },
    'mobile: insertSim': { command: 'mobileInsertSim' },
    'mobile: setConnectivity': {
      command: 'mobileSetConnectivity',
      params: { optional: ['wifi', 'data', 'airplaneMode'] },
    },
    'mobile: isGpsEnabled': { command: 'mobileIsGpsEnabled' },
    'mobile: toggleGps': { command: 'mobileToggleGps' },
    'mobile: setGeolocation': {
      command: 'mobileSetGeolocation',
      params: { required: ['latitude', 'longitude'], optional: ['altitude'] },
    },
    'mobile: addContact': {
      command: 'mobileAddContact',
      params: { required: ['name', 'phoneNumber'] },
    },
    'mobile: sendSms': {
      command: 'mobileSendSms',
      params: { required: ['phoneNumber', 'message'] },
    },
    'mobile: composeMessage': {
      command: 'mobileComposeMessage',
      params: { required: ['phoneNumber', 'message'], optional: ['mms'] },
    },
    'mobile: receiveMms': {
      command: 'mobileReceiveMms',
      params: { required: ['phoneNumber', 'message'] },
    },
    'mobile: gsmCall': {
      command: 'mobileGsmCall',
      params: { required: ['phoneNumber', 'action'] },
    },
    'mobile: dial': { command: 'mobileDial', params: { required: ['phoneNumber'] } },
    'mobile: cloudLogin': { command: 'mobileCloudLogin', params: { required: ['account'] } },
    'mobile: setSetting': { command: 'mobileSetSetting', params: { required: ['name', 'value'] } },
    'mobile: getSettings': { command: 'mobileGetSettings' },
    'mobile: networkLog': { command: 'mobileNetworkLog' },
    'mobile: deepLink': {
      command: 'mobileDeepLink',
      params: { required: ['url'], optional: ['package', 'waitForLaunch'] },
    },
  } as const;

  override desiredCapConstraints = CONSTRAINTS;
  private phone?: VirtualPhone;
  private radio?: NamespaceRadio;

  override async createSession(...args: Parameters<BaseDriver<Constraints>['createSession']>) {
    const result = await super.createSession(...args);
    const caps = this.opts as unknown as {
      firmware?: string;
      firmwareFile?: string;
      proxy?: string;
      networkNamespace?: string;
      dnsServer?: string;
      caCertificate: string;
      hardware?: Hardware;
      requestTimeout?: number;
    };
    let firmware;
    try {
      if ((caps.firmware === undefined) === (caps.firmwareFile === undefined)) {
        throw new Error(
          'give the virtual phone one of appium:firmware (a shipped profile) or appium:firmwareFile (a file of your own)',
        );
      }
      firmware =
        caps.firmwareFile !== undefined
          ? loadFirmwareFile(caps.firmwareFile)
          : loadFirmware(caps.firmware!);
      if ((caps.proxy === undefined) === (caps.networkNamespace === undefined)) {
        throw new Error(
          'give the virtual phone one of appium:proxy (its system proxy) or appium:networkNamespace with appium:dnsServer (the network it is on, with no proxy)',
        );
      }
      if (caps.networkNamespace !== undefined && caps.dnsServer === undefined) {
        throw new Error(
          'appium:networkNamespace needs appium:dnsServer: the DNS server its network hands out',
        );
      }
    } catch (error) {
      await super.deleteSession();
      throw new errors.SessionNotCreatedError((error as Error).message);
    }
    const timeoutMs = caps.requestTimeout ?? 10_000;
    let transmit: Transmit;
    if (caps.proxy !== undefined) {
      const route = { proxyUrl: caps.proxy, trustedCa: caps.caCertificate, timeoutMs };
      transmit = (request) => send(request, route);
    } else {
      try {
        this.radio = await NamespaceRadio.start(caps.networkNamespace!, {
          dnsServer: caps.dnsServer!,
          trustedCa: caps.caCertificate,
          timeoutMs,
        });
      } catch (error) {
        await super.deleteSession();
        throw new errors.SessionNotCreatedError((error as Error).message);
      }
      const radio = this.radio;
      transmit = (request) => radio.send(request);
    }
    this.phone = new VirtualPhone(caps.hardware ?? {}, firmware, transmit);
    await this.phone.boot();
    return result;
  }

  override async deleteSession(sessionId?: string | null): Promise<void> {
    this.phone = undefined;
    await this.radio?.stop();
    this.radio = undefined;
    await super.deleteSession(sessionId);
  }

  async execute(script: string, args: unknown[]): Promise<unknown> {
    return await this.executeMethod(script, args as [Record<string, unknown>]);
  }

  private get device(): VirtualPhone {
    if (!this.phone) throw new errors.NoSuchDriverError('the virtual phone has no session');
    return this.phone;
  }

  async mobileDeviceInfo() {
    const phone = this.device;
    return {
      manufacturer: 'phonehome',
      model: 'virtual phone',
      firmware: phone.firmware.name,
      firmwares: listFirmware(),
      carrierName: phone.simInserted ? (phone.hardware.operator?.[0] ?? '') : '',
      identifiers: phone.hardware,
    };
  }

  async mobileInsertSim() {
    await this.device.insertSim();
  }

  async mobileSetConnectivity(wifi?: boolean, data?: boolean, airplaneMode?: boolean) {
    if (airplaneMode === true) await this.device.setWifi(false);
    if (typeof wifi === 'boolean') await this.device.setWifi(wifi);
    if (data === false)
      throw new errors.InvalidArgumentError('the virtual phone keeps mobile data on with a SIM');
  }

  async mobileIsGpsEnabled() {
    return this.device.gps;
  }

  async mobileToggleGps() {
    await this.device.setGps(!this.device.gps);
  }

  async mobileSetGeolocation(latitude: number, longitude: number) {
    await this.device.setLocation(Number(latitude), Number(longitude));
  }

  async mobileAddContact(name: string, phoneNumber: string) {
    await this.device.addContact({ name, number: phoneNumber });
  }

  /** UiAutomator2's meaning on an emulator: an SMS arrives from phoneNumber. */
  async mobileSendSms(phoneNumber: string, message: string) {
    await this.device.message('in', 'sms', phoneNumber, message);
  }

  async mobileComposeMessage(phoneNumber: string, message: string, mms?: boolean) {
    await this.device.message('out', mms ? 'mms' : 'sms', phoneNumber, message);
  }

  async mobileReceiveMms(phoneNumber: string, message: string) {
    await this.device.message('in', 'mms', phoneNumber, message);
  }

  /** UiAutomator2's meaning on an emulator: action 'call' is an incoming call from phoneNumber. */
  async mobileGsmCall(phoneNumber: string, action: string) {
    if (action === 'call') await this.device.call('in', phoneNumber);
    else if (!['accept', 'cancel', 'hold'].includes(action)) {
      throw new errors.InvalidArgumentError(
        `gsmCall action must be call, accept, cancel or hold, not '${action}'`,
      );
    }
  }

  async mobileDial(phoneNumber: string) {
    await this.device.call('out', phoneNumber);
  }

  async mobileCloudLogin(account: string) {
    await this.device.cloudLogin(account);
  }

  async mobileSetSetting(name: string, value: boolean) {
    if (typeof value !== 'boolean')
      throw new errors.InvalidArgumentError(`setting '${name}' takes true or false`);
    try {
      await this.device.setSetting(name, value);
    } catch (error) {
      throw new errors.InvalidArgumentError((error as Error).message);
    }
  }

  async mobileGetSettings() {
    return { ...this.device.settings };
  }

  /**
   * UiAutomator2's meaning: opens `url` with a VIEW intent; for an http(s) URL the browser loads
   * it over the phone's network. Answers the page's status; fails when the page could not load.
   */
  async mobileDeepLink(url: string, _package?: string, _waitForLaunch?: boolean) {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new errors.InvalidArgumentError(`deepLink url '${url}' is not a URL`);
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      throw new errors.InvalidArgumentError(
        `the virtual phone opens http(s) links only, not ${target.protocol}`,
      );
    }
    try {
      const page = await this.device.openUrl(target.href);
      // Not `status`: Appium reads a `status` key in a command's result as a JSONWP error code.
      return { httpStatus: page.status };
    } catch (error) {
      throw new errors.UnknownError(
        `the browser could not load ${target.href}: ${(error as Error).message}`,
      );
    }
  }

  async mobileNetworkLog() {
    return [...this.device.sent];
  }
}
