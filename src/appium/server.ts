import { createServer } from 'node:net';
import { PhonehomeError, describeError } from '../errors.ts';
// Appium uses the project folder as APPIUM_HOME, and so finds the drivers that are dependencies in
// package.json (the virtual phone, UiAutomator2) with no `appium driver install`.
import { PROJECT_ROOT } from '../paths.ts';

export interface AppiumServer {
  /** Base URL WebdriverIO connects to, e.g. http://127.0.0.1:4723 */
  url: string;
  stop(): Promise<void>;
}

interface ClosableServer {
  close(): Promise<void>;
}

/** The slice of Appium's programmatic API phonehome uses: `main(args)` starts a server. */
type AppiumMain = (args: Record<string, unknown>) => Promise<ClosableServer | undefined>;

export interface AppiumOptions {
  /** Appium's `--allow-insecure` features, e.g. ['uiautomator2:adb_shell'] for a phone on USB. */
  allowInsecure?: string[];
  /** Load only these drivers (by Appium driver name), e.g. ['phonehome-virtual']: faster start. */
  useDrivers?: string[];
  /** How long to wait for the server to listen. */
  timeoutMs?: number;
}

/**
 * Starts an embedded Appium 3 server on a free loopback port and resolves when it listens.
 * The harness owns process signals: Appium's own SIGINT/SIGTERM handlers (which call
 * process.exit) are removed, so Ctrl-C always reaches the code that restores the phone.
 *
 * @example
 *   const appium = await startAppium();
 *   // … remote({ hostname: '127.0.0.1', port: new URL(appium.url).port, … })
 *   await appium.stop();
 */
export async function startAppium(options: AppiumOptions = {}): Promise<AppiumServer> {
  // Appium keeps its argument schema in module state: two `main()` calls at once in one process
  // collide ("address is already set"), one after the other is fine. Parallel runs queue here.
  const turn = startupQueue.then(() => startOne(options));
  startupQueue = turn.then(
    () => undefined,
    () => undefined,
  );
  return turn;
}

let startupQueue: Promise<void> = Promise.resolve();

/** Appium's own log for servers started from now on: errors only, unless the user asked. */
let appiumLogLevel: 'error' | 'debug' = 'error';

/** `--verbose`: Appium's debug log on the terminal, for when a session will not start. */
export function showAppiumLog(): void {
  appiumLogLevel = 'debug';
}

async function startOne(options: AppiumOptions): Promise<AppiumServer> {
  const port = await freePort();
  const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  // A computed specifier keeps TypeScript from type-checking Appium's shipped .ts sources.
  const specifier = 'appium';
  const { main } = (await import(specifier)) as { main: AppiumMain };
  // Appium's logger starts at "verbose" and takes `loglevel` only once main() has read its
  // extensions, so its first lines ("dbug Appium Creating hash file directory…") reached the
  // user's terminal. Its shared npmlog instance (the one @appium/support hands every Appium
  // module) is set to the same level before main() starts.
  const shared = (globalThis as { _global_npmlog?: { level: string } })._global_npmlog;
  if (shared) shared.level = appiumLogLevel;
  let server: ClosableServer | undefined;
  const timeoutMs = options.timeoutMs ?? 30_000;
  try {
    server = await withTimeout(
      main({
        port,
        address: '127.0.0.1',
        loglevel: appiumLogLevel,
        appiumHome: PROJECT_ROOT,
        allowInsecure: options.allowInsecure ?? [],
        ...(options.useDrivers ? { useDrivers: options.useDrivers } : {}),
        // Appium would otherwise exit the process on a bad argument instead of telling us.
        throwInsteadOfExit: true,
      }),
      timeoutMs,
    );
  } catch (error) {
    throw new PhonehomeError(
      'APPIUM_START',
      `the embedded Appium server did not start on 127.0.0.1:${port}: ${describeError(error)}; run \`npx appium driver list\` to check the drivers`,
      { cause: error },
    );
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      for (const listener of process.listeners(signal)) {
        if (!before[signal].includes(listener)) process.removeListener(signal, listener);
      }
    }
  }
  if (!server) {
    throw new PhonehomeError(
      'APPIUM_START',
      'the embedded Appium server returned no server (was --help passed?)',
    );
  }
  const running = server;
  let stopped = false;
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await running.close();
    },
  };
}

const shared = new Map<string, { server: Promise<AppiumServer>; users: number }>();

/**
 * An embedded Appium server shared by every run in this process that needs the same options:
 * Appium serves many sessions at once, and one server instead of one per device keeps parallel
 * runs from queueing behind each other's start-up. The last `release()` stops it.
 *
 * @example
 *   const { server, release } = await acquireAppium({ useDrivers: ['phonehome-virtual'] });
 *   try { … } finally { await release(); }
 */
export async function acquireAppium(
  options: AppiumOptions = {},
): Promise<{ server: AppiumServer; release: () => Promise<void> }> {
  const key = JSON.stringify([options.allowInsecure ?? [], options.useDrivers ?? []]);
  let entry = shared.get(key);
  if (!entry) {
    entry = { server: startAppium(options), users: 0 };
    shared.set(key, entry);
    entry.server.catch(() => shared.delete(key));
  }
  entry.users += 1;
  const held = entry;
  const server = await held.server;
  let released = false;
  return {
    server,
    release: async () => {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users === 0) {
        shared.delete(key);
        await server.stop();
      }
    },
  };
}

/** A port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolveWork, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolveWork(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
