import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { readHar } from '../har/read.ts';
import { readJournal } from '../journal/reader.ts';
import type { Exchange } from '../types.ts';
import type { RangeFinder } from './identifier-ranges.ts';

/** Something of an identifier found in a file that should hold none. */
export interface Leftover {
  file: string;
  label: string;
  /** How it was found: "bytes" (the file as it is), or the detector's `where` in an exchange. */
  where: string;
}

const MEDIA_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.har': 'application/json',
  '.html': 'text/html',
  '.xml': 'application/xml',
};

/**
 * Looks for every identifier in every file of a folder, three ways: the file's bytes against
 * every variant the detector knows (and the plain values, glued or not); the whole file given to
 * the detector as a body of its media type, so its decoders open what is nested; and the journal
 * and HAR read as exchanges, as `phonehome scan` would. An empty answer is the proof that a
 * redacted copy holds nothing the detector could find.
 *
 * @example
 *   await findLeftovers('reports/x-redacted', createRangeFinder(identifiers)) // → []
 */
export async function findLeftovers(folder: string, finder: RangeFinder): Promise<Leftover[]> {
  const leftovers: Leftover[] = [];
  for (const name of readdirSync(folder).sort()) {
    const file = join(folder, name);
    if (!statSync(file).isFile()) continue;
    const bytes = readFileSync(file);
    for (const range of finder.find(bytes, { glued: true })) {
      leftovers.push({ file, label: range.identifier.label, where: `bytes at ${range.start}` });
    }
    const whole = wholeFileExchange(name, bytes);
    for (const finding of finder.detector.scanExchange(whole, 0)) {
      leftovers.push({ file, label: finding.label, where: `file>${finding.where}` });
    }
    const exchanges = name.endsWith('.ndjson')
      ? journalExchanges(file)
      : extname(name) === '.har'
        ? readHar(file)
        : undefined;
    if (!exchanges) continue;
    let index = 0;
    for await (const exchange of exchanges) {
      for (const finding of finder.detector.scanExchange(exchange, index)) {
        leftovers.push({
          file,
          label: finding.label,
          where: `exchange #${index} ${finding.where}`,
        });
      }
      index += 1;
    }
  }
  return leftovers;
}

async function* journalExchanges(file: string): AsyncGenerator<Exchange> {
  for await (const record of readJournal(file)) {
    if (record.type === 'exchange') yield record.exchange;
  }
}

/** The file as the body of a request, so the detector's decoders (JSON, base64…) see inside it. */
function wholeFileExchange(name: string, bytes: Buffer): Exchange {
  const type = MEDIA_TYPES[extname(name)] ?? 'application/octet-stream';
  return {
    id: name,
    startedAt: 0,
    completedAt: 0,
    protocol: 'http',
    host: 'file.invalid',
    request: {
      method: 'PUT',
      url: `http://file.invalid/${encodeURIComponent(name)}`,
      httpVersion: '1.1',
      headers: [['content-type', type]],
      body: { encoding: 'base64', data: bytes.toString('base64') },
    },
  };
}
