import { spawn, type ChildProcess } from 'node:child_process';
import { PhonehomeError } from '../errors.ts';

export interface TunnelSpec {
  command: string;
  args: string[];
  /** A regular expression that, seen in the tunnel's output, means it is up. */
  ready?: string;
  timeoutMs?: number;
}

export interface RunningTunnel {
  stop(): Promise<void>;
}

/**
 * Starts a farm's tunnel program (BrowserStack Local, Sauce Connect…) and resolves once it says
 * it is ready — or rejects once, with its exit code and the last lines it printed. The args may
 * hold secrets: they are never printed.
 *
 * @example
 *   const tunnel = await startTunnel({ command: 'BrowserStackLocal', args: ['--key', key], ready: 'You can now access' });
 *   await tunnel.stop();
 */
export function startTunnel(spec: TunnelSpec): Promise<RunningTunnel> {
  const timeoutMs = spec.timeoutMs ?? 60_000;
  const ready = new RegExp(spec.ready ?? '.');
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      reject(
        new PhonehomeError(
          'TUNNEL_START',
          `cannot start the tunnel '${spec.command}': ${(error as Error).message}`,
        ),
      );
      return;
    }
    let output = '';
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGTERM');
      const tail = output.trim().split('\n').slice(-5).join('\n');
      reject(
        new PhonehomeError(
          'TUNNEL_START',
          `${message}${tail ? `; its last output:\n${tail}` : ''}`,
        ),
      );
    };
    const timer = setTimeout(
      () => fail(`the tunnel '${spec.command}' was not ready within ${timeoutMs} ms`),
      timeoutMs,
    );
    const watch = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      if (!settled && ready.test(output)) {
        settled = true;
        clearTimeout(timer);
        resolve({ stop: () => stopChild(child) });
      }
    };
    child.stdout?.on('data', watch);
    child.stderr?.on('data', watch);
    child.on('error', (error: NodeJS.ErrnoException) =>
      fail(
        error.code === 'ENOENT'
          ? `the tunnel program '${spec.command}' is not installed or not on PATH`
          : `the tunnel '${spec.command}' failed: ${error.message}`,
      ),
    );
    child.on('exit', (code, signal) =>
      fail(`the tunnel '${spec.command}' exited (${signal ?? `code ${code}`}) before it was ready`),
    );
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
