import type { RunResult } from '../scenario/result.ts';
import type { Verdict } from '../types.ts';
import { verdictHeadline } from './leak-summary.ts';

/**
 * A JUnit XML document for one run: one test suite (scenario on device), one test case per
 * verdict — the consent verdicts, then the scenario's checks. A failed or inconclusive verdict is
 * a `<failure>` whose message names the identifier kinds and hosts: what GitHub Actions, GitLab
 * and Jenkins show. Inconclusive fails too (type "inconclusive"): unread traffic is not a pass.
 *
 * @example
 *   writePrivateFile(join(result.folder, 'junit.xml'), junitXml(result, checks));
 */
export function junitXml(result: RunResult, checks: Verdict[]): string {
  const verdicts = [
    ...result.verdicts.map((verdict) => ({ verdict, source: 'consent' })),
    ...checks.map((verdict) => ({ verdict, source: 'check' })),
  ];
  const failures = verdicts.filter(({ verdict }) => verdict.status !== 'pass').length;
  const seconds = Math.max(0, (result.endedAt - result.startedAt) / 1000).toFixed(3);
  const suite = `${result.scenario.name} on ${result.device.id}`;
  const classname = `phonehome.${result.scenario.name}.${result.device.id}`;
  const properties = [
    ['runId', result.runId],
    ['scenario', result.scenario.name],
    ['device', result.device.id],
    ['deviceKind', result.device.kind],
    ...(result.device.firmware ? [['firmware', result.device.firmware]] : []),
    ['exchanges', String(result.exchanges)],
    ['findings', String(result.findings.length)],
    ['unreadableConnections', String(result.unreadable.length)],
  ];
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="phonehome" tests="${verdicts.length}" failures="${failures}" errors="0" time="${seconds}">`,
    `  <testsuite name="${attr(suite)}" tests="${verdicts.length}" failures="${failures}" errors="0" skipped="0" timestamp="${new Date(result.startedAt).toISOString().slice(0, 19)}" time="${seconds}">`,
    '    <properties>',
    ...properties.map(
      ([name, value]) =>
        `      <property name="${attr(name as string)}" value="${attr(value as string)}"/>`,
    ),
    '    </properties>',
  ];
  for (const { verdict, source } of verdicts) {
    const open = `    <testcase classname="${attr(`${classname}.${source}`)}" name="${attr(verdict.name)}" time="0"`;
    if (verdict.status === 'pass') {
      lines.push(`${open}/>`);
      continue;
    }
    lines.push(
      `${open}>`,
      `      <failure type="${verdict.status === 'fail' ? 'leak' : 'inconclusive'}" message="${attr(verdictHeadline(verdict, result))}">${text(verdict.message)}</failure>`,
      '    </testcase>',
    );
  }
  if (result.error) lines.push(`    <system-err>${text(result.error)}</system-err>`);
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

/** XML text: escaped, and without the control characters XML 1.0 forbids (a binary fragment). */
function text(value: string): string {
  return (
    value
      // Control characters are exactly what must go: a binary fragment would make the XML invalid.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
  );
}

/** An attribute value: also quotes and line breaks, which a parser would fold into spaces. */
function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}
