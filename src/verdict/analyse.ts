import { basename, dirname, join } from 'node:path';
import { createDetector } from '../detect/detector.ts';
import { kindName } from '../detect/identifiers.ts';
import { PhonehomeError } from '../errors.ts';
import { readJournal } from '../journal/reader.ts';
import type { RunStartRecord } from '../journal/records.ts';
import type { RunResult } from '../scenario/result.ts';
import {
  IDENTIFIER_KINDS,
  type Finding,
  type Identifier,
  type IdentifierSource,
  type IdentifierValues,
  type Mark,
  type TlsFailure,
} from '../types.ts';
import { judge } from './judge.ts';

/**
 * Identifiers from several sources, in priority order, each value once; labels number the values
 * of a kind across sources ("IMEI #1" from devices.json, "contact number #1" a canary).
 */
export function mergeIdentifiers(
  sources: { source: IdentifierSource; values: IdentifierValues }[],
): Identifier[] {
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
 * Rebuilds a run's result from its journal alone: identifiers, marks, exchanges, detection,
 * consent verdicts. Reports are derived from this, so a run killed halfway still gets one.
 *
 * @example
 *   const result = await analyseJournal('reports/latest/journal.ndjson');
 *   result.verdicts.filter((v) => v.status !== 'pass');
 */
export async function analyseJournal(
  journalPath: string,
  options: { onTornLine?: (line: number) => void } = {},
): Promise<{ result: RunResult; identifiers: Identifier[] }> {
  let start: RunStartRecord | undefined;
  const learnt: { source: IdentifierSource; values: IdentifierValues }[] = [];
  const marks: Mark[] = [];
  const notes: string[] = [];
  const tlsFailures: TlsFailure[] = [];
  const exchanges: { host: string; startedAt: number }[] = [];
  let endedAt: number | undefined;
  let error: string | undefined;
  let lastAt = 0;
  // Detection needs every identifier, and canaries are journalled as the run goes, so exchanges
  // are scanned in a second streaming pass once the identifiers are all known.
  for await (const record of readJournal(journalPath, options)) {
    switch (record.type) {
      case 'run-start':
        start = record;
        lastAt = record.at;
        break;
      case 'identifiers':
        learnt.push({ source: record.source, values: record.values });
        break;
      case 'note':
        notes.push(record.text);
        break;
      case 'mark':
        marks.push(record.mark);
        lastAt = Math.max(lastAt, record.mark.at);
        break;
      case 'exchange':
        exchanges.push({ host: record.exchange.host, startedAt: record.exchange.startedAt });
        lastAt = Math.max(lastAt, record.exchange.completedAt);
        break;
      case 'tls-failure':
        tlsFailures.push(record.failure);
        lastAt = Math.max(lastAt, record.failure.at);
        break;
      case 'run-end':
        endedAt = record.at;
        error = record.error;
        break;
    }
  }
  if (!start) {
    throw new PhonehomeError(
      'JOURNAL_NO_START',
      `${journalPath} has no run-start record; it is not a phonehome journal (or it is empty)`,
    );
  }
  const identifiers = mergeIdentifiers([
    { source: 'devices.json', values: start.identifiers },
    ...learnt.filter((l) => l.source === 'device'),
    ...learnt.filter((l) => l.source === 'canary'),
  ]);
  const detector = createDetector(identifiers);
  const findings: Finding[] = [];
  let index = 0;
  for await (const record of readJournal(journalPath)) {
    if (record.type !== 'exchange') continue;
    findings.push(...detector.scanExchange(record.exchange, index));
    index += 1;
  }
  const judged = judge({
    marks,
    consents: start.consents.map((c) => ({ name: c.name, covers: c.covers ?? 'all' })),
    findings,
    tlsFailures,
    exchanges,
    forbiddenHosts: start.forbiddenHosts,
  });
  const result: RunResult = {
    runId: start.runId,
    folder: dirname(journalPath),
    scenario: { name: start.scenario, title: start.scenarioTitle },
    device: start.device,
    startedAt: start.at,
    endedAt: endedAt ?? lastAt,
    marks,
    consents: start.consents.map((c) => ({ name: c.name, covers: c.covers ?? 'all' })),
    forbiddenHosts: start.forbiddenHosts,
    exchanges: exchanges.length,
    findings: judged.findings,
    unreadable: judged.unreadable,
    contacts: judged.contacts,
    verdicts: judged.verdicts,
    notes,
    error:
      endedAt === undefined
        ? 'the run did not end normally (killed?); this is what was captured until then'
        : error,
  };
  return { result, identifiers };
}

/** The journal of a run folder, or the file itself when given a journal. */
export function journalPathOf(path: string): string {
  return basename(path) === 'journal.ndjson' ? path : join(path, 'journal.ndjson');
}
