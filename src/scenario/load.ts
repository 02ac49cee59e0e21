import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PhonehomeError, describeError } from '../errors.ts';
import { PROJECT_ROOT } from '../paths.ts';
import type { Scenario } from './define.ts';

/**
 * Imports a scenario file and returns its default export, with errors that say what to fix.
 *
 * @example
 *   const scenario = await importScenario('scenarios/fsecure-out-of-box.scenario.ts');
 */
export async function importScenario(file: string): Promise<Scenario> {
  if (!existsSync(file)) {
    throw new PhonehomeError('SCENARIO_LOAD', `${file} does not exist; pass a *.scenario.ts file`);
  }
  let module: { default?: Scenario };
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: Scenario };
  } catch (error) {
    throw new PhonehomeError(
      'SCENARIO_LOAD',
      `cannot load the scenario ${file}: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  const scenario = module.default;
  if (!scenario || typeof scenario.steps !== 'function' || typeof scenario.checks !== 'object') {
    throw new PhonehomeError(
      'SCENARIO_INVALID',
      `${file} does not default-export a scenario; write \`export default defineScenario({ … })\``,
    );
  }
  return { ...scenario, file: scenarioFileName(file) };
}

/** A scenario file as reports name it: relative to the project when inside it. */
export function scenarioFileName(file: string): string {
  const inside = relative(PROJECT_ROOT, file);
  return inside.startsWith('..') ? file : inside;
}
