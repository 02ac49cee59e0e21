import { readJournal, type ReadOptions } from '../journal/reader.ts';
import type { RunStartRecord } from '../journal/records.ts';
import {
  IDENTIFIER_KINDS,
  type Identifier,
  type IdentifierSource,
  type IdentifierValues,
} from '../types.ts';
import { kindName } from './identifiers.ts';

/** Identifier values a run learnt as it went: read from the phone, canaries, values shown to it. */
export interface LearntIdentifiers {
  source: IdentifierSource;
  values: IdentifierValues;
}

/**
 * Identifiers from several sources, in priority order, each value once; labels number the values
 * of a kind across sources ("IMEI #1" from devices.json, "contact number #1" a canary).
 */
export function mergeIdentifiers(sources: LearntIdentifiers[]): Identifier[] {
  const identifiers: Identifier[] = [];
  for (const kind of IDENTIFIER_KINDS) {
    const seen = new Set<string>();
    for (const { source, values } of sources) {
      // devices.json wins: the phone's own reading of a kind is used only when devices.json has none.
      if (
        source === 'device' &&
        sources.some((s) => s.source === 'devices.json' && (s.values[kind]?.length ?? 0) > 0)
      ) {
        continue;
      }
      for (const value of values[kind] ?? []) {
        if (seen.has(value)) continue;
        seen.add(value);
        identifiers.push({ kind, value, label: `${kindName(kind)} #${seen.size}`, source });
      }
    }
  }
  return identifiers;
}

/**
 * Every identifier a run looked for: those it started with (devices.json or an identifiers
 * file), those read from the phone, the canaries it made up and the values its steps showed the
 * phone — labelled as the run labelled them, so a later scan of the run finds exactly the run's
 * findings.
 */
export function runIdentifiers(start: RunStartRecord, learnt: LearntIdentifiers[]): Identifier[] {
  return mergeIdentifiers([
    { source: start.identifierSource ?? 'devices.json', values: start.identifiers },
    ...learnt.filter((l) => l.source === 'device'),
    ...learnt.filter((l) => l.source === 'canary'),
    ...learnt.filter((l) => l.source === 'planted'),
  ]);
}

/**
 * The identifiers of a run, read from its journal (the run-start record and every identifiers
 * record, wherever the run wrote them).
 *
 * @example
 *   const identifiers = await readRunIdentifiers('reports/latest/journal.ndjson');
 */
export async function readRunIdentifiers(
  journalPath: string,
  options: ReadOptions = {},
): Promise<Identifier[] | undefined> {
  let start: RunStartRecord | undefined;
  const learnt: LearntIdentifiers[] = [];
  for await (const record of readJournal(journalPath, options)) {
    if (record.type === 'run-start') start = record;
    else if (record.type === 'identifiers')
      learnt.push({ source: record.source, values: record.values });
  }
  return start ? runIdentifiers(start, learnt) : undefined;
}
