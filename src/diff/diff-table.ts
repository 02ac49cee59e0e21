import type { DiffRow, RunDiff, RunSummary } from './compare-runs.ts';
import type { DiffVerdict } from './diff-verdict.ts';

/**
 * How a row's status reads: a leak is fixed, still leaking or new; after consent the same
 * changes are no leak, and say so.
 *
 * @example
 *   statusWords({ status: 'still', beforeConsent: true, … }) // → 'still leaking'
 */
export function statusWords(row: Pick<DiffRow, 'status' | 'beforeConsent'>): string {
  if (row.beforeConsent) {
    return { fixed: 'fixed', still: 'still leaking', new: 'new leak' }[row.status];
  }
  return {
    fixed: 'no longer sent (after consent)',
    still: 'still sent (after consent)',
    new: 'newly sent (after consent)',
  }[row.status];
}

/**
 * The diff as text for a terminal or a CI log: the two runs, one line per (host, kind, phase),
 * the hosts that changed, and the verdict.
 *
 * @example
 *   console.log(diffTable(diff, judgeDiff(diff, options)));
 */
export function diffTable(diff: RunDiff, verdict: DiffVerdict): string {
  const lines = [
    `phonehome diff — ${diff.a.scenario}${diff.a.scenario === diff.b.scenario ? '' : ` vs ${diff.b.scenario}`}`,
    runLine('A', diff.a),
    runLine('B', diff.b),
    '',
  ];
  if (diff.rows.length === 0) {
    lines.push('Neither run sent anything identifying.');
  } else {
    const header = ['', 'host', 'kind', 'phase', 'A', 'B'];
    const rows = diff.rows.map((row) => [
      statusWords(row),
      row.host,
      row.kind,
      row.phase,
      count(row.a),
      count(row.b),
    ]);
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
    );
    const render = (cells: string[]) =>
      cells
        .map((cell, column) => cell.padEnd(widths[column] as number))
        .join('  ')
        .trimEnd();
    lines.push(render(header));
    for (const row of rows) lines.push(render(row));
  }
  lines.push('');
  const hosts = (list: RunDiff['hosts']['newlyContacted']) =>
    list.length === 0
      ? 'none'
      : list
          .map((h) => `${h.host}${h.readable ? '' : ' (unreadable TLS)'} during '${h.step}'`)
          .join(', ');
  lines.push(`hosts newly contacted before consent: ${hosts(diff.hosts.newlyContacted)}`);
  lines.push(`hosts no longer contacted before consent: ${hosts(diff.hosts.noLongerContacted)}`);
  lines.push('');
  if (verdict.ok) {
    lines.push('OK: B has no pre-consent leak that A lacked, and none of A remains.');
  } else {
    lines.push(`NOT OK (${verdict.reasons.length}):`);
    for (const reason of verdict.reasons) lines.push(`  - ${reason}`);
  }
  return lines.join('\n');
}

function runLine(name: string, run: RunSummary): string {
  const firmware = run.firmware ? `, firmware ${run.firmware}` : '';
  const error = run.error ? ` — ${run.error}` : '';
  return `  ${name}  ${run.runId} (${run.device}${firmware}): ${run.status.toUpperCase()}, ${run.leaks} finding(s) before consent, ${run.findings} in all, ${run.exchanges} exchanges${error}`;
}

/** "3 in 2 exchanges", or "–" for a side without the row. */
function count(side: DiffRow['a']): string {
  if (!side) return '–';
  return `${side.findings} in ${side.exchanges} exch.`;
}
