import { parseArgs } from 'node:util';
import { loadDevices, type DeviceEntry } from '../config/devices.ts';
import { EXIT } from '../errors.ts';
import { IDENTIFIER_KINDS } from '../types.ts';
import { JSON_SCHEMA_VERSION } from './json.ts';

/** `phonehome devices`: what devices.json offers, and which one runs by default. */
export async function devicesCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { 'devices-file': { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  const config = loadDevices(values['devices-file']);
  if (values.json) {
    const devices = config.devices.map((device) => ({
      id: device.id,
      kind: device.kind,
      default: device.id === config.defaultId,
      ...(device.description ? { description: device.description } : {}),
      ...(device.tags ? { tags: device.tags } : {}),
      identifiersKnown: IDENTIFIER_KINDS.filter(
        (kind) => (device.identifiers[kind]?.length ?? 0) > 0,
      ),
      route: routeOf(device),
    }));
    console.log(
      JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, file: config.file, devices }, null, 2),
    );
    return EXIT.ok;
  }
  console.log(`${config.file}:`);
  for (const device of config.devices) {
    const kinds = IDENTIFIER_KINDS.filter((kind) => (device.identifiers[kind]?.length ?? 0) > 0);
    const marker = device.id === config.defaultId ? ' (default)' : '';
    console.log(`  ${device.id}${marker}  [${device.kind}]  ${device.description ?? ''}`);
    console.log(`      route: ${routeOf(device)}`);
    console.log(
      `      identifiers known: ${kinds.join(', ') || 'none (read from the phone at run time)'}`,
    );
  }
  return EXIT.ok;
}

/**
 * How the device's traffic reaches phonehome, in a word and its settings (docs/reports.md).
 *
 * @example
 *   routeOf({ kind: 'android', android: { route: 'vpn' } }) // → 'vpn'
 */
export function routeOf(device: DeviceEntry): string {
  if (device.gateway)
    return `gateway on ${device.gateway.interface} (phone ${device.gateway.phoneAddress})`;
  if (device.kind === 'remote') return `farm (traffic ${device.traffic?.mode ?? 'proxy'})`;
  if (device.kind === 'android') return device.android?.route ?? 'proxy';
  return 'proxy';
}
