import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../src/paths.ts';
import type { CliResult } from '../support/cli.ts';

const TSX = pathToFileURL(join(PROJECT_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/**
 * Runs `phonehome report` or `phonehome diff` in a child process, as the command would: its own
 * process (a scenario file it imports registers no mocha suite here), real files, real exit code.
 * It calls the command's module directly, so it does not depend on src/cli/main.ts's dispatch.
 */
export function runCommand(
  command: 'report' | 'diff',
  args: string[],
  cwd = PROJECT_ROOT,
): Promise<CliResult> {
  const module = join(PROJECT_ROOT, 'src', 'cli', `${command}.ts`);
  const script = `const { ${command}Command } = await import(${JSON.stringify(module)}); process.exitCode = await ${command}Command(JSON.parse(process.argv[1]));`;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      // tsx by its path (its package's "." export): the child may run in another folder.
      ['--import', TSX, '--input-type=module', '-e', script, JSON.stringify(args)],
      { cwd, env: { ...process.env, PHONEHOME_REVEAL: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
