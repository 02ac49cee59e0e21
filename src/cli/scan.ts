import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findDevice, loadDevices } from '../config/devices.ts';
import { readEnvironment } from '../config/env.ts';
import { identifiersFrom, readIdentifiersFile } from '../detect/identifiers.ts';
import { readRunIdentifiers } from '../detect/run-identifiers.ts';
import {
  resolveScanInput,
  scanFile,
  type ScanFileResult,
  type ScanInput,
} from '../detect/scan-file.ts';
import { EXIT, PhonehomeError, describeError, exitCodeFor } from '../errors.ts';
import { maskFragment } from '../detect/mask.ts';
import { JSON_SCHEMA_VERSION } from './json.ts';
import type { Finding, Identifier } from '../types.ts';

/** Unscanned parts told one by one on stderr; the rest are counted (and all are in --json). */
const MAX_WARNINGS = 10;

const USAGE =
  'usage: phonehome scan <file.har | run-folder | journal.ndjson> [--identifiers ids.json|run-folder | --device <id>] [--devices-file f] [--json] [--reveal]';

interface ScanArgs {
  input: string;
  identifiersFile?: string;
  device?: string;
  devicesFile?: string;
  json: boolean;
  reveal: boolean;
  workers?: number;
}

/**
 * `phonehome scan`: finds identifiers in a HAR file or a phonehome run. Returns the exit code:
 * 0 nothing found and everything scanned, 1 something found or something not scanned (the scan
 * cannot call the capture clean), 2 bad input, 3 an internal error.
 *
 * @example
 *   process.exitCode = await scanCommand(['capture.har', '--identifiers', 'ids.json', '--json']);
 */
export async function scanCommand(argv: string[]): Promise<number> {
  let args: ScanArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    console.error(`phonehome scan: ${describeError(error)}\n${USAGE}`);
    return EXIT.usage;
  }
  try {
    const input = resolveScanInput(args.input);
    const identifiers = await chooseIdentifiers(args, input);
    const result = await scanFile(input, identifiers, {
      ...(args.workers !== undefined ? { workers: args.workers } : {}),
      onTornLine: (line) =>
        console.error(
          `phonehome scan: ${input.file}:${line} is torn (the run was killed while writing it); skipped`,
        ),
    });
    // What was not scanned is said on stderr in every mode: a clean table above it is no pass.
    for (const part of result.unscanned.slice(0, MAX_WARNINGS)) {
      console.error(
        `phonehome scan: warning: exchange ${part.exchange} (${part.host || 'no host'}) ${part.where} was not scanned: ${part.reason}`,
      );
    }
    if (result.unscanned.length > MAX_WARNINGS) {
      console.error(
        `phonehome scan: warning: and ${result.unscanned.length - MAX_WARNINGS} more part(s) not scanned (--json lists them all)`,
      );
    }
    if (args.json) {
      console.log(
        JSON.stringify(
          {
            schemaVersion: JSON_SCHEMA_VERSION,
            findings: result.findings.map(jsonFinding),
            unscanned: result.unscanned,
          },
          null,
          2,
        ),
      );
    } else console.log(table(result, input.file, args.reveal));
    return result.findings.length > 0 || result.unscanned.length > 0 ? EXIT.leak : EXIT.ok;
  } catch (error) {
    console.error(`phonehome scan: ${describeError(error)}`);
    return exitCodeFor(error);
  }
}

function parseArgs(argv: string[]): ScanArgs {
  const positional: string[] = [];
  const args: Partial<ScanArgs> = { json: false, reveal: readEnvironment().reveal };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--json') args.json = true;
    else if (arg === '--reveal') args.reveal = true;
    else if (arg === '--identifiers') args.identifiersFile = value();
    else if (arg === '--device') args.device = value();
    else if (arg === '--devices-file') args.devicesFile = value();
    else if (arg === '--workers') {
      const count = Number(value());
      if (!Number.isInteger(count) || count < 0)
        throw new Error('--workers needs a whole number, 0 to scan in one thread');
      args.workers = count;
    } else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else positional.push(arg);
  }
  if (positional.length !== 1) {
    throw new Error(
      positional.length === 0
        ? 'which capture? give a .har file, a run folder or a journal.ndjson'
        : `one capture at a time; got ${positional.join(', ')}`,
    );
  }
  if (args.identifiersFile && args.device)
    throw new Error('give --identifiers or --device, not both');
  return { ...args, input: positional[0] as string } as ScanArgs;
}

