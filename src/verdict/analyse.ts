import { basename, dirname, join } from 'node:path';
import { isProbeHost, probeArrival, routeProbes } from '../capture/probe.ts';
import { UNKNOWN_COVERAGE, type Coverage } from '../coverage.ts';
import { createDetector } from '../detect/detector.ts';
import { dohQuestions } from '../detect/doh.ts';
import { runIdentifiers, type LearntIdentifiers } from '../detect/run-identifiers.ts';
import { PhonehomeError } from '../errors.ts';
import { AppAttribution } from '../journal/attribution.ts';
import { readJournal } from '../journal/reader.ts';
import type { ProbeRecord, RunStartRecord } from '../journal/records.ts';
import type {
  Destination,
  Exchange,
  Finding,
  Identifier,
  Mark,
  RunResult,
  TlsFailure,
  UnscannedPart,
} from '../types.ts';
import { addMark } from '../timeline/timeline.ts';
import { judge, overallStatus } from './judge.ts';
import { exceptionFor } from './opaque-exceptions.ts';

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
  const learnt: LearntIdentifiers[] = [];
  const marks: Mark[] = [];
  const notes: string[] = [];
  const tlsFailures: TlsFailure[] = [];
  const exchanges: { host: string; startedAt: number; app?: string; destination?: Destination }[] =
    [];
  const attribution = new AppAttribution();
  const lookups: { name: string; at: number; app?: string; destination?: Destination }[] = [];
  const unscanned: NonNullable<Parameters<typeof judge>[0]['unscanned']> = [];
  let endedAt: number | undefined;
  let error: string | undefined;
  let coverage: Coverage | undefined;
  const probes: ProbeRecord[] = [];
  const arrivals = new Map<string, number>();
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
      case 'coverage':
        coverage = record.coverage;
        break;
      case 'mark':
        addMark(marks, record.mark);
        lastAt = Math.max(lastAt, record.mark.at);
        break;
      case 'probe':
        probes.push(record);
        break;
      case 'exchange': {
        const { exchange } = record;
        // The route probe is the route's proof, not the phone's traffic: no contact, no count.
        if (isProbeHost(exchange.host)) {
          const url = probeArrival(exchange);
          if (url !== undefined && !arrivals.has(url)) arrivals.set(url, exchange.startedAt);
        } else if (exchange.dns) {
          // A DNS lookup is a contact (and its name is scanned below), not an exchange counted.
          lookups.push({
            name: exchange.host,
            at: exchange.startedAt,
            ...(exchange.app ? { app: exchange.app } : {}),
          });
        } else {
          // A DNS-over-HTTPS request is an exchange with its resolver and a lookup of each name.
          for (const name of dohQuestions(exchange) ?? []) {
            lookups.push({
              name,
              at: exchange.startedAt,
              ...(exchange.app ? { app: exchange.app } : {}),
              ...(exchange.destination ? { destination: exchange.destination } : {}),
            });
          }
          exchanges.push({
            host: exchange.host,
            startedAt: exchange.startedAt,
            ...(exchange.app ? { app: exchange.app } : {}),
            ...(exchange.destination ? { destination: exchange.destination } : {}),
          });
        }
        lastAt = Math.max(lastAt, exchange.completedAt);
        break;
      }
      case 'connection':
        attribution.add(record.connection);
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
  const identifiers = runIdentifiers(start, learnt);
  const detector = createDetector(identifiers);
  const findings: Finding[] = [];
  let index = 0;
  // A connection's app (from the packet dump) can be journalled after the exchange over it.
  const withApp = <T extends { app?: string; destination?: Destination }>(item: T, at: number) =>
    attribution.attribute(item, at);
  if (attribution.size > 0) {
    // In place, one by one: a spread of a whole run's records would overflow the stack.
    exchanges.forEach((e, i) => (exchanges[i] = withApp(e, e.startedAt)));
    tlsFailures.forEach((f, i) => (tlsFailures[i] = withApp(f, f.at)));
    lookups.forEach((l, i) => (lookups[i] = withApp(l, l.at)));
  }
  for await (const record of readJournal(journalPath)) {
    if (record.type !== 'exchange') continue;
    if (isProbeHost(record.exchange.host)) {
      // Never scanned: what the phone was made to send is no finding. Counted, as reports number
      // exchanges in journal order.
      index += 1;
      continue;
    }
    const exchange: Exchange = withApp(record.exchange, record.exchange.startedAt);
    const scanned = await detector.scanAsync(exchange, index);
    findings.push(...scanned.findings);
    for (const { where, reason } of scanned.unscanned) {
      const part = {
        at: exchange.startedAt,
        host: exchange.host,
        exchangeId: exchange.id,
        where,
        reason,
      };
      const exception = exceptionFor(part, start.opaqueExceptions ?? []);
      unscanned.push(exception ? { ...part, excepted: exception.reason } : part);
    }
    index += 1;
  }
  // A step that did nothing is said in the run's notes too, where no finding points at it.
  for (const mark of marks) {
    if (mark.type === 'step' && mark.skipped) {
      notes.push(
        `step '${mark.name}' was skipped by the device: ${mark.skipped}; what it was to cause is not in this run`,
      );
    }
  }
  const consents = start.consents.map((c) => ({ name: c.name, covers: c.covers ?? 'all' }));
  const runError =
    endedAt === undefined
      ? 'the run did not end normally (killed?); this is what was captured until then'
      : error;
  const routeProofs = routeProbes(probes, arrivals);
  const judged = judge({
    marks,
    consents,
    findings,
    tlsFailures,
    exchanges,
    lookups,
    forbiddenHosts: start.forbiddenHosts,
    unscanned,
    knownKinds: [...new Set(identifiers.map((identifier) => identifier.kind))],
    probes: routeProofs,
    ...(runError !== undefined ? { error: runError } : {}),
  });
  const result: RunResult = {
    runId: start.runId,
    folder: dirname(journalPath),
    scenario: {
      name: start.scenario,
      title: start.scenarioTitle,
      ...(start.scenarioFile ? { file: start.scenarioFile } : {}),
    },
    device: start.device,
    startedAt: start.at,
    endedAt: endedAt ?? lastAt,
    marks,
    consents,
    forbiddenHosts: start.forbiddenHosts,
    exchanges: exchanges.length,
    ...(lookups.length > 0 ? { lookups: lookups.length } : {}),
    identifiers: identifiers.length,
    findings: judged.findings,
    unreadable: judged.unreadable,
    unscanned: judged.unscanned,
    contacts: judged.contacts,
    verdicts: judged.verdicts,
    status: overallStatus(judged.verdicts),
    notes: [...notes, ...judged.unscanned.flatMap(exceptedNote)],
    coverage: coverage ?? UNKNOWN_COVERAGE,
    probes: routeProofs,
    ...(runError !== undefined ? { error: runError } : {}),
  };
  return { result, identifiers };
}

/** The journal of a run folder, or the file itself when given a journal. */
export function journalPathOf(path: string): string {
  return basename(path) === 'journal.ndjson' ? path : join(path, 'journal.ndjson');
}

/** An opaque part declared harmless, said as a note in every report, with the declared reason. */
function exceptedNote(part: UnscannedPart): string[] {
  if (part.excepted === undefined) return [];
  return [
    `opaque part declared an exception: ${part.host} ${part.where} during step '${part.step}' — ${part.excepted} (${part.reason})`,
  ];
}
