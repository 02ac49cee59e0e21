import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PhonehomeError } from '../errors.ts';

/** A file being written: text goes to a hidden temporary file that `commit` puts in place. */
export interface PrivateFile {
  readonly path: string;
  write(text: string): void;
  /** Flushes, then renames over `path`: a reader never sees half a report. */
  commit(): void;
  /** Drops the temporary file (after an error). */
  abort(): void;
}

/**
 * Opens a report file for writing, mode 0600 (reports hold identifiers and captured traffic).
 * The mode is set on a fresh temporary file, so a rebuilt report never keeps an older, looser
 * mode, and the rename makes the swap atomic.
 *
 * @example
 *   const file = openPrivateFile('reports/latest/junit.xml');
 *   file.write(xml);
 *   file.commit();
 */
export function openPrivateFile(path: string): PrivateFile {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number | undefined;
  try {
    rmSync(temporary, { force: true });
    fd = openSync(temporary, 'wx', 0o600);
  } catch (error) {
    throw new PhonehomeError('REPORT_WRITE', `cannot write ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const open = () => {
    if (fd === undefined) throw new PhonehomeError('REPORT_WRITE', `${path} is already closed`);
    return fd;
  };
  return {
    path,
    write(text) {
      writeSync(open(), text);
    },
    commit() {
      const handle = open();
      fsyncSync(handle);
      closeSync(handle);
      fd = undefined;
      renameSync(temporary, path);
    },
    abort() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      rmSync(temporary, { force: true });
    },
  };
}

/**
 * Writes a whole report file at once, mode 0600.
 *
 * @example
 *   writePrivateFile('reports/latest/run.json', JSON.stringify(run, null, 2) + '\n');
 */
export function writePrivateFile(path: string, text: string): void {
  const file = openPrivateFile(path);
  try {
    file.write(text);
    file.commit();
  } catch (error) {
    file.abort();
    throw error;
  }
}
