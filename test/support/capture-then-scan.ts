import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bodyStore } from '../../src/capture/bodies.ts';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { CaptureSession, type AnswerPolicy } from '../../src/capture/session.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import type { CertificateAuthority, Finding } from '../../src/types.ts';
import { runCli } from './cli.ts';
import { runStart } from './journal.ts';

/**
 * A real capture in a run folder under `folder`: `send` makes the phone's requests through it
 * (real clients, real TLS), then the real `phonehome scan --json` reads the run folder with the
 * phone's `identifiers`. The scan must find something (exit 1) and leave nothing unscanned.
 *
 * @example
 *   const findings = await captureThenScan(dir, answers, async (capture, ca) => post(capture.port, …), { imei: '356938035643809' });
 */
export async function captureThenScan(
  folder: string,
  answers: AnswerPolicy,
  send: (capture: CaptureSession, ca: CertificateAuthority) => Promise<void>,
  identifiers: Record<string, string>,
): Promise<Finding[]> {
  const ca = await loadOrCreateCa(join(folder, 'ca'));
  const run = join(folder, 'run');
  mkdirSync(run);
  const journal = JournalWriter.open(join(run, 'journal.ndjson'));
  journal.append(runStart(Date.now()));
  const capture = await CaptureSession.start({ ca, journal, bodies: bodyStore(run), answers });
  try {
    await send(capture, ca);
    await capture.waitQuiet(100, 10_000);
  } finally {
    await capture.stop();
    journal.append({ type: 'run-end', at: Date.now() });
    journal.close();
  }
  const ids = join(folder, 'ids.json');
  writeFileSync(
    ids,
    JSON.stringify(
      Object.fromEntries(Object.entries(identifiers).map(([kind, value]) => [kind, [value]])),
    ),
  );
  const scanned = await runCli(['scan', run, '--identifiers', ids, '--json']);
  expect(scanned.code, scanned.stderr).to.equal(1);
  const report = JSON.parse(scanned.stdout) as { findings: Finding[]; unscanned: unknown[] };
  expect(report.unscanned).to.deep.equal([]);
  return report.findings;
}
