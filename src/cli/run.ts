import { importScenario } from '../scenario/load.ts';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { showAppiumLog } from '../appium/server.ts';
import { colourStatuses, dim } from './colour.ts';
import { JSON_SCHEMA_VERSION } from './json.ts';
import { PROJECT_ROOT } from '../paths.ts';
import {
  chooseDevice,
  findDevice,
  loadDevices,
  type DeviceEntry,
  type DevicesConfig,
} from '../config/devices.ts';
import { readEnvironment } from '../config/env.ts';
import { EXIT, PhonehomeError, describeError, exitCodeForStatus } from '../errors.ts';
import { formatOutcome } from '../report/console-summary.ts';
import { overallStatus } from '../verdict/judge.ts';
import { createDevice } from '../device/registry.ts';
import { checkScenarioFits } from '../scenario/fit.ts';
import { runScenario } from '../scenario/run.ts';
import { RunSession } from '../session/run-session.ts';

const FSECURE = join(PROJECT_ROOT, 'scenarios', 'fsecure-out-of-box.scenario.ts');

/**
 * `phonehome start`: the story phonehome exists to retell, on the built-in virtual phone — the
 * F-Secure scenario against the 2014 firmware (it leaks) and the opt-in update (it does not).
 * Exits 0 when both behave as the story says.
 */
export async function startCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { verbose: { type: 'boolean', default: false } },
    strict: true,
  });
  if (values.verbose) showAppiumLog();
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
    const result = await runScenario({ scenario, entry: findDevice(config, id), log: statusLine });
    clearStatusLine();
    console.log(colourStatuses(formatOutcome(result, { reveal })));
    if (result.status !== want) asTold = false;
  }
  console.log(
    asTold
      ? '\nAs in 2014: the original firmware sends the IMEI, phone number and operator before consent; the update waits for the opt-in.\nOpen report.html in a run folder to see each leak in context; `phonehome diff <2014 run> <update run>` compares them.\nNext: `npm test` runs the suites; README.md explains a phone on USB, a device farm, and checking an update.'
      : '\nThe virtual phone did not behave as the story says; see the lines above.',
  );
  return asTold ? EXIT.ok : EXIT.leak;
}

/**
 * `phonehome run`: scenarios × devices, one run folder each. Exits as the runs' one status says:
 * 0 pass, 1 fail or inconclusive, 3 when a run broke (and nothing failed).
 */
export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      device: { type: 'string' },
      devices: { type: 'string' },
      'devices-file': { type: 'string' },
      parallel: { type: 'string' },
      shard: { type: 'string' },
      reveal: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  if (values.verbose) showAppiumLog();
  const json = values.json;
  // With --json, stdout holds the JSON alone; what a person would read goes nowhere.
  const say = json ? () => {} : (text: string) => console.log(text);
  const config = loadDevices(values['devices-file']);
  const wanted = values.devices ?? values.device;
  if (wanted !== undefined && wanted.trim() === '') {
    throw new PhonehomeError(
      'USAGE',
      `--device${values.devices !== undefined ? 's' : ''} is empty; give a device id from ${config.file} (known: ${config.devices.map((d) => d.id).join(', ')})`,
    );
  }
  let devices: DeviceEntry[] = wanted ? selectDevices(config, wanted) : [chooseDevice(config)];
  if (values.shard) devices = shardOf(devices, values.shard);
  const parallel =
    values.parallel === undefined ? 1 : positiveInteger(values.parallel, '--parallel');
  const files =
    positionals.length > 0 ? positionals.map((file) => resolve(file)) : defaultScenarios();
  const scenarios = await Promise.all(files.map(importScenario));
  const reveal = values.reveal || readEnvironment().reveal;
  // Every device is built, and the CA and reports folders checked, before any run starts, so a
  // bad entry, a missing ${VAR} or an unwritable folder stops the command with exit 2 before
  // anything touches a phone.
  for (const entry of devices) createDevice(entry);
  await RunSession.preflight(readEnvironment());
  // A scenario on a device it does not fit is refused here, before any run, never run and passed.
  for (const scenario of scenarios) for (const entry of devices) checkScenarioFits(scenario, entry);
  if (devices.length === 0) {
    say(`phonehome: shard ${values.shard} has no devices; nothing to run`);
    if (json)
      console.log(
        JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, status: 'pass', runs: [] }, null, 2),
      );
    return EXIT.ok;
  }
  const runs: JsonRun[] = [];
  const jobs = scenarios.flatMap((scenario) => devices.map((entry) => ({ scenario, entry })));
  const statuses = await inPool(jobs, parallel, async ({ scenario, entry }) => {
    const prefix = parallel > 1 ? `[${entry.id}] ` : '';
    if (parallel === 1) say(`\n▶ ${scenario.name} on ${entry.id}`);
    try {
      const result = await runScenario({
        scenario,
        entry,
        log: values.quiet || json ? undefined : (line) => progress(`${prefix}${line}`),
      });
      runs.push({
        scenario: scenario.name,
        device: entry.id,
        status: result.status,
        folder: result.folder,
        verdicts: result.verdicts.map(({ name, status, summary }) => ({ name, status, summary })),
      });
      // One block per run, printed whole, so parallel runs do not interleave their summaries.
      say(
        [
          parallel > 1 ? `\n▶ ${scenario.name} on ${entry.id}` : '',
          colourStatuses(formatOutcome(result, { reveal })),
        ]
          .filter(Boolean)
          .join('\n'),
      );
      return result.status;
    } catch (error) {
      // One device failing (unreachable, refused) must not stop the others.
      say(`\n▶ ${scenario.name} on ${entry.id}\nERROR  ${describeError(error)}`);
      runs.push({
        scenario: scenario.name,
        device: entry.id,
        status: 'error',
        error: describeError(error),
        verdicts: [],
      });
      return 'error' as const;
    }
  });
  if (jobs.length > 1) {
    const passed = statuses.filter((status) => status === 'pass').length;
    say(`\n${passed} of ${jobs.length} runs passed`);
  }
  const overall = overallStatus(statuses.map((status) => ({ status })));
  if (json) {
    console.log(
      JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, status: overall, runs }, null, 2),
    );
  }
  return exitCodeForStatus(overall);
}

