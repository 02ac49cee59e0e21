import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ReportModel } from './html-model.ts';

const ASSETS = new URL('./assets/', import.meta.url);

/**
 * The whole report.html for a model: one file with its style, script and data inline, so it opens
 * from disk, from an e-mail, from a CI artifact, with no network. A Content-Security-Policy allows
 * only this page's own style and script (by hash) and no connection at all: even a bug that let
 * captured traffic into the markup could neither run nor call out.
 *
 * @example
 *   writePrivateFile(join(folder, 'report.html'), reportHtml(await buildReportModel(input)));
 */
export function reportHtml(model: ReportModel): string {
  const style = readFileSync(new URL('report-page.css', ASSETS), 'utf8');
  const script = readFileSync(new URL('report-page.js', ASSETS), 'utf8');
  const title = `${model.run.statusWord} · ${model.run.scenario.name} on ${model.run.device.id}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(style, script)}">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
<header id="summary"></header>
<noscript><p>This report needs JavaScript to show the run; run.json and findings.json hold the same data.</p></noscript>
<h2>Verdicts</h2>
<section id="verdicts"></section>
<h2>Consent phases</h2>
<section id="phases"></section>
<h2>Hosts</h2>
<section id="hosts"></section>
<div class="filters" id="filters">
<label>host <select id="filter-host"></select></label>
<label>kind <select id="filter-kind"></select></label>
<label>phase <select id="filter-phase"></select></label>
<label>URL contains <input id="filter-search" type="search" placeholder="/pass/v3"></label>
<label><input id="filter-with-findings" type="checkbox"> only exchanges with findings</label>
<button id="filter-reset" type="button">reset</button>
</div>
<h2>Findings</h2>
<section id="findings">
<div class="pager" id="findings-pager"></div>
<table><thead><tr><th>identifier</th><th>form</th><th>where</th><th>host</th><th>step</th><th>phase</th><th>evidence</th><th>fragment</th><th>exchange</th></tr></thead><tbody id="findings-body"></tbody></table>
</section>
<h2>Timeline</h2>
<section id="timeline">
<div class="pager" id="timeline-pager"></div>
<table><thead><tr><th>time</th><th>method</th><th>URL</th><th>status</th><th>found</th><th>phase</th></tr></thead><tbody id="timeline-body"></tbody></table>
</section>
<h2>Unreadable connections</h2>
<section id="unreadable"></section>
<footer class="muted"><p>Written by phonehome from journal.ndjson. Everything on this page is in this file.</p></footer>
<script type="application/json" id="phonehome-data">${embedJson(model)}</script>
<script>${script}</script>
</body>
</html>
`;
}

/**
 * JSON that can sit inside a <script> element: "<" is escaped, so no "</script>" or "<!--" in
 * captured traffic can end the element early; U+2028/2029 are escaped for old parsers.
 *
 * @example
 *   embedJson({ body: '</script>' }) // → '{"body":"\\u003c/script>"}'
 */
export function embedJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Text for HTML element content and attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Allows exactly the given inline style and script (by SHA-256) and nothing from anywhere else.
 *
 * @example
 *   contentSecurityPolicy(css, '') // → "default-src 'none'; style-src 'sha256-…'; …"
 */
export function contentSecurityPolicy(style: string, script: string): string {
  const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
  return [
    "default-src 'none'",
    `style-src ${hash(style)}`,
    script ? `script-src ${hash(script)}` : "script-src 'none'",
    "img-src 'none'",
    "connect-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
}
