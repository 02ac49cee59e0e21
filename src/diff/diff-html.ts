import { readFileSync } from 'node:fs';
import { contentSecurityPolicy, escapeHtml } from '../report/html-report.ts';
import type { DiffRow, RunDiff, RunSummary } from './compare-runs.ts';
import { statusWords } from './diff-table.ts';
import type { DiffVerdict } from './diff-verdict.ts';

const STYLE = readFileSync(new URL('../report/assets/report-page.css', import.meta.url), 'utf8');

/**
 * The diff as one static HTML page (no script, no network): the two runs, the verdict, one row per
 * (host, kind, phase) coloured by what became of it, and the hosts that changed. It holds labels,
 * kinds, forms and places, never identifier values.
 *
 * @example
 *   writePrivateFile('diff.html', diffHtml(diff, judgeDiff(diff, options)));
 */
export function diffHtml(diff: RunDiff, verdict: DiffVerdict): string {
  const e = escapeHtml;
  const run = (name: string, r: RunSummary) =>
    `<tr><th>${name}</th><td><code>${e(r.runId)}</code></td><td>${e(r.device)}${r.firmware ? ` (firmware ${e(r.firmware)})` : ''}</td><td><span class="pill ${r.status}">${r.status}</span></td><td>${r.leaks}</td><td>${r.findings}</td><td>${r.exchanges}</td></tr>`;
  const side = (s: DiffRow['a']) =>
    s
      ? `${s.findings} in ${s.exchanges} exchange(s)<br><span class="muted">${e(s.labels.join(', '))}; ${e(s.forms.join(', '))}; in ${e(s.wheres.slice(0, 4).join(', '))}${s.wheres.length > 4 ? ', …' : ''}; from step '${e(s.firstStep)}'${s.weakOnly ? '; weak evidence' : ''}</span>`
      : '<span class="muted">–</span>';
  const rowClass = (row: DiffRow) =>
    !row.beforeConsent ? 'ph1' : row.status === 'fixed' ? 'fixed' : 'leak';
  const rows = diff.rows
    .map(
      (row) =>
        `<tr class="${rowClass(row)}" data-status="${row.status}" data-before-consent="${row.beforeConsent}"><td><strong>${e(statusWords(row))}</strong></td><td><code>${e(row.host)}</code></td><td><span class="kind${row.beforeConsent && row.status !== 'fixed' ? ' leak' : ''}">${e(row.kind)}</span></td><td>${e(row.phase)}</td><td>${side(row.a)}</td><td>${side(row.b)}</td></tr>`,
    )
    .join('\n');
  const hosts = (list: RunDiff['hosts']['newlyContacted']) =>
    list.length === 0
      ? '<span class="muted">none</span>'
      : `<ul>${list.map((h) => `<li><code>${e(h.host)}</code>${h.readable ? '' : ' (unreadable TLS)'} during step '${e(h.step)}'</li>`).join('')}</ul>`;
  const style = `${STYLE}\n.fixed { background: var(--pass-bg); }\n.leak { background: var(--fail-bg); }\n`;
  const title = `phonehome diff — ${diff.a.scenario}: ${diff.a.device} → ${diff.b.device}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(style, '')}">
<meta name="referrer" content="no-referrer">
<title>${e(title)}</title>
<style>${style}</style>
</head>
<body>
<h1><span class="pill ${verdict.ok ? 'pass' : 'fail'}">${verdict.ok ? 'ok' : 'not ok'}</span> ${e(title)}</h1>
<table><thead><tr><th></th><th>run</th><th>device</th><th>verdict</th><th>before consent</th><th>findings</th><th>exchanges</th></tr></thead><tbody>
${run('A', diff.a)}
${run('B', diff.b)}
</tbody></table>
<div class="note" id="verdict">${verdict.ok ? 'B has no pre-consent leak that A lacked, and none of A remains.' : `<ul>${verdict.reasons.map((r) => `<li>${e(r)}</li>`).join('')}</ul>`}</div>
<h2>By host, identifier kind and phase</h2>
${diff.rows.length === 0 ? '<p class="empty">Neither run sent anything identifying.</p>' : `<table id="rows"><thead><tr><th>what became of it</th><th>host</th><th>kind</th><th>phase</th><th>A</th><th>B</th></tr></thead><tbody>\n${rows}\n</tbody></table>`}
<h2>Hosts contacted before consent</h2>
<p>Newly contacted in B:</p>${hosts(diff.hosts.newlyContacted)}
<p>No longer contacted in B:</p>${hosts(diff.hosts.noLongerContacted)}
<footer class="muted"><p>Written by <code>phonehome diff</code>. Runs are matched by identifier kind, not value.</p></footer>
</body>
</html>
`;
}
