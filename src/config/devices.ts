import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { PhonehomeError } from '../errors.ts';
import { PROJECT_ROOT } from '../paths.ts';
import type { IdentifierValues, OpaqueException } from '../types.ts';
import { readEnvironment } from './env.ts';

export type DeviceKind = 'virtual' | 'android' | 'remote';

/** One entry of devices.json, validated. */
export interface DeviceEntry {
  id: string;
  kind: DeviceKind;
  description?: string;
  tags?: string[];
  capabilities: Record<string, unknown>;
  identifiers: IdentifierValues;
  endpoint?: string;
  serial?: string;
  settle: { quietMs: number; maxMs: number };
  /** For kind remote: how the phone's traffic reaches phonehome (default: proxy). */
  traffic?: RemoteTraffic;
  /** For kind android: what a phone on USB needs beyond its serial (docs/android.md). */
  android?: AndroidOptions;
  /**
   * The gateway route (docs/gateway.md): this host is the phone's network, and every TCP
   * connection, DNS query and UDP datagram from the phone is captured.
   */
  gateway?: GatewaySettings;
  /** Opaque parts of this phone's traffic reviewed and declared harmless (docs/scenarios.md). */
  opaqueExceptions?: OpaqueException[];
}

/** The gateway route's settings (devices.json "gateway", or `capture --gateway-*`). */
export interface GatewaySettings {
  /** The interface the phone is on, e.g. the access point's "wlan0". */
  interface: string;
  /** The phone's IPv4 address on it (give it a fixed DHCP lease). */
  phoneAddress: string;
  /**
   * The range the DNS server hands out one address a name from. Nothing on the phone's network
   * may use it (default 198.18.0.0/15, the range RFC 2544 set aside for benchmarks).
   */
  addressPool?: string;
}

/** Options of an `android` entry in devices.json. */
export interface AndroidOptions {
  /** The phone's own number when its SIM does not store it (a peer calls and texts it). */
  phoneNumber?: string;
  /** A second phone on USB that texts and calls this one (real phones cannot fake either). */
  peer?: { serial: string; phoneNumber?: string };
  /** Hosts whose TLS is passed through untouched (pinned apps): recorded by SNI, not broken. */
  tlsPassthroughHosts?: string[];
  /** 'auto' (default): the run's CA goes into the system store on a rooted phone or emulator. */
  systemCa?: 'auto' | 'never';
  /**
   * How the phone's traffic reaches phonehome: `proxy` (default: the global HTTP proxy, which
   * apps that ignore it bypass) or `vpn` (PCAPdroid's VPN hands every TCP connection over by
   * SOCKS5; docs/android.md) or `iptables` (a rooted phone: every TCP connection redirected on
   * the phone into `adb reverse`).
   */
  route?: 'proxy' | 'vpn' | 'iptables';
  /** For the vpn route: only this app's traffic, and how long to wait for the user to allow it. */
  vpn?: { appFilter?: string; consentTimeoutMs?: number };
  /**
   * 'auto' (default): PCAPdroid's packet dump records DNS queries, UDP flows and each
   * connection's app where the route allows — in its VPN (vpn route), or in root mode beside the
   * iptables redirect when PCAPdroid is installed. 'never': no dump.
   */
  packetDump?: 'auto' | 'never';
  /** Named UI flows, e.g. "cloud-login"; `${account}` in a typed text is filled in. */
  flows?: Record<string, UiStep[]>;
  /** Consent settings by name (e.g. "cloud-messaging"): the steps that switch each on and off. */
  settings?: Record<string, { on: UiStep[]; off?: UiStep[] }>;
  /** Keys pressed once a messaging app shows the text, to send it (default: ["22", "66"]). */
  sendKeys?: string[];
  /** How long a call is held before hanging up, in ms (default 5000). */
  callHoldMs?: number;
}

