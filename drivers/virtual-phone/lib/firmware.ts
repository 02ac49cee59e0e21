import { createCipheriv, createHash, randomBytes, type CipherGCM } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { OutgoingRequest } from './network.ts';

/**
 * A firmware profile: data describing which requests the phone makes on which events. The
 * profiles in ../firmware/ are the virtual phone's whole behaviour; adding a vendor's behaviour
 * means adding a JSON file, not code.
 */
export interface FirmwareProfile {
  name: string;
  description: string;
  /** Settings as they are out of the box (e.g. cloud-messaging on or off). */
  settings: Record<string, boolean>;
  /**
   * AES keys the profile's rules encrypt with, by name, in hex (16 or 32 bytes): a vendor's SDK
   * key baked into the firmware.
   */
  keys?: Record<string, string>;
  requests: RequestRule[];
}

export const CIPHERS = [
  'aes-128-gcm',
  'aes-256-gcm',
  'aes-128-cbc',
  'aes-256-cbc',
  'aes-128-ctr',
] as const;
export const CIPHER_OUTPUTS = ['raw', 'base64', 'base64url', 'hex'] as const;

/**
 * How a rule encrypts its rendered body before sending it, as analytics SDKs seal a batch: a
 * fresh IV in front, the ciphertext, and for GCM the tag behind; written as raw bytes or text.
 */
export interface BodyEncryption {
  /** A name in the profile's `keys`. */
  key: string;
  /** Default aes-128-gcm. */
  cipher?: (typeof CIPHERS)[number];
  /** Default base64. */
  output?: (typeof CIPHER_OUTPUTS)[number];
}

export const PHONE_EVENTS = [
  'boot',
  'sim-inserted',
  'wifi-connected',
  'gps-enabled',
  'location-changed',
  'contact-added',
  'sms-received',
  'sms-sent',
  'mms-received',
  'mms-sent',
  'call-incoming',
  'call-outgoing',
  'cloud-login',
] as const;

export type PhoneEvent =
  (typeof PHONE_EVENTS)[number] | `setting-enabled:${string}` | `setting-disabled:${string}`;

export interface RequestRule {
  on: PhoneEvent;
  /** Why the phone makes this request (documentation, shown in profile listings). */
  why?: string;
  method: string;
  /** URL template; placeholders like {imei} or {msisdn|url} are filled when the event fires. */
  url: string;
  headers?: Record<string, string>;
  body?: string;
  gzip?: boolean;
  /** Encrypt the rendered body with one of the profile's keys (after gzip, when both are set). */
  encrypt?: BodyEncryption;
  /**
   * How the request leaves the phone: through the system proxy (`proxy`, the default, as
   * Android's HTTP stack does), or `direct`, ignoring it (a daemon with its own network stack,
   * native code, an app that sets NO_PROXY). Direct requests reach only the network the phone
   * is on; on the proxy route that is nothing phonehome sees. `websocket` opens a WebSocket to
   * the (ws:// or wss://) URL through the proxy and sends the body as one message. `tcp`
   * (tcp://host:port) writes the body on a raw TCP stream, `udp` (udp://host:port) sends it as
   * one datagram, and `dns` (dns://host) only looks the name up: like `direct`, none of these
   * uses the proxy.
   */
  transport?: Transport;
  when?: { settings?: Record<string, boolean>; cloudAccount?: boolean };
}

export const TRANSPORTS = ['proxy', 'direct', 'websocket', 'tcp', 'udp', 'dns'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** The values a template can use, by placeholder name. */
export type TemplateValues = Record<string, string | undefined>;

const PLACEHOLDERS = [
  'imei',
  'imei2',
  'imsi',
  'iccid',
  'msisdn',
  'operator',
  'serial',
  'android_id',
  'wifi_mac',
  'account',
  'event.number',
  'event.name',
  'event.text',
  'location.lat',
  'location.lon',
];

const FILTERS: Record<string, (value: string) => string> = {
  url: encodeURIComponent,
  base64: (value) => Buffer.from(value).toString('base64'),
  md5: (value) => createHash('md5').update(value).digest('hex'),
  sha1: (value) => createHash('sha1').update(value).digest('hex'),
  sha256: (value) => createHash('sha256').update(value).digest('hex'),
  json: (value) => JSON.stringify(value).slice(1, -1),
};

const TEMPLATE = /\{([a-z0-9_.]+)(?:\|([a-z0-9]+))?\}/g;

const FIRMWARE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'firmware');

/** Names of the profiles shipped with the virtual phone. */
export function listFirmware(): string[] {
  return readdirSync(FIRMWARE_DIR)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}

