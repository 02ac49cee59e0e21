import { parseArgs } from 'node:util';
import { statusWord } from '../coverage.ts';
import { PhonehomeError, exitCodeForStatus } from '../errors.ts';
import { mergeRuns } from '../merge/merge-runs.ts';
import { writeMergedFiles } from '../merge/merged-files.ts';
import { JSON_SCHEMA_VERSION } from './json.ts';

/**
 * `phonehome merge <folders…> [--out dir] [--json]`: one summary (HTML, JUnit, JSON) over run
 * folders from several devices or CI shards, with a verdict per device × scenario. The files go
 * to --out (default reports/merged); with --json the summary goes to stdout and files are
 * written only when --out is given. Exit as `phonehome run` would over the same runs.
 */
export async function mergeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length === 0) {
    throw new PhonehomeError(
      'USAGE',
      'phonehome merge needs run folders (or folders holding them), e.g. `phonehome merge artifacts/*`',
    );
  }
  const summary = await mergeRuns(positionals);
  const out = values.out ?? (values.json ? undefined : 'reports/merged');
  const files = out ? writeMergedFiles(summary, out) : [];
  if (values.json) {
    console.log(JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...summary }, null, 2));
  } else {
    for (const run of summary.runs) {
      console.log(
        `${statusWord(run.status, run.coverage).padEnd(12)} ${run.scenario.name} on ${run.device.id}${run.device.firmware ? ` (${run.device.firmware})` : ''}`,
      );
      for (const verdict of run.verdicts.filter((v) => v.status !== 'pass'))
        console.log(`  ${verdict.status}: ${verdict.name} — ${verdict.summary}`);
    }
    console.log(
      `\n${summary.runs.filter((r) => r.status === 'pass').length} of ${summary.runs.length} runs passed; wrote ${files.join(', ')}`,
    );
  }
  return exitCodeForStatus(summary.status);
}