/** One step of a UI flow on an android phone: one action per step. */
export interface UiStep {
  /** Starts an activity by component, e.g. "com.android.settings/.Settings". */
  start?: string;
  /** Starts an activity by intent action, e.g. "android.settings.SETTINGS". */
  action?: string;
  tap?: UiSelector;
  type?: { into: UiSelector; text: string };
  /** A key: BACK, HOME, ENTER… or a keycode number. */
  key?: string;
  /** Waits this long, in ms (for an animation the selectors cannot see). */
  waitMs?: number;
}

/** Finds one element on screen: by resource id, exact text, content description or XPath. */
export interface UiSelector {
  id?: string;
  text?: string;
  desc?: string;
  xpath?: string;
}

export interface RemoteTraffic {
  mode?: 'proxy' | 'tunnel' | 'har';
  tunnel?: { command: string; args?: string[]; ready?: string; timeoutMs?: number };
  har?: { farm: 'browserstack' | 'lambdatest'; api?: string; user?: string; key?: string };
}

export interface DevicesConfig {
  /** The file the config was read from, as given. */
  file: string;
  defaultId?: string;
  devices: DeviceEntry[];
}

export const SCHEMA_PATH = join(PROJECT_ROOT, 'devices.schema.json');

/** How long to wait for a phone's traffic to go quiet after each step, unless the entry says. */
const DEFAULT_SETTLE = { quietMs: 2000, maxMs: 15000 };

/**
 * Reads and validates devices.json. Every problem is reported with the file, the JSON path and
 * the fix, before anything touches a phone.
 *
 * @example
 *   const config = loadDevices();                 // ./devices.json or PHONEHOME_DEVICES_FILE
 *   const phone = findDevice(config, 'redmi-1s');
 */
export function loadDevices(file?: string): DevicesConfig {
  const path = file ?? readEnvironment().devicesFile ?? 'devices.json';
  const shown = displayPath(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PhonehomeError(
      'DEVICES_MISSING',
      code === 'ENOENT'
        ? `${shown} does not exist; create it (see devices.json in the phonehome repository) or point --devices-file / PHONEHOME_DEVICES_FILE at yours`
        : `cannot read ${shown}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new PhonehomeError(
      'DEVICES_INVALID_JSON',
      `${shown} is not valid JSON: ${(error as Error).message}; fix the syntax (an editor using devices.schema.json shows where)`,
      { cause: error },
    );
  }
  const validate = compiledSchema();
  if (!validate(data)) {
    const errors = validate.errors ?? [];
    throw new PhonehomeError(
      'DEVICES_INVALID',
      `${shown}: ${describeSchemaError(pickError(errors))}`,
    );
  }
  const raw = data as { default?: string; devices: Omit<DeviceEntry, 'settle' | 'identifiers'>[] };
  const seen = new Set<string>();
  const devices = raw.devices.map((entry, index) => {
    if (seen.has(entry.id)) {
      throw new PhonehomeError(
        'DEVICES_INVALID',
        `${shown}: $.devices[${index}].id '${entry.id}' is used twice; give each device its own id`,
      );
    }
    seen.add(entry.id);
    const full = entry as DeviceEntry;
    checkRoute(full, `${shown}: $.devices[${index}]`);
    return {
      ...full,
      identifiers: full.identifiers ?? {},
      settle: { ...DEFAULT_SETTLE, ...full.settle },
    };
  });
  if (raw.default !== undefined && !seen.has(raw.default)) {
    throw new PhonehomeError(
      'DEVICES_INVALID',
      `${shown}: $.default names '${raw.default}', which is not a device; known: ${[...seen].join(', ')}`,
    );
  }
  return { file: path, defaultId: raw.default, devices };
}

/** One route per phone: the gateway is not for a farm's phone, nor with another android route. */
function checkRoute(entry: DeviceEntry, where: string): void {
  if (!entry.gateway) return;
  if (entry.kind === 'remote') {
    throw new PhonehomeError(
      'DEVICES_INVALID',
      `${where}.gateway: a remote (farm) phone is not on this host's network; remove "gateway", or use traffic.mode "tunnel"`,
    );
  }
  const route = entry.android?.route;
  if (route !== undefined) {
    throw new PhonehomeError(
      'DEVICES_INVALID',
      `${where}: "gateway" and android.route "${route}" are two routes; keep one (the gateway sees everything the phone sends)`,
    );
  }
}

