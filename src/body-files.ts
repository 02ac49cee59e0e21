import { realpathSync } from 'node:fs';
import { resolve, sep } from 'node:path';
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

/**
 * The absolute path of a body file named `name` by a file in `folder`. The name must be in
 * `bodies/`, and so must the file it really is: a symlink (the entry, or `bodies/` itself) that
 * leads out of the folder is refused, since run folders and HARs are shared between people and
 * must not make phonehome read, and print, some other file of the reader's.
 */
export function bodyFilePath(name: string, folder: string, source: string, id: string): string {
  if (typeof name !== 'string' || !BODY_FILE.test(name)) {
    throw new PhonehomeError(
      'BODY_FILE_NAME',
      `${source}: exchange ${id} names the body file ${JSON.stringify(name)}, which is not in its bodies/ folder; the file was changed by hand or corrupted`,
      { kind: 'usage' },
    );
  }
  const path = resolve(folder, name);
  const real = realOrUndefined(path);
  // A body file not there (yet, or deleted) is said to be missing by whoever reads it.
  if (real === undefined) return path;
  const bodies = realOrUndefined(resolve(folder, 'bodies'));
  const home = realOrUndefined(resolve(folder));
  const inside = (parent: string | undefined, child: string | undefined) =>
    parent !== undefined && child !== undefined && child.startsWith(parent + sep);
  if (!inside(bodies, real) || !inside(home, bodies)) {
    throw new PhonehomeError(
      'BODY_FILE_OUTSIDE',
      `${source}: exchange ${id} names the body file ${name}, which is a symbolic link out of ${resolve(folder, 'bodies')} (to ${real}); phonehome reads no file outside the run's folder: replace the link with the file itself`,
      { kind: 'usage' },
    );
  }
  return path;
}

function realOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function resolveOne(body: Body | undefined, id: string, folder: string, source: string): void {
  if (body?.encoding !== 'file') return;
  body.file = bodyFilePath(body.file, folder, source, id);
}
