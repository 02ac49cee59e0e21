import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.ts';
import { createRunFolder } from './run-folder.ts';
import type { RunStartRecord } from './records.ts';
import { JournalWriter } from './writer.ts';

/** What a run says about itself in its first journal line; the rest is filled in here. */
export type RunStart = Omit<RunStartRecord, 'type' | 'version' | 'at' | 'runId' | 'versions'>;

export interface OpenRun {
  folder: { id: string; path: string };
  journal: JournalWriter;
  versions: Record<string, string>;
}

/**
 * Starts a run on disk: its folder under `reportsDir`, its journal, and the journal's first
 * record. Every way of capturing (a scenario run, `phonehome capture`) starts here, so every
 * journal begins the same way.
 *
 * @example
 *   const { folder, journal } = openRun('reports', { scenario: 'capture', scenarioTitle: '…', device, … });
 */
export function openRun(reportsDir: string, start: RunStart): OpenRun {
  const folder = createRunFolder(reportsDir, start.device.id, start.scenario);
  const journal = JournalWriter.open(join(folder.path, 'journal.ndjson'));
  const versions = componentVersions();
  journal.append({
    type: 'run-start',
    version: 1,
    at: Date.now(),
    runId: folder.id,
    ...start,
    versions,
  });
  return { folder, journal, versions };
}

/** Versions of the components that make a result reproducible. */
export function componentVersions(): Record<string, string> {
  const version = (pkg: string) => {
    try {
      const file = join(PROJECT_ROOT, 'node_modules', pkg, 'package.json');
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  const own = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  return {
    phonehome: own.version,
    node: process.versions.node,
    appium: version('appium'),
    webdriverio: version('webdriverio'),
    mockttp: version('mockttp'),
  };
}
