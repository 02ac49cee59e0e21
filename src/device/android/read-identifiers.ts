import { IDENTIFIER_KINDS, type IdentifierKind, type IdentifierValues } from '../../types.ts';
import { shell, shellResult, type Adb } from './adb-client.ts';
import type { PhoneFacts, Props } from './getprop.ts';
import { asRoot, type RootMethod } from './root.ts';
import { shellCommand } from './shell-quote.ts';
import {
  acceptSubscriberValue,
  parseServiceCallString,
  subInfoCalls,
  type SubscriberKind,
} from './iphonesubinfo.ts';

/** What adb could read of a phone's identifiers, where each came from, and what it could not. */
export interface IdentifierReading {
  values: IdentifierValues;
  /** For each kind read: the command or property it came from. */
  sources: Partial<Record<IdentifierKind, string>>;
  /** For each hardware kind not read: why. */
  unreadable: Partial<Record<IdentifierKind, string>>;
}

/** Values that mean "none" in properties and settings. */
const EMPTY = new Set(['', 'null', 'unknown', '0', '02:00:00:00:00:00', '00:00:00:00:00:00']);

/**
 * Reads the identifiers adb can reach: serial and operators from properties, the Android ID
 * (device-wide before Android 8; since, each app's own, read as root from settings_ssaid.xml), IMEI/IMSI/ICCID/number through `service call iphonesubinfo` with the
 * codes of the phone's API level, and the Wi-Fi MAC where the kernel shows it to the shell.
 *
 * @example
 *   const reading = await readPhoneIdentifiers(adb, props, facts);
 *   reading.unreadable.msisdn // → 'the SIM does not store its own number (null)'
 */
export async function readPhoneIdentifiers(
  adb: Adb,
  props: Props,
  facts: PhoneFacts,
  root?: RootMethod,
): Promise<IdentifierReading> {
  const reading: IdentifierReading = { values: {}, sources: {}, unreadable: {} };
  const add = (kind: IdentifierKind, values: string[], source: string) => {
    const kept = [...new Set(values.map((v) => v.trim()).filter((v) => !EMPTY.has(v)))];
    if (kept.length === 0) return false;
    reading.values[kind] = [...(reading.values[kind] ?? []), ...kept];
    reading.sources[kind] ??= source;
    return true;
  };

  const serialProp = props['ro.serialno'] || props['ro.boot.serialno'] || '';
  if (!add('serial', [serialProp], 'getprop ro.serialno')) {
    reading.unreadable.serial = 'ro.serialno is empty (Android 8+ hides it from apps too)';
  }
  const operators = ['gsm.operator.alpha', 'gsm.sim.operator.alpha'].flatMap((prop) =>
    (props[prop] ?? '').split(','),
  );
  if (!add('operator', operators, 'getprop gsm.operator.alpha / gsm.sim.operator.alpha')) {
    reading.unreadable.operator = 'no operator name in gsm.operator.alpha (no SIM or no network)';
  }

  await readAndroidIds(adb, facts, root, add, reading);

  // One MCC+MNC per SIM slot on a dual-SIM phone: the IMSI read may be either SIM's.
  const simOperator = (props['gsm.sim.operator.numeric'] ?? '').trim() || undefined;
  const taken = new Set<string>();
  const calls = subInfoCalls(facts.api);
  for (const kind of ['imei', 'imsi', 'iccid', 'msisdn'] as SubscriberKind[]) {
    const reasons: string[] = [];
    for (const call of calls[kind]) {
      const command = shellCommand([
        'service',
        'call',
        'iphonesubinfo',
        String(call.code),
        ...call.args,
      ]);
      const parsed = parseServiceCallString(await shell(adb, command));
      if (!parsed.ok) {
        reasons.push(`code ${call.code}: ${parsed.reason}`);
        continue;
      }
      const value = parsed.value?.trim() ?? '';
      if (!value) {
        reasons.push(`code ${call.code}: ${parsed.value === null ? 'null' : 'empty'}`);
        continue;
      }
      if (taken.has(value) || !acceptSubscriberValue(kind, value, { simOperator })) {
        reasons.push(`code ${call.code}: answered a value that is not ${kindShape(kind)}`);
        continue;
      }
      taken.add(value);
      add(kind, [value], command);
      break;
    }
    if (!reading.values[kind]) {
      reading.unreadable[kind] =
        `${reasons.join('; ')}${kind === 'msisdn' ? ' (many SIMs do not store their own number: put it in devices.json)' : ''}`;
    }
  }

  const mac = (await shell(adb, 'cat /sys/class/net/wlan0/address')).trim().toLowerCase();
  if (
    !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac) ||
    !add('wifi_mac', [mac], '/sys/class/net/wlan0/address')
  ) {
    reading.unreadable.wifi_mac = `not readable by the shell (${mac.split('\n')[0] || 'empty'}); Android 11+ hides it, and Wi-Fi may use a random MAC per network`;
  }
  return reading;
}

