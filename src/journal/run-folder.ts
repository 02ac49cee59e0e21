import { existsSync, mkdirSync, renameSync, symlinkSync, unlinkSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { PhonehomeError } from '../errors.ts';

/**
 * Creates `reports/<yyyymmdd-hhmmss>-<device>-<scenario>/` (0700: it will hold personal data) and
 * points `reports/latest` at it. Two runs in the same second get `-2`, `-3`…
 *
 * @example
 *   createRunFolder('reports', 'virtual-redmi-1s-2014', 'fsecure-out-of-box', new Date())
 *   // → { id: '20261121-193012-virtual-redmi-1s-2014-fsecure-out-of-box', path: 'reports/2026…' }
 */
export function createRunFolder(
  reportsDir: string,
  deviceId: string,
  scenario: string,
  now = new Date(),
): { id: string; path: string } {
  const stamp = [
    now.getFullYear(),
    pad(now.getMonth() + 1),
    pad(now.getDate()),
    '-',
    pad(now.getHours()),
    pad(now.getMinutes()),
    pad(now.getSeconds()),
  ].join('');
  const base = `${stamp}-${deviceId}-${scenario}`;
  try {
    mkdirSync(reportsDir, { recursive: true });
  } catch (error) {
    throw new PhonehomeError(
      'REPORTS_DIR',
      `cannot create ${reportsDir}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  for (let attempt = 1; attempt < 1000; attempt += 1) {
    const id = attempt === 1 ? base : `${base}-${attempt}`;
    const path = join(reportsDir, id);
    try {
      mkdirSync(path, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new PhonehomeError(
        'REPORTS_DIR',
        `cannot create ${path}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    pointLatest(reportsDir, id);
    return { id, path };
  }
  throw new PhonehomeError('REPORTS_DIR', `too many runs named ${base} in ${reportsDir}`);
}

/** Swaps `latest` atomically (a new link renamed over the old one), so it is never missing. */
function pointLatest(reportsDir: string, id: string): void {
  const latest = join(reportsDir, 'latest');
  const fresh = join(reportsDir, `.latest-${process.pid}`);
  try {
    if (existsSync(fresh) || isLink(fresh)) unlinkSync(fresh);
    symlinkSync(id, fresh);
    renameSync(fresh, latest);
  } catch {
    // Best effort: `latest` is a convenience; the run folder itself is what matters.
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}