/** The device with this id, or an error that lists the known ones. */
export function findDevice(config: DevicesConfig, id: string): DeviceEntry {
  const entry = config.devices.find((device) => device.id === id);
  if (!entry) {
    const known = config.devices.map((device) => device.id).join(', ') || '(none)';
    throw new PhonehomeError(
      'DEVICE_UNKNOWN',
      `no device '${id}' in ${displayPath(config.file)}; known: ${known}`,
    );
  }
  return entry;
}

/**
 * The device to run on: the flag, else PHONEHOME_DEVICE, else the file's `default`, else the
 * only device in the file.
 */
export function chooseDevice(config: DevicesConfig, flag?: string): DeviceEntry {
  const id = flag ?? readEnvironment().device ?? config.defaultId;
  if (id) return findDevice(config, id);
  if (config.devices.length === 1) return config.devices[0]!;
  throw new PhonehomeError(
    'DEVICE_NOT_CHOSEN',
    `no device chosen and ${displayPath(config.file)} has no "default"; set PHONEHOME_DEVICE or pass --device (known: ${config.devices.map((d) => d.id).join(', ')})`,
  );
}

let compiled: ReturnType<Ajv2020['compile']> | undefined;

function compiledSchema(): ReturnType<Ajv2020['compile']> {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: false, verbose: true });
    compiled = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);
  }
  return compiled;
}

/** Among all errors, the one a person should fix first: the deepest, skipping schema plumbing. */
function pickError(errors: ErrorObject[]): ErrorObject {
  const useful = errors.filter((error) => !['if', 'allOf'].includes(error.keyword));
  const pool = useful.length > 0 ? useful : errors;
  return pool.reduce((best, error) =>
    error.instancePath.split('/').length > best.instancePath.split('/').length ? error : best,
  );
}

function describeSchemaError(error: ErrorObject): string {
  const path = jsonPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${path} is missing the required field '${String(params.missingProperty)}'${requiredHint(String(params.missingProperty))}`;
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const allowed = allowedFields(error);
      return `${path} has an unknown field '${field}'${allowed ? `; known fields: ${allowed}` : ''}`;
    }
    case 'type':
      return `${path} must be ${article(String(params.type))}`;
    case 'enum':
      return `${path} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return `${path} does not match ${String(params.pattern)}${path.endsWith('.id') ? ' (lower-case letters, digits, ".", "_" and "-")' : path.endsWith('.endpoint') ? ' (an http:// or https:// URL)' : ''}`;
    default:
      return `${path} ${error.message ?? 'is invalid'}`;
  }
}

function requiredHint(field: string): string {
  switch (field) {
    case 'kind':
      return ' (one of "virtual", "android", "remote")';
    case 'capabilities':
      return ' (Appium capabilities, e.g. {"platformName": "Android"})';
    case 'endpoint':
      return ' (a remote device needs the Appium server URL, e.g. "https://hub.example.com/wd/hub")';
    case 'devices':
      return ' (a list of device entries)';
    default:
      return '';
  }
}

function allowedFields(error: ErrorObject): string | undefined {
  const schema = error.parentSchema as { properties?: Record<string, unknown> } | undefined;
  return schema?.properties
    ? Object.keys(schema.properties)
        .filter((k) => k !== '$schema')
        .join(', ')
    : undefined;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** "/devices/0/kind" → "$.devices[0].kind" */
function jsonPath(pointer: string): string {
  if (pointer === '') return '$';
  return (
    '$' +
    pointer
      .split('/')
      .slice(1)
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
      .join('')
  );
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel.startsWith('..') ? resolve(path) : rel || path;
}
