import { rmSync } from 'node:fs';
import { join } from 'node:path';
import scenario from '../../scenarios/fsecure-out-of-box.scenario.ts';
import { findDevice, loadDevices } from '../../src/config/devices.ts';
import { runScenario } from '../../src/scenario/run.ts';
import type { Identifier, RunResult } from '../../src/types.ts';
import { analyseJournal } from '../../src/verdict/analyse.ts';
import { tempDir } from '../support/temp.ts';

/** A real run of the F-Secure scenario on the virtual phone, with the identifiers it looked for. */
export interface VirtualRun {
  result: RunResult;
  folder: string;
  identifiers: Identifier[];
}

export interface VirtualRuns {
  /** Firmware redmi-1s-2014: leaks before consent. */
  leaky: VirtualRun;
  /** Firmware redmi-1s-optin-update: nothing before consent. */
  fixed: VirtualRun;
  reportsDir: string;
}

let runs: Promise<VirtualRuns> | undefined;

/**
 * Both firmwares through the whole pipeline (embedded Appium, virtual phone, proxy, journal,
 * reports), once per test process: the report, HTML, redaction and diff tests all read these
 * run folders and never change them (they write copies or other folders).
 */
export function virtualRuns(): Promise<VirtualRuns> {
  runs ??= (async () => {
    const dirs = tempDir('phonehome-report-runs-');
    // Shared by several test files: removed when the test process ends.
    process.once('exit', () => rmSync(dirs.path, { recursive: true, force: true }));
    const config = loadDevices(join(import.meta.dirname, '..', '..', 'devices.json'));
    const reportsDir = join(dirs.path, 'reports');
    const run = async (id: string): Promise<VirtualRun> => {
      const result = await runScenario({
        scenario,
        entry: findDevice(config, id),
        reportsDir,
        caDir: join(dirs.path, 'ca'),
      });
      const { identifiers } = await analyseJournal(join(result.folder, 'journal.ndjson'));
      return { result, folder: result.folder, identifiers };
    };
    const leaky = await run('virtual-redmi-1s-2014');
    const fixed = await run('virtual-redmi-1s-optin');
    return { leaky, fixed, reportsDir };
  })();
  return runs;
}
