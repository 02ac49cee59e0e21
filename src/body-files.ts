import { resolve } from 'node:path';
import { PhonehomeError } from './errors.ts';
import type { Body, Exchange } from './types.ts';

/** How a body file is named in a journal line or a HAR: inside the folder's `bodies/`. */
const BODY_FILE = /^bodies\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Turns the body files an exchange names (relative to the folder of the journal or HAR that
 * holds it) into absolute paths, in place. A name outside that folder's `bodies/` is refused:
 * a journal or HAR never points anywhere else, and a hand-edited one must not make a report
 * read other files.
 *
 * @example
 *   resolveBodyFiles(exchange, 'reports/latest', 'reports/latest/journal.ndjson');
 *   exchange.request.body.file // → '/home/me/reports/2026…/bodies/3f…-request'
 */
export function resolveBodyFiles(exchange: Exchange, folder: string, source: string): Exchange {
  resolveOne(exchange.request.body, exchange.id, folder, source);
  if (exchange.response) resolveOne(exchange.response.body, exchange.id, folder, source);
  return exchange;
}

/** The absolute path of a body file named `name` by a file in `folder`. */
export function bodyFilePath(name: string, folder: string, source: string, id: string): string {
  if (typeof name !== 'string' || !BODY_FILE.test(name)) {
    throw new PhonehomeError(
      'BODY_FILE_NAME',
      `${source}: exchange ${id} names the body file ${JSON.stringify(name)}, which is not in its bodies/ folder; the file was changed by hand or corrupted`,
    );
  }
  return resolve(folder, name);
}

function resolveOne(body: Body | undefined, id: string, folder: string, source: string): void {
  if (body?.encoding !== 'file') return;
  body.file = bodyFilePath(body.file, folder, source, id);
}
