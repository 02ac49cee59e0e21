import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { JSON_SCHEMA_VERSION } from './json.ts';
import { compareRuns } from '../diff/compare-runs.ts';
import { diffHtml } from '../diff/diff-html.ts';
import { diffTable } from '../diff/diff-table.ts';
import { DEFAULT_FAIL_RULES, FAIL_RULES, judgeDiff, parseFailRules } from '../diff/diff-verdict.ts';
import { loadRun } from '../diff/load-run.ts';
import { EXIT, PhonehomeError, describeError, exitCodeFor, isParseArgsError } from '../errors.ts';
import { writePrivateFile } from '../journal/private-file.ts';

const USAGE = `usage: phonehome diff <runA> <runB> [--json] [--html diff.html] [--fail-on rules] [--strong-only] [--allow-other-scenario]

Compares two runs of one scenario (e.g. firmware before and after an update) by identifier kind,
not value: for each (host, kind, phase), fixed / still leaking / new; and the hosts newly or no
longer contacted before consent.
--fail-on  what makes the exit code 1, comma-separated (default: ${DEFAULT_FAIL_RULES.join(',')}):
           ${FAIL_RULES.join(', ')}, or none
--strong-only  ignore rows whose findings are all weak evidence
Exit codes: 0 ok, 1 a rule failed, 2 bad input, 3 internal error.`;

/**
 * `phonehome diff <runA> <runB>`: which leaks B fixed, kept or brought. Returns the exit code.
 *
 * @example
 *   process.exitCode = await diffCommand(['reports/before', 'reports/after', '--html', 'diff.html']);
 */
export async function diffCommand(argv: string[]): Promise<number> {
  try {
    return await diff(argv);
  } catch (error) {
    if (!(error instanceof PhonehomeError) && !isParseArgsError(error)) throw error;
    const code = exitCodeFor(error);
    console.error(
      `phonehome diff: ${describeError(error)}${code === EXIT.usage ? `\n${USAGE}` : ''}`,
    );
    return code;
  }
}

async function diff(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      html: { type: 'string' },
      'fail-on': { type: 'string' },
      'strong-only': { type: 'boolean', default: false },
      'allow-other-scenario': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (positionals.length !== 2) {
    throw new PhonehomeError(
      'USAGE_DIFF_RUNS',
      `give two run folders, the run before and the run after; got ${positionals.length}`,
    );
  }
  const failOn = values['fail-on'] ? parseFailRules(values['fail-on']) : DEFAULT_FAIL_RULES;
  const [a, b] = await Promise.all(positionals.map((path) => loadRun(path)));
  if (!a || !b) throw new PhonehomeError('USAGE_DIFF_RUNS', 'give two run folders');
  if (a.scenario.name !== b.scenario.name && !values['allow-other-scenario']) {
    throw new PhonehomeError(
      'USAGE_DIFF_SCENARIOS',
      `the runs are of different scenarios ('${a.scenario.name}' and '${b.scenario.name}'); a diff compares one scenario before and after a change (--allow-other-scenario compares them anyway)`,
    );
  }
  const result = compareRuns(a, b);
  const verdict = judgeDiff(result, { failOn, strongOnly: values['strong-only'] });
  if (values.html) writePrivateFile(resolve(values.html), diffHtml(result, verdict));
  if (values.json) {
    console.log(
      JSON.stringify(
        { schemaVersion: JSON_SCHEMA_VERSION, ...result, failOn, ...verdict },
        null,
        2,
      ),
    );
  } else {
    console.log(diffTable(result, verdict));
    if (values.html) console.log(`\nHTML: ${values.html}`);
  }
  return verdict.ok ? EXIT.ok : EXIT.leak;
}