/** One run in `phonehome run --json`. */
interface JsonRun {
  scenario: string;
  device: string;
  status: string;
  folder?: string;
  error?: string;
  verdicts: { name: string; status: string; summary: string }[];
}

/** "a,b,tag:nightly" → the devices with those ids, plus every device tagged "nightly". */
export function selectDevices(config: DevicesConfig, list: string): DeviceEntry[] {
  const chosen = new Map<string, DeviceEntry>();
  for (const item of list
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    if (item.startsWith('tag:')) {
      const tag = item.slice(4);
      const tagged = config.devices.filter((device) => device.tags?.includes(tag));
      if (tagged.length === 0) {
        throw new PhonehomeError(
          'DEVICE_UNKNOWN',
          `no device in ${config.file} has the tag '${tag}'`,
        );
      }
      for (const device of tagged) chosen.set(device.id, device);
    } else {
      const device = findDevice(config, item);
      chosen.set(device.id, device);
    }
  }
  return [...chosen.values()];
}

/**
 * "--shard 2/3": the second of three stable slices of the devices, by sorted id, so a CI matrix
 * of three runners covers every device exactly once.
 */
export function shardOf(devices: DeviceEntry[], spec: string): DeviceEntry[] {
  const match = /^(\d+)\/(\d+)$/.exec(spec);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) {
    throw new PhonehomeError(
      'USAGE',
      `--shard takes i/n with 1 ≤ i ≤ n (e.g. --shard 2/3), not '${spec}'`,
    );
  }
  return [...devices]
    .sort((a, b) => a.id.localeCompare(b.id))
    .filter((_, position) => position % count === index - 1);
}

function positiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new PhonehomeError('USAGE', `${flag} takes a whole number ≥ 1, not '${text}'`);
  }
  return value;
}

/** Runs `work` over `items` with at most `limit` at once; results in input order. */
async function inPool<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
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

function progress(line: string): void {
  console.log(dim(line));
}

/** On a terminal, progress as one line rewritten in place; elsewhere nothing (the summary follows). */
function statusLine(line: string): void {
  if (!process.stdout.isTTY) return;
  const width = Math.max(20, (process.stdout.columns ?? 80) - 1);
  process.stdout.write(`\r\x1b[2K${dim(line.trim().slice(0, width))}`);
}

function clearStatusLine(): void {
  if (process.stdout.isTTY) process.stdout.write('\r\x1b[2K');
}
