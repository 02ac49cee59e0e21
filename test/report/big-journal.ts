import { writeFileSync } from 'node:fs';
import type { JournalRecord } from '../../src/journal/records.ts';

export const BIG_IMEI = '356938035643809';
export const BIG_PHONE = '+33612345678';

/**
 * Writes a journal of `count` exchanges over `hosts` hosts, with a consent half way: every 10th
 * exchange sends the IMEI in a cookie, every 25th the phone number in a JSON body. Deterministic,
 * so tests can count what the page must show.
 *
 * @example
 *   writeBigJournal('/tmp/x/journal.ndjson', 10_000, 40);
 */
export function writeBigJournal(path: string, count: number, hosts: number): void {
  const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
  const consentAt = t0 + count / 2 + 0.5;
  const records: JournalRecord[] = [
    {
      type: 'run-start',
      version: 1,
      at: t0,
      runId: 'big',
      scenario: 'big-capture',
      scenarioTitle: 'A long capture',
      device: { id: 'bench', kind: 'virtual' },
      identifiers: { imei: [BIG_IMEI], msisdn: [BIG_PHONE] },
      consents: [{ name: 'analytics', covers: 'all' }],
      forbiddenHosts: [],
      versions: { phonehome: 'test' },
    },
    { type: 'mark', mark: { type: 'step', name: 'browse', at: t0 } },
  ];
  for (let i = 0; i < count; i++) {
    const at = t0 + 1 + i;
    if (at > consentAt && records.every((r) => r.type !== 'mark' || r.mark.type !== 'consent')) {
      records.push({
        type: 'mark',
        mark: { type: 'step', name: 'opt in', at: Math.ceil(consentAt) },
      });
      records.push({
        type: 'mark',
        mark: { type: 'consent', name: 'analytics', at: Math.ceil(consentAt), covers: 'all' },
      });
    }
    const host = `h${String(i % hosts).padStart(2, '0')}.example.net`;
    records.push({
      type: 'exchange',
      exchange: {
        id: `x${i}`,
        startedAt: at,
        completedAt: at + 3,
        protocol: 'https',
        host,
        request: {
          method: i % 25 === 0 ? 'POST' : 'GET',
          url: `https://${host}/api/item/${i}?page=${i % 7}`,
          httpVersion: '1.1',
          headers: [
            ['host', host],
            ...(i % 10 === 0 ? ([['cookie', `did=${BIG_IMEI}`]] as [string, string][]) : []),
            ['content-type', 'application/json'],
          ],
          body: {
            encoding: 'utf8',
            data: i % 25 === 0 ? JSON.stringify({ phone: BIG_PHONE, n: i }) : '',
          },
        },
        response: {
          status: 200,
          statusMessage: 'OK',
          headers: [['content-type', 'application/json']],
          body: { encoding: 'utf8', data: `{"ok":true,"item":${i}}` },
        },
      },
    });
  }
  records.push({ type: 'run-end', at: t0 + count + 10 });
  writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n', { mode: 0o600 });
}
