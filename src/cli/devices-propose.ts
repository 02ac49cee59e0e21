import { parseArgs } from 'node:util';
import type { DeviceEntry } from '../config/devices.ts';
import { adbFor, createAdbExecutor, type AdbExecutor } from '../device/android/adb-client.ts';
import { listAttachedDevices } from '../device/android/device-list.ts';
import { phoneFacts, readProps } from '../device/android/getprop.ts';
import { readPhoneIdentifiers } from '../device/android/read-identifiers.ts';
import { EXIT } from '../errors.ts';

/** A proposed devices.json entry, or why a phone got none. */
export type Proposal =
  { serial: string; entry: Omit<DeviceEntry, 'settle'> } | { serial: string; skipped: string };

/**
 * Proposes a devices.json entry for each phone adb sees: an id from maker and model, kind
 * android, its serial, UiAutomator2 capabilities, and the identifiers adb could read (so they are
 * searched for even on a phone that later hides them).
 *
 * @example
 *   const proposals = await proposeAndroidEntries();
 *   // → [{ serial: 'R58M12345', entry: { id: 'google-pixel-7', kind: 'android', … } }]
 */
export async function proposeAndroidEntries(
  exec: AdbExecutor = createAdbExecutor(),
): Promise<Proposal[]> {
  const proposals: Proposal[] = [];
  for (const attached of await listAttachedDevices(exec)) {
    if (attached.state !== 'device') {
      proposals.push({
        serial: attached.serial,
        skipped: `state '${attached.state}' (run \`phonehome doctor\` for the fix)`,
      });
      continue;
    }
    const adb = adbFor(attached.serial, exec);
    const props = await readProps(adb);
    const facts = phoneFacts(props, attached.serial);
    const reading = await readPhoneIdentifiers(adb, props, facts);
    const id = `${facts.manufacturer}-${facts.model}`
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '');
    // Two phones of one model get distinct ids: the serial tells them apart.
    const base = id || attached.serial.toLowerCase();
    const taken = proposals.some((p) => 'entry' in p && p.entry?.id === base);
    const unique = taken
      ? `${base}-${attached.serial.toLowerCase().replace(/[^a-z0-9._-]+/g, '-')}`
      : base;
    proposals.push({
      serial: attached.serial,
      entry: {
        id: unique,
        kind: 'android',
        description: `${facts.manufacturer} ${facts.model}, Android ${facts.release}${facts.emulator ? ' (emulator)' : ''}`,
        serial: attached.serial,
        capabilities: { platformName: 'Android', 'appium:automationName': 'UiAutomator2' },
        identifiers: reading.values,
      },
    });
  }
  return proposals;
}

/**
 * `phonehome devices --propose`: prints the proposed entries as JSON to paste into devices.json.
 * The identifiers are personal data: the output goes to the terminal only.
 */
export async function devicesProposeCommand(argv: string[]): Promise<number> {
  parseArgs({ args: argv, options: { propose: { type: 'boolean' } }, strict: true });
  const proposals = await proposeAndroidEntries();
  if (proposals.length === 0) {
    console.error(
      'no phone is attached: plug one in with USB debugging on, then check `adb devices`',
    );
    return EXIT.usage;
  }
  for (const proposal of proposals) {
    if ('skipped' in proposal) console.error(`${proposal.serial}: no entry, ${proposal.skipped}`);
  }
  const entries = proposals.flatMap((proposal) => ('entry' in proposal ? [proposal.entry] : []));
  console.log(JSON.stringify(entries, null, 2));
  console.error('add these to "devices" in devices.json, then set PHONEHOME_DEVICE to the id');
  return EXIT.ok;
}