/**
 * --identifiers (a file, or a run folder / journal whose identifiers to use), else --device, else
 * the run's own: for a journal, or a HAR that sits in a run folder beside its journal, every
 * identifier the run knew — devices.json's, those read from the phone, and its canaries — so the
 * scan finds exactly the run's findings.
 */
async function chooseIdentifiers(args: ScanArgs, input: ScanInput): Promise<Identifier[]> {
  if (args.identifiersFile) {
    const file = args.identifiersFile;
    const run =
      existsSync(file) && statSync(file).isDirectory() ? resolveScanInput(file) : undefined;
    if (run || file.endsWith('.ndjson')) return ofRun(run?.file ?? file);
    return identifiersFrom(readIdentifiersFile(file), 'file');
  }
  if (args.device) {
    const entry = findDevice(loadDevices(args.devicesFile), args.device);
    return identifiersFrom(entry.identifiers, 'devices.json');
  }
  if (input.format === 'journal') return ofRun(input.file);
  const beside = join(dirname(input.file), 'journal.ndjson');
  if (existsSync(beside)) return ofRun(beside);
  throw new PhonehomeError(
    'IDENTIFIERS_MISSING',
    `${input.file} is a HAR file, which carries no identifiers; pass --identifiers ids.json, --identifiers <the run folder it came from>, or --device <id>`,
  );
}

async function ofRun(journal: string): Promise<Identifier[]> {
  const identifiers = await readRunIdentifiers(journal);
  if (!identifiers) {
    throw new PhonehomeError(
      'JOURNAL_NO_START',
      `${journal} has no run-start record; it is not a phonehome journal`,
    );
  }
  return identifiers;
}

function jsonFinding(finding: Finding) {
  const { exchange, kind, label, form, where, host, offset, evidence } = finding;
  return { exchange, kind, label, form, where, host, offset, evidence };
}

function table(result: ScanFileResult, file: string, reveal: boolean): string {
  const { findings, exchanges, unscanned } = result;
  const touched = new Set(findings.map((finding) => finding.exchange)).size;
  const lines = [
    findings.length === 0
      ? `nothing found in ${exchanges} exchange${exchanges === 1 ? '' : 's'} of ${file}`
      : `${findings.length} finding${findings.length === 1 ? '' : 's'} in ${touched} of ${exchanges} exchanges of ${file}`,
  ];
  if (unscanned.length > 0) {
    lines.push(
      `inconclusive: ${unscanned.length} part(s) of ${new Set(unscanned.map((p) => p.exchange)).size} exchange(s) were not scanned, so the capture cannot be called clean (see the warnings)`,
    );
  }
  if (findings.length === 0) return lines.join('\n');
  const rows = findings.map((f) => [
    String(f.exchange),
    f.host,
    f.label,
    f.form,
    f.where,
    f.evidence,
  ]);
  const header = ['#', 'host', 'identifier', 'form', 'where', 'evidence'];
  const widths = header.map((title, column) =>
    Math.min(48, Math.max(title.length, ...rows.map((row) => (row[column] as string).length))),
  );
  const render = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] as number))
      .join('  ')
      .trimEnd();
  lines.push(render(header));
  findings.forEach((finding, i) => {
    lines.push(render(rows[i] as string[]));
    lines.push(`    ${maskFragment(finding.fragment, reveal)}`);
  });
  if (!reveal) lines.push('(values masked; --reveal or PHONEHOME_REVEAL=1 shows them)');
  return lines.join('\n');
}
