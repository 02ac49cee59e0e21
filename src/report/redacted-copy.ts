import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PhonehomeError } from '../errors.ts';
import { readJournal } from '../journal/reader.ts';
import type { JournalRecord } from '../journal/records.ts';
import type { Mark, RunResult, Verdict } from '../types.ts';
import { createRangeFinder, type RangeFinder } from './identifier-ranges.ts';
import { openPrivateFile } from '../journal/private-file.ts';
import { redactExchange, redactFragment, redactText } from './redact.ts';
import { writeDerivedFiles, type ReportFiles, type RunReportInput } from './write-run-reports.ts';

/**
 * Marks a redacted journal's run-start record: its identifiers were removed, so nothing can be
 * re-detected in it, and `phonehome report` must not rebuild (and so empty) its reports.
 */
export interface RedactedMarker {
  redacted: { labels: string[] };
}

/**
 * Writes a copy of a run folder that is safe to attach to a bug report: the journal with every
 * identifier value and encoded form replaced by its label ("[IMEI-1]"), parts that hold one in a
 * form that cannot be rewritten removed, and every derived file written from that journal. The
 * original is not touched. `out` must not exist, or be an earlier redacted copy.
 *
 * @example
 *   await writeRedactedCopy({ result, identifiers, versions }, 'reports/latest-redacted');
 */
export async function writeRedactedCopy(input: RunReportInput, out: string): Promise<ReportFiles> {
  prepareFolder(out);
  const finder = createRangeFinder(input.identifiers);
  const source = join(input.result.folder, 'journal.ndjson');
  const journal = openPrivateFile(join(out, 'journal.ndjson'));
  try {
    for await (const record of readJournal(source)) {
      const redacted = redactRecord(record, finder, input);
      if (redacted) journal.write(JSON.stringify(redacted) + '\n');
    }
    journal.commit();
  } catch (error) {
    journal.abort();
    throw error;
  }
  const result = redactResult(input.result, finder, out);
  const files = await writeDerivedFiles({ ...input, result }, finder, 'redact', {
    redacted: true,
  });
  files.written.unshift(join(out, 'journal.ndjson'));
  return files;
}

/** True when a journal's first record says it is a redacted copy. */
export function isRedactedStart(record: JournalRecord): boolean {
  return record.type === 'run-start' && 'redacted' in record;
}

function redactRecord(
  record: JournalRecord,
  finder: RangeFinder,
  input: RunReportInput,
): JournalRecord | undefined {
  const text = (value: string) => redactText(value, finder);
  switch (record.type) {
    case 'run-start': {
      const marker: RedactedMarker = {
        redacted: { labels: input.identifiers.map((identifier) => identifier.label) },
      };
      return { ...record, identifiers: {}, ...marker };
    }
    case 'identifiers':
      // The values themselves: nothing of them may stay.
      return undefined;
    case 'note':
      return { ...record, text: text(record.text) };
    case 'mark':
      return { ...record, mark: redactMark(record.mark, text) };
    case 'exchange':
      return { ...record, exchange: redactExchange(record.exchange, finder) };
    case 'tls-failure':
      return {
        ...record,
        failure: {
          ...record.failure,
          cause: text(record.failure.cause),
          ...(record.failure.host !== undefined ? { host: text(record.failure.host) } : {}),
          ...(record.failure.remoteAddress !== undefined
            ? { remoteAddress: text(record.failure.remoteAddress) }
            : {}),
        },
      };
    case 'connection':
      // Which app connected where: no identifier, unless an app or address were one.
      return {
        ...record,
        connection: {
          ...record.connection,
          app: text(record.connection.app),
          address: text(record.connection.address),
        },
      };
    case 'run-end':
      return record.error !== undefined ? { ...record, error: text(record.error) } : record;
    default:
      // A record type this copy does not know may hold anything: it is left out, not guessed at.
      return undefined;
  }
}

function redactResult(result: RunResult, finder: RangeFinder, folder: string): RunResult {
  const text = (value: string) => redactText(value, finder);
  return {
    ...result,
    folder,
    marks: result.marks.map((mark) => redactMark(mark, text)),
    findings: result.findings.map((finding) => ({
      ...finding,
      host: text(finding.host),
      where: text(finding.where),
      step: text(finding.step),
      fragment: redactFragment(finding.fragment, finding.label, finder),
    })),
    unreadable: result.unreadable.map((failure) => ({
      ...failure,
      cause: text(failure.cause),
      step: text(failure.step),
      ...(failure.host !== undefined ? { host: text(failure.host) } : {}),
      ...(failure.remoteAddress !== undefined
        ? { remoteAddress: text(failure.remoteAddress) }
        : {}),
    })),
    contacts: result.contacts.map((contact) => ({
      ...contact,
      host: text(contact.host),
      step: text(contact.step),
    })),
    verdicts: result.verdicts.map((verdict) => redactVerdict(verdict, finder)),
    ...(result.notes ? { notes: result.notes.map(text) } : {}),
    ...(result.error !== undefined ? { error: text(result.error) } : {}),
  };
}

function redactVerdict(verdict: Verdict, finder: RangeFinder): Verdict {
  return {
    ...verdict,
    name: redactText(verdict.name, finder),
    summary: redactText(verdict.summary, finder),
    message: redactText(verdict.message, finder),
  };
}

/** Creates `out` (0700), or reuses an earlier redacted copy; never writes into anything else. */
function prepareFolder(out: string): void {
  if (existsSync(out)) {
    const entries = readdirSync(out);
    if (entries.length > 0 && !wasRedactedCopy(out)) {
      throw new PhonehomeError(
        'USAGE_REDACT_TARGET',
        `${out} exists and is not a redacted copy; choose another folder with --out`,
      );
    }
    return;
  }
  try {
    mkdirSync(out, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new PhonehomeError('USAGE_REDACT_TARGET', `cannot create ${out}: ${String(error)}`, {
      cause: error,
    });
  }
}

function wasRedactedCopy(folder: string): boolean {
  try {
    const run = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as {
      redacted?: boolean;
    };
    return run.redacted === true;
  } catch {
    return false;
  }
}

/** A mark with its texts redacted: the step's name and why it was skipped. */
function redactMark(mark: Mark, text: (value: string) => string): Mark {
  return {
    ...mark,
    name: text(mark.name),
    ...(mark.skipped !== undefined ? { skipped: text(mark.skipped) } : {}),
  };
}
