import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAppium, type AppiumServer } from '../../src/appium/server.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

/** A valid IMEI (Luhn check digit) from a 14-digit body. */
export function imei(body: string): string {
  let sum = 0;
  [...body].reverse().forEach((char, index) => {
    let digit = Number(char);
    if (index % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  });
  return body + String((10 - (sum % 10)) % 10);
}

/**
 * Writes a devices.json with `count` remote virtual phones tagged "farm", alternating the 2014 and
 * opt-in firmware, each with its own IMEI and number. The endpoint carries credentials as
 * ${FARM_USER}/${FARM_KEY}, filled from the environment like a real farm's.
 */
export function writeFarmDevices(
  file: string,
  endpointPort: number,
  count: number,
  extra: object[] = [],
): void {
  const devices = Array.from({ length: count }, (_, index) => ({
    id: `farm-${String(index + 1).padStart(2, '0')}`,
    kind: 'remote',
    tags: ['farm'],
    endpoint: `http://\${FARM_USER}:\${FARM_KEY}@127.0.0.1:${endpointPort}/`,
    capabilities: {
      platformName: 'Android',
      'appium:automationName': 'PhonehomeVirtual',
      'appium:firmware': index % 2 === 0 ? 'redmi-1s-2014' : 'redmi-1s-optin-update',
    },
    identifiers: {
      imei: [imei(`35000000${String(index).padStart(6, '0')}`)],
      msisdn: [`+4915550${String(index).padStart(5, '0')}`],
      operator: ['China Mobile'],
    },
    settle: { quietMs: 50, maxMs: 3000 },
  }));
  writeFileSync(file, JSON.stringify({ devices: [...devices, ...extra] }, null, 2));
}

/**
 * Inside a `describe`: a second Appium server on another loopback port that plays the device
 * farm (it hosts virtual phones), and a temporary folder; both go away after the suite.
 */
export function useFarm(): { port: () => number; dir: () => string } {
  const dirs = tempDir();
  let farm: AppiumServer | undefined;
  before(async () => {
    farm = await startAppium({ useDrivers: ['phonehome-virtual'] });
  });
  after(async () => {
    await farm?.stop();
    dirs.remove();
  });
  return { port: () => Number(new URL(farm!.url).port), dir: () => dirs.path };
}

/** `phonehome run` of the sim-only scenario on one device of a devices file. */
export function runSimOnly(devicesFile: string, args: string[], env: Record<string, string>) {
  return runCli(
    [
      'run',
      join('test', 'fixtures', 'scenarios', 'sim-only.scenario.ts'),
      '--devices-file',
      devicesFile,
      ...args,
    ],
    env,
  );
}