/** Loads and checks a shipped profile; every placeholder and filter must be known. */
export function loadFirmware(name: string): FirmwareProfile {
  if (!listFirmware().includes(name)) {
    throw new Error(
      `unknown firmware '${name}'; the virtual phone ships: ${listFirmware().join(', ')}`,
    );
  }
  return loadFirmwareFile(join(FIRMWARE_DIR, `${name}.json`));
}

/**
 * Loads and checks a profile from any file: a user's own model of a vendor's behaviour
 * (`"appium:firmwareFile"`). Every error names the file and the field, and how to fix it.
 */
export function loadFirmwareFile(file: string): FirmwareProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the firmware file ${file}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not JSON: ${(error as Error).message}`);
  }
  return checkProfile(raw, file);
}

function checkProfile(raw: unknown, file: string): FirmwareProfile {
  const fail = (path: string, what: string): never => {
    throw new Error(`${file}: ${path} ${what} (see drivers/virtual-phone/firmware/ for examples)`);
  };
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isObject(raw)) return fail('the profile', 'must be a JSON object');
  if (typeof raw.name !== 'string' || raw.name === '') fail('name', 'must be a non-empty string');
  if (typeof raw.description !== 'string') fail('description', 'must be a string');
  const settings = raw.settings ?? {};
  if (!isObject(settings)) fail('settings', 'must be an object of true/false values');
  for (const [key, value] of Object.entries(settings as Record<string, unknown>)) {
    if (typeof value !== 'boolean') fail(`settings.${key}`, 'must be true or false');
  }
  const keys = raw.keys ?? {};
  if (!isObject(keys)) fail('keys', 'must be an object of hex AES keys by name');
  for (const [name, value] of Object.entries(keys as Record<string, unknown>)) {
    if (typeof value !== 'string' || !/^([0-9a-f]{32}|[0-9a-f]{64})$/i.test(value))
      fail(`keys.${name}`, 'must be a 16- or 32-byte AES key in hex (32 or 64 hex digits)');
  }
  if (!Array.isArray(raw.requests)) return fail('requests', 'must be an array of request rules');
  (raw.requests as unknown[]).forEach((rule, index) => {
    const where = `requests[${index}]`;
    if (!isObject(rule)) return fail(where, 'must be an object');
    for (const field of ['on', 'method', 'url'] as const) {
      if (typeof rule[field] !== 'string' || rule[field] === '') {
        fail(`${where}.${field}`, 'must be a non-empty string');
      }
    }
    const on = rule.on as string;
    const known =
      (PHONE_EVENTS as readonly string[]).includes(on) || /^setting-(enabled|disabled):/.test(on);
    if (!known) fail(`${where}.on`, `'${on}' is not an event; events: ${PHONE_EVENTS.join(', ')}`);
    // Only declared settings can be switched (VirtualPhone.setSetting): a rule on another never fires.
    const declared = Object.keys(settings as Record<string, unknown>);
    const setting = /^setting-(?:enabled|disabled):(.*)$/.exec(on)?.[1];
    if (setting !== undefined && !declared.includes(setting))
      fail(`${where}.on`, `names the setting '${setting}', which settings does not declare`);
    const when = isObject(rule.when) ? rule.when : {};
    for (const name of Object.keys(isObject(when.settings) ? when.settings : {})) {
      if (!declared.includes(name))
        fail(`${where}.when.settings`, `names '${name}', which settings does not declare`);
    }
    if (rule.body !== undefined && typeof rule.body !== 'string')
      fail(`${where}.body`, 'must be a string');
    if (
      rule.transport !== undefined &&
      !(TRANSPORTS as readonly unknown[]).includes(rule.transport)
    )
      fail(`${where}.transport`, `must be one of ${TRANSPORTS.join(', ')}`);
    if (rule.transport === 'websocket' && !/^wss?:\/\//.test(rule.url as string))
      fail(`${where}.url`, 'must start with ws:// or wss:// for the websocket transport');
    if (
      (rule.transport === 'tcp' || rule.transport === 'udp') &&
      !new RegExp(`^${rule.transport}://[^/:]+:\\d+$`).test(rule.url as string)
    )
      fail(
        `${where}.url`,
        `must be ${rule.transport}://host:port for the ${rule.transport} transport`,
      );
    if (rule.transport === 'dns' && !/^dns:\/\/[^/:]+$/.test(rule.url as string))
      fail(`${where}.url`, 'must be dns://host for the dns transport');
    if (rule.encrypt !== undefined) {
      const encrypt = rule.encrypt;
      if (!isObject(encrypt))
        return fail(`${where}.encrypt`, 'must be an object { key, cipher?, output? }');
      const key = (keys as Record<string, string>)[encrypt.key as string];
      if (typeof encrypt.key !== 'string' || key === undefined)
        fail(
          `${where}.encrypt.key`,
          `must name one of the profile's keys (${Object.keys(keys as object).join(', ') || 'none: add "keys": { "name": "<32 hex digits>" }'})`,
        );
      const cipher = (encrypt.cipher as string | undefined) ?? 'aes-128-gcm';
      if (!(CIPHERS as readonly string[]).includes(cipher))
        fail(`${where}.encrypt.cipher`, `must be one of ${CIPHERS.join(', ')}`);
      if (key !== undefined && key.length / 2 !== (cipher.startsWith('aes-256') ? 32 : 16))
        fail(
          `${where}.encrypt.key`,
          `'${encrypt.key as string}' is ${key.length / 2} bytes; ${cipher} takes ${cipher.startsWith('aes-256') ? 32 : 16}`,
        );
      if (
        encrypt.output !== undefined &&
        !(CIPHER_OUTPUTS as readonly unknown[]).includes(encrypt.output)
      )
        fail(`${where}.encrypt.output`, `must be one of ${CIPHER_OUTPUTS.join(', ')}`);
      if (typeof rule.body !== 'string')
        fail(`${where}.body`, 'is what encrypt encrypts: give one');
    }
    if (rule.headers !== undefined && !isObject(rule.headers)) {
      fail(`${where}.headers`, 'must be an object of strings');
    }
    const headers = Object.values((rule.headers ?? {}) as Record<string, unknown>);
    if (headers.some((value) => typeof value !== 'string')) {
      fail(`${where}.headers`, 'must be an object of strings');
    }
    for (const text of [
      rule.url as string,
      (rule.body as string | undefined) ?? '',
      ...(headers as string[]),
    ]) {
      for (const [, placeholder, filter] of text.matchAll(TEMPLATE)) {
        if (!PLACEHOLDERS.includes(placeholder!)) {
          fail(where, `uses {${placeholder}}; known: ${PLACEHOLDERS.join(', ')}`);
        }
        if (filter && !FILTERS[filter]) {
          fail(where, `uses the filter |${filter}; known: ${Object.keys(FILTERS).join(', ')}`);
        }
      }
    }
  });
  return { ...(raw as unknown as FirmwareProfile), settings: settings as Record<string, boolean> };
}

