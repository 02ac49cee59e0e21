// Journals written by hand for tests that judge what a route recorded (records as the capture
// writes them), one JSON record per line.
import { writeFileSync } from 'node:fs';
import type { JournalRecord, RunStartRecord } from '../../src/journal/records.ts';

/** A run-start record for a capture on the phone 'pixel' with one consent, 'cloud'. */
export function runStart(at: number, overrides: Partial<RunStartRecord> = {}): RunStartRecord {
  return {
    type: 'run-start',
    version: 1,
    at,
    runId: 'test',
    scenario: 'capture',
    scenarioTitle: 'capture',
    device: { id: 'pixel', kind: 'android' },
    identifiers: {},
    consents: [{ name: 'cloud', covers: 'all' }],
    forbiddenHosts: [],
    versions: { phonehome: '0.1.0' },
    ...overrides,
  };
}

export function writeJournal(path: string, records: JournalRecord[]): void {
  writeFileSync(path, records.map((record) => JSON.stringify(record)).join('\n') + '\n');
}
