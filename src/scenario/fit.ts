import type { DeviceEntry } from '../config/devices.ts';
import { entryFirmware, entrySettings } from '../device/entry-facts.ts';
import { PhonehomeError } from '../errors.ts';
import type { Scenario } from './define.ts';

/**
 * Refuses a run of a scenario on a device it is not meant for (`meantFor`) or that cannot switch
 * a setting it toggles (`settings`): a PhonehomeError (exit 2) naming the device, what it is, and
 * what the scenario needs. Called before anything touches a phone, by `phonehome run`, `npm test`
 * and runScenario alike, so a scenario never passes on a phone it does not fit.
 *
 * @example
 *   checkScenarioFits(scenario, findDevice(config, 'virtual-clean'));
 *   // throws: scenario 'fsecure-out-of-box' switches the setting 'cloud-messaging', which device 'virtual-clean' does not have (firmware 'clean' has none) …
 */
export function checkScenarioFits(scenario: Scenario, entry: DeviceEntry): void {
  const refuse = (what: string, field: 'meantFor' | 'settings' = 'meantFor') =>
    new PhonehomeError(
      'SCENARIO_DOES_NOT_FIT',
      `scenario '${scenario.name}' ${what}; choose a device that fits (--device, or PHONEHOME_DEVICE for npm test), or change the scenario's ${field}`,
    );
  const target = scenario.meantFor ?? {};
  if (target.devices && !target.devices.includes(entry.id)) {
    throw refuse(`is meant for the devices ${list(target.devices)}, not device '${entry.id}'`);
  }
  if (target.kinds && !target.kinds.includes(entry.kind)) {
    throw refuse(
      `is meant for devices of kind ${list(target.kinds)}, and device '${entry.id}' is of kind '${entry.kind}'`,
    );
  }
  if (target.firmware) {
    const firmware = entryFirmware(entry);
    if (firmware === undefined || !target.firmware.includes(firmware)) {
      throw refuse(
        `is meant for the firmware ${list(target.firmware)}, and device '${entry.id}' ${firmware === undefined ? `(kind ${entry.kind}) names no firmware profile` : `runs the firmware '${firmware}'`}`,
      );
    }
  }
  if (scenario.settings) {
    const known = entrySettings(entry);
    const missing = known && scenario.settings.filter((name) => !known.names.includes(name));
    if (known && missing && missing.length > 0) {
      throw refuse(
        `switches the setting${missing.length > 1 ? 's' : ''} ${list(missing)}, which device '${entry.id}' cannot switch (${known.from} has ${known.names.length > 0 ? list(known.names) : 'none'})`,
        'settings',
      );
    }
  }
}

function list(names: readonly string[]): string {
  return names.map((name) => `'${name}'`).join(', ');
}
