import { mkdirSync, writeFileSync } from 'node:fs';
import { statusWord } from '../coverage.ts';
import { join, relative } from 'node:path';
import { junitXml } from '../report/junit-report.ts';
import type { MergedSummary } from './merge-runs.ts';

/**
 * Writes the merged summary as `summary.json`, `junit.xml` (one testsuite per device × scenario,
 * one testcase per verdict — what GitHub Actions, GitLab and Jenkins show) and a self-contained
 * `summary.html`, all 0600.
 */
export function writeMergedFiles(summary: MergedSummary, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const files = {
    'summary.json': JSON.stringify(summary, null, 2) + '\n',
    'junit.xml': junitXml(summary.runs),
    'summary.html': mergedHtml(summary, outDir),
  };
  for (const [name, text] of Object.entries(files))
    writeFileSync(join(outDir, name), text, { mode: 0o600 });
  return Object.keys(files).map((name) => join(outDir, name));
}

function mergedHtml(summary: MergedSummary, outDir: string): string {
  const rows = summary.runs.map((run) => {
    const link = join(relative(outDir, run.folder), 'report.html');
    const failed = run.verdicts
      .filter((v) => v.status !== 'pass')
      .map((v) => `<div class="why">${text(`${v.name}: ${v.summary}`)}</div>`);
    return `<tr class="${run.status}"><td>${text(run.device.id)}</td><td>${text(run.device.firmware ?? '')}</td><td>${text(run.scenario.name)}</td><td class="status">${text(statusWord(run.status, run.coverage))}</td><td>${run.findingsBeforeConsent}</td><td>${failed.join('')}</td><td><a href="${attr(link)}">report</a></td></tr>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>phonehome — ${summary.status.toUpperCase()} (${summary.runs.length} runs)</title>
<style>
body{font:14px system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.4rem .6rem;text-align:left;vertical-align:top}
tr.fail .status{color:#b00020;font-weight:bold}tr.pass .status{color:#1b7f3b;font-weight:bold}
tr.inconclusive .status{color:#a15c00;font-weight:bold}tr.error .status{color:#7a0a7a;font-weight:bold}.why{font-size:12px;color:#555}
</style></head><body>
<h1>phonehome: ${summary.status.toUpperCase()}</h1>
<p>${summary.runs.filter((r) => r.status === 'pass').length} of ${summary.runs.length} runs passed.</p>
<table><thead><tr><th>device</th><th>firmware</th><th>scenario</th><th>verdict</th><th>findings before consent</th><th>why</th><th></th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></body></html>
`;
}

function text(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/\n/g, '&#10;');
}
