import { describeError } from './errors.ts';

type Cleanup = () => Promise<void> | void;

const cleanups = new Map<number, { name: string; run: Cleanup }>();
let nextId = 1;
let installed = false;
let shuttingDown = false;

/**
 * Registers work that must happen even when the user presses Ctrl-C or the process gets SIGTERM:
 * restoring a phone, stopping the proxy and Appium, closing the journal. Returns a function that
 * unregisters it (call it once the work was done the normal way). Cleanups run newest first.
 *
 * @example
 *   const done = onShutdown('restore phone', () => device.restore());
 *   try { … } finally { await device.restore(); done(); }
 */
export function onShutdown(name: string, run: Cleanup): () => void {
  install();
  const id = nextId++;
  cleanups.set(id, { name, run });
  return () => cleanups.delete(id);
}

/** Runs every registered cleanup now, newest first; one failing does not stop the others. */
export async function runCleanups(
  log: (line: string) => void = (line) => console.error(line),
): Promise<void> {
  const pending = [...cleanups.entries()].reverse();
  cleanups.clear();
  for (const [, cleanup] of pending) {
    try {
      await cleanup.run();
    } catch (error) {
      // Best effort: the other cleanups (restoring a phone above all) must still run.
      log(`phonehome: cleanup '${cleanup.name}' failed: ${describeError(error)}`);
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (shuttingDown) {
        console.error(`phonehome: ${signal} again while cleaning up; still restoring, please wait`);
        return;
      }
      shuttingDown = true;
      console.error(
        `\nphonehome: ${signal} received; restoring the phone and saving what was captured…`,
      );
      void runCleanups().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}
