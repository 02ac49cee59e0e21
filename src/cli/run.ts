import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../appium/server.ts';
import { chooseDevice, findDevice, loadDevices, type DeviceEntry } from '../config/devices.ts';
import { readEnvironment } from '../config/env.ts';
import { EXIT, PhonehomeError } from '../errors.ts';
import { formatOutcome } from '../report/console-summary.ts';
import { overallStatus } from '../report/json-report.ts';
import type { Scenario } from '../scenario/define.ts';
import { runScenario } from '../scenario/run.ts';

const FSECURE = join(PROJECT_ROOT, 'scenarios', 'fsecure-out-of-box.scenario.ts');

/**
 * `phonehome start`: the story phonehome exists to retell, on the built-in virtual phone — the
 * F-Secure scenario against the 2014 firmware (it leaks) and the opt-in update (it does not).
 * Exits 0 when both behave as the story says.
 */
export async function startCommand(argv: string[]): Promise<number> {
  parseArgs({ args: argv, options: {}, strict: true });
  const config = loadDevices(join(PROJECT_ROOT, 'devices.json'));
  const scenario = await importScenario(FSECURE);
  const reveal = readEnvironment().reveal;
  const expected = [
    { id: 'virtual-redmi-1s-2014', want: 'fail', story: 'the firmware F-Secure tested in 2014' },
    { id: 'virtual-redmi-1s-optin', want: 'pass', story: "after Xiaomi's opt-in update" },
  ] as const;
  let asTold = true;
  for (const { id, want, story } of expected) {
    console.log(`\n▶ ${scenario.title}\n  on the virtual Redmi 1S, ${story} (device ${id})`);
    const outcome = await runScenario({ scenario, entry: findDevice(config, id), log: statusLine });
    clearStatusLine();
    const status = overallStatus([...outcome.result.verdicts, ...outcome.checks]);
    console.log(formatOutcome(outcome, { reveal }));
    if (status !== want) asTold = false;
  }
  console.log(
    asTold
      ? '\nAs in 2014: the original firmware sends the IMEI, phone number and operator before consent; the update waits for the opt-in.\nNext: `npm test` runs the suites; README.md explains a phone on USB, a device farm, and checking an update.'
      : '\nThe virtual phone did not behave as the story says; see the lines above.',
  );
  return asTold ? EXIT.ok : EXIT.leak;
}

/** `phonehome run`: scenarios × devices, one run folder each; exit 1 when any verdict fails. */
export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      device: { type: 'string' },
      'devices-file': { type: 'string' },
      reveal: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  const config = loadDevices(values['devices-file']);
  const devices: DeviceEntry[] = values.device
    ? values.device.split(',').map((id) => findDevice(config, id.trim()))
    : [chooseDevice(config)];
  const files =
    positionals.length > 0 ? positionals.map((file) => resolve(file)) : defaultScenarios();
  const scenarios = await Promise.all(files.map(importScenario));
  const reveal = values.reveal || readEnvironment().reveal;
  let worst = EXIT.ok as number;
  for (const scenario of scenarios) {
    for (const entry of devices) {
      console.log(`\n▶ ${scenario.name} on ${entry.id}`);
      const outcome = await runScenario({
        scenario,
        entry,
        log: values.quiet ? undefined : progress,
      });
      console.log(formatOutcome(outcome, { reveal }));
      for (const check of outcome.checks.filter((c) => c.status !== 'pass')) {
        console.log(`  ✗ ${check.name} (${check.status})\n${indent(check.message)}`);
      }
      if (overallStatus([...outcome.result.verdicts, ...outcome.checks]) !== 'pass')
        worst = EXIT.leak;
    }
  }
  return worst;
}

function defaultScenarios(): string[] {
  const dir = resolve('scenarios');
  let files: string[];
  try {
    files = readdirSync(dir).filter((file) => file.endsWith('.scenario.ts'));
  } catch {
    files = [];
  }
  if (files.length === 0) {
    throw new PhonehomeError(
      'SCENARIO_NONE',
      `no *.scenario.ts in ${dir}; name scenario files on the command line`,
    );
  }
  return files.sort().map((file) => join(dir, file));
}

async function importScenario(file: string): Promise<Scenario> {
  let module: { default?: Scenario };
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: Scenario };
  } catch (error) {
    throw new PhonehomeError(
      'SCENARIO_LOAD',
      `cannot load the scenario ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (!module.default || typeof module.default.steps !== 'function') {
    throw new PhonehomeError(
      'SCENARIO_INVALID',
      `${file} does not default-export a scenario; write \`export default defineScenario({ … })\``,
    );
  }
  return module.default;
}

function progress(line: string): void {
  if (process.stdout.isTTY) console.log(`\x1b[2m${line}\x1b[0m`);
  else console.log(line);
}

/** On a terminal, progress as one line rewritten in place; elsewhere nothing (the summary follows). */
function statusLine(line: string): void {
  if (!process.stdout.isTTY) return;
  const width = Math.max(20, (process.stdout.columns ?? 80) - 1);
  process.stdout.write(`\r\x1b[2K\x1b[2m${line.trim().slice(0, width)}\x1b[0m`);
}

function clearStatusLine(): void {
  if (process.stdout.isTTY) process.stdout.write('\r\x1b[2K');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
}
