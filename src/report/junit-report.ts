import type { Verdict } from '../types.ts';
import { statusWord } from '../coverage.ts';
import type { RunRecord } from './json-report.ts';

/** The `type` of a JUnit failure, per rule: what a CI page shows beside the test. */
const FAILURE_TYPE: Record<Verdict['rule'], string> = {
  'ran-to-end': 'error',
  consent: 'leak',
  'forbidden-hosts': 'forbidden-contact',
  check: 'check',
};

/**
 * One JUnit XML document for any number of runs — a run folder's junit.xml (one run) and
 * `phonehome merge`'s (many) come from here, so CI test history matches them. A test suite per
 * run (scenario on device), a test case per verdict with the verdict's name. A leak, a forbidden
 * contact or a failed check is a `<failure>`; inconclusive is a `<failure type="inconclusive">`
 * (unread traffic is not a pass); a run that broke is an `<error>`.
 *
 * @example
 *   writePrivateFile(join(result.folder, 'junit.xml'), junitXml([runRecord(result, versions)]));
 */
export function junitXml(runs: RunRecord[]): string {
  const count = (run: RunRecord, statuses: Verdict['status'][]) =>
    run.verdicts.filter((verdict) => statuses.includes(verdict.status)).length;
  const seconds = (run: RunRecord) =>
    Math.max(0, (Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000);
  const sum = (of: (run: RunRecord) => number) => runs.reduce((total, run) => total + of(run), 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="phonehome" tests="${sum((r) => r.verdicts.length)}" failures="${sum((r) => count(r, ['fail', 'inconclusive']))}" errors="${sum((r) => count(r, ['error']))}" skipped="0" time="${sum(seconds).toFixed(3)}">`,
  ];
  for (const run of runs) {
    const classname = `phonehome.${run.scenario.name}.${run.device.id}`;
    const file = run.scenario.file ? ` file="${attr(run.scenario.file)}"` : '';
    const properties = [
      ['runId', run.runId],
      ['status', run.status],
      ['statusWord', run.statusWord ?? statusWord(run.status, run.coverage)],
      ['coverage', run.coverage?.statement ?? 'not recorded'],
      ...(run.route ? [['route', run.route.statement.join('\n')]] : []),
      ['scenario', run.scenario.name],
      ['device', run.device.id],
      ['deviceKind', run.device.kind],
      ...(run.device.firmware ? [['firmware', run.device.firmware]] : []),
      ['exchanges', String(run.exchanges)],
      ['identifiers', String(run.identifiers)],
      ['findings', String(run.findings)],
      ['unreadableConnections', String(run.unreadableConnections)],
      // A step the device did not perform: what CI shows even when no finding points at it.
      ...run.marks
        .filter((mark) => mark.skipped)
        .map((mark) => ['skippedStep', `${mark.name}: ${mark.skipped}`]),
    ];
    lines.push(
      `  <testsuite name="${attr(`${run.scenario.name} on ${run.device.id}`)}" tests="${run.verdicts.length}" failures="${count(run, ['fail', 'inconclusive'])}" errors="${count(run, ['error'])}" skipped="0" timestamp="${attr(run.startedAt.slice(0, 19))}" time="${seconds(run).toFixed(3)}"${file}>`,
      '    <properties>',
      ...properties.map(
        ([name, value]) =>
          `      <property name="${attr(name as string)}" value="${attr(value as string)}"/>`,
      ),
      '    </properties>',
    );
    for (const verdict of run.verdicts) {
      const open = `    <testcase classname="${attr(classname)}" name="${attr(verdict.name)}" time="0"${file}`;
      if (verdict.status === 'pass') {
        lines.push(`${open}/>`);
        continue;
      }
      const element = verdict.status === 'error' ? 'error' : 'failure';
      const type = verdict.status === 'inconclusive' ? 'inconclusive' : FAILURE_TYPE[verdict.rule];
      lines.push(
        `${open}>`,
        `      <${element} type="${type}" message="${attr(verdict.summary)}">${text(verdict.message)}</${element}>`,
        '    </testcase>',
      );
    }
    // Notes (opaque parts declared harmless, with their reasons; how the phone was watched).
    if (run.notes && run.notes.length > 0)
      lines.push(`    <system-out>${text(run.notes.join('\n'))}</system-out>`);
    if (run.error) lines.push(`    <system-err>${text(run.error)}</system-err>`);
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
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
