import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.ts';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `phonehome` command (bin/phonehome.js) in a child process. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  cwd = PROJECT_ROOT,
): Promise<CliResult> {
  return runNode(join(PROJECT_ROOT, 'bin', 'phonehome.js'), args, env, cwd);
}

/** Starts the real `phonehome` command with pipes on all three streams, for tests that talk to it. */
export function spawnCli(
  args: string[],
  env: Record<string, string> = {},
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'phonehome.js'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs a Node script (bin/phonehome.js, mocha's bin) in a child process, as a user's shell would. */
export function runNode(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = PROJECT_ROOT,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