/**
 * Seals a body as the rule says: a fresh IV, the ciphertext (and GCM's tag), written out.
 *
 * @example
 *   encryptBody(Buffer.from('{"imei":"…"}'), { key: 'sdk' }, { sdk: '00112233445566778899aabbccddeeff' })
 *   // → '<base64 of IV ‖ ciphertext ‖ tag>'
 */
export function encryptBody(
  plain: Uint8Array,
  encryption: BodyEncryption,
  keys: Record<string, string>,
): string | Buffer {
  const cipher = encryption.cipher ?? 'aes-128-gcm';
  const gcm = cipher.endsWith('gcm');
  const iv = randomBytes(gcm ? 12 : 16);
  const aes = createCipheriv(cipher, Buffer.from(keys[encryption.key] ?? '', 'hex'), iv);
  const sealed = Buffer.concat([
    iv,
    aes.update(plain),
    aes.final(),
    ...(gcm ? [(aes as CipherGCM).getAuthTag()] : []),
  ]);
  const output = encryption.output ?? 'base64';
  return output === 'raw' ? sealed : sealed.toString(output);
}

/**
 * Fills a rule's placeholders; an unknown value renders empty, as an app reading a missing field
 * would. A rule that encrypts its body is sealed with the profile's `keys` (after gzip, which then
 * no longer applies on the wire: an SDK compresses before it encrypts).
 */
export function render(
  rule: RequestRule,
  values: TemplateValues,
  keys: Record<string, string> = {},
): OutgoingRequest {
  const fill = (text: string) =>
    text.replace(TEMPLATE, (_match, placeholder: string, filter?: string) => {
      const value = values[placeholder] ?? '';
      return filter ? FILTERS[filter]!(value) : value;
    });
  const body = rule.body === undefined ? undefined : fill(rule.body);
  const headers = Object.fromEntries(
    Object.entries(rule.headers ?? {}).map(([name, value]) => [name, fill(value)]),
  );
  if (rule.encrypt && body !== undefined) {
    const plain = rule.gzip ? gzipSync(body) : Buffer.from(body);
    return {
      method: rule.method,
      url: fill(rule.url),
      headers,
      body: encryptBody(plain, rule.encrypt, keys),
      transport: rule.transport ?? 'proxy',
    };
  }
  return {
    method: rule.method,
    url: fill(rule.url),
    headers,
    body,
    gzip: rule.gzip,
    transport: rule.transport ?? 'proxy',
  };
}
