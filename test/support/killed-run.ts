import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.ts';

const SLOW = join(PROJECT_ROOT, 'test', 'fixtures', 'scenarios', 'slow.scenario.ts');

/**
 * Runs the real `phonehome run` on the slow scenario (it leaks at once, then waits) and kills it
 * with SIGKILL once it reached its waiting step. Returns the run folder it left behind.
 */
export async function killedRun(reportsDir: string, caDir: string): Promise<string> {
  const child = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin', 'phonehome.js'), 'run', SLOW, '--device', 'virtual-redmi-1s-2014'],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, PHONEHOME_REPORTS_DIR: reportsDir, PHONEHOME_CA_DIR: caDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('step: wait')) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('close', () => reject(new Error(`the run ended before it was killed:\n${out}`)));
  });
  await new Promise((resolve) => child.on('close', resolve));
  return join(
    reportsDir,
    readdirSync(reportsDir).find((name) => name.includes('-slow'))!,
  );
}