function kindShape(kind: SubscriberKind): string {
  return {
    imei: 'an IMEI (15 digits, Luhn)',
    imsi: 'an IMSI of this SIM',
    iccid: 'an ICCID (89…)',
    msisdn: 'a phone number',
  }[kind];
}

/**
 * Lines telling where each identifier of a run comes from: devices.json (which wins), the phone,
 * both (and whether they agree), and which kinds could be read from neither.
 *
 * @example
 *   describeIdentifierMerge({ imei: ['8654…'] }, reading)
 *   // → ['imei: devices.json (the phone reads the same)', 'msisdn: not known (…)', …]
 */
export function describeIdentifierMerge(
  configured: IdentifierValues,
  reading: IdentifierReading,
): string[] {
  const lines: string[] = [];
  for (const kind of IDENTIFIER_KINDS) {
    const fromConfig = configured[kind] ?? [];
    const fromPhone = reading.values[kind] ?? [];
    if (fromConfig.length > 0 && fromPhone.length > 0) {
      const same = fromPhone.every((value) => fromConfig.includes(value));
      lines.push(
        `${kind}: devices.json${same ? ' (the phone reads the same)' : ` (the phone reads another value through ${reading.sources[kind]}; devices.json's is used)`}`,
      );
    } else if (fromConfig.length > 0) {
      lines.push(
        `${kind}: devices.json${reading.unreadable[kind] ? ` (the phone's could not be read: ${reading.unreadable[kind]})` : ''}`,
      );
    } else if (fromPhone.length > 0) {
      lines.push(`${kind}: the phone, through ${reading.sources[kind]}`);
    } else if (reading.unreadable[kind]) {
      lines.push(
        `${kind}: not known — ${reading.unreadable[kind]}; add it to devices.json to have it searched for`,
      );
    }
  }
  return lines;
}

/** Where Android keeps each app's Android ID (SSAID) since Android 8, for user 0. */
export const SSAID_FILE = '/data/system/users/0/settings_ssaid.xml';

/**
 * The Android IDs apps send. Before Android 8 there is one, device-wide, which the shell reads
 * too. Since Android 8 each app has its own (derived from its signing key): the shell's value
 * is the shell's alone, and no app sends it. As root they are all in settings_ssaid.xml (binary
 * XML since Android 12, which `abx2xml` turns back into text); without root none can be read,
 * and the kind is said to be unreadable rather than searched for with a value no app sends.
 */
async function readAndroidIds(
  adb: Adb,
  facts: PhoneFacts,
  root: RootMethod | undefined,
  add: (kind: IdentifierKind, values: string[], source: string) => boolean,
  reading: IdentifierReading,
): Promise<void> {
  if (facts.api < 26) {
    const androidId = (await shell(adb, ['settings', 'get', 'secure', 'android_id'])).trim();
    if (!add('android_id', [androidId], 'settings get secure android_id')) {
      reading.unreadable.android_id = `settings returned '${androidId}'`;
    }
    return;
  }
  const perApp =
    'since Android 8 each app has its own Android ID, and the shell reads only its own';
  if (!root) {
    reading.unreadable.android_id = `${perApp}; the apps' are in ${SSAID_FILE}, readable as root only (give an app's value in devices.json, or use a rooted phone)`;
    return;
  }
  const read = facts.api >= 31 ? `abx2xml ${SSAID_FILE} -` : `cat ${SSAID_FILE}`;
  const result = await shellResult(adb, asRoot(root, read));
  const ids = parseSsaids(result.stdout).filter((entry) => entry.package !== 'com.android.shell');
  if (
    !add(
      'android_id',
      ids.map((entry) => entry.value),
      `${SSAID_FILE} (root), one per app`,
    )
  ) {
    reading.unreadable.android_id = `${perApp}, and ${SSAID_FILE} gave none (${(result.stderr || result.stdout).trim().split('\n')[0] || `exit ${result.code}`})`;
  }
}

/**
 * The per-app Android IDs in settings_ssaid.xml's text form: `<setting … value="…" package="…" />`.
 * The user key (package "android", 64 hex digits) is not an ID and is left out.
 *
 * @example
 *   parseSsaids('<setting id="3" name="10123" value="3f2a…" package="com.vendor.app" />')
 *   // → [{ package: 'com.vendor.app', value: '3f2a…' }]
 */
export function parseSsaids(xml: string): { package: string; value: string }[] {
  const found: { package: string; value: string }[] = [];
  for (const [element] of xml.matchAll(/<setting\b[^>]*>/g)) {
    const value = /\bvalue="([0-9a-fA-F]{16})"/.exec(element)?.[1];
    const pkg = /\bpackage="([^"]*)"/.exec(element)?.[1];
    if (value && pkg && pkg !== 'android') found.push({ package: pkg, value: value.toLowerCase() });
  }
  return found;
}
