import { parseArgs } from 'node:util';
import { EXIT, PhonehomeError } from '../errors.ts';
import { mergeRuns } from '../merge/merge-runs.ts';
import { writeMergedFiles } from '../merge/merged-files.ts';

/**
 * `phonehome merge <folders…> [--out dir] [--json]`: one summary (HTML, JUnit, JSON) over run
 * folders from several devices or CI shards, with a verdict per device × scenario. Exit 1 when any
 * run failed or was inconclusive.
 */
export async function mergeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: 'string', default: 'reports/merged' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length === 0) {
    throw new PhonehomeError(
      'USAGE',
      'phonehome merge needs run folders (or folders holding them), e.g. `phonehome merge artifacts/*`',
    );
  }
  const summary = mergeRuns(positionals);
  const files = writeMergedFiles(summary, values.out);
  if (values.json) {
    console.log(JSON.stringify(summary, null, 2));
  } else {
    for (const run of summary.runs) {
      console.log(
        `${run.status.toUpperCase().padEnd(12)} ${run.scenario.name} on ${run.device.id}${run.device.firmware ? ` (${run.device.firmware})` : ''}: ${run.findingsBeforeConsent} findings before consent`,
      );
    }
    console.log(
      `\n${summary.runs.filter((r) => r.status === 'pass').length} of ${summary.runs.length} runs passed; wrote ${files.join(', ')}`,
    );
  }
  return summary.status === 'pass' ? EXIT.ok : EXIT.leak;
}
