import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadOrCreateCa } from '../capture/ca.ts';
import { CaptureSession } from '../capture/session.ts';
import { findDevice, loadDevices, type DeviceEntry } from '../config/devices.ts';
import { readEnvironment } from '../config/env.ts';
import type { Device } from '../device/device.ts';
import { createDevice } from '../device/registry.ts';
import { EXIT, PhonehomeError, describeError } from '../errors.ts';
import { overallStatus } from '../report/json-report.ts';
import { writeRunReports } from '../report/write-run-reports.ts';
import { openRun } from '../journal/open-run.ts';
import type { Mark } from '../types.ts';
import { analyseJournal } from '../verdict/analyse.ts';

/** The hostname the CA is served at through the proxy (a reserved TLD: never a real site). */
export const CA_HOST = 'phonehome.invalid';

/**
 * `phonehome capture [--device id] [--port P] [--host ip --client ip…] [--offline]`: a phone you
 * drive by hand. The proxy and the journal run without Appium; an `android` device is routed and
 * trusted as in a scenario run and restored at the end. Without a device, the proxy listens on the
 * LAN address given (--host) for the phone's address only (--client), and serves its CA at
 * http://phonehome.invalid/. Marks: keys `s` (step), `c` (consent), `q` (quit) on a terminal,
 * else lines `step <name>`, `consent <name>`, `quit`. Ctrl-C ends cleanly. Findings before the
 * first consent fail the run (exit 1).
 *
 * @example
 *   process.exitCode = await captureCommand(['--host', '192.168.1.20', '--client', '192.168.1.57']);
 */
export async function captureCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      device: { type: 'string' },
      'devices-file': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      client: { type: 'string', multiple: true },
      offline: { type: 'boolean', default: false },
    },
  });
  const env = readEnvironment();
  const entry: DeviceEntry | undefined = values.device
    ? findDevice(loadDevices(values['devices-file']), values.device)
    : undefined;
  if (entry && entry.kind !== 'android') {
    throw new PhonehomeError(
      'USAGE',
      `device '${entry.id}' is of kind ${entry.kind}; capture drives android devices, or a phone on Wi-Fi without --device`,
    );
  }
  if (!entry && !values.host) {
    throw new PhonehomeError(
      'USAGE',
      "without --device, give --host <this computer's LAN address> and --client <the phone's address>, so the phone can reach the proxy and nobody else can",
    );
  }
  const port = values.port ? Number(values.port) : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new PhonehomeError('USAGE', `--port ${values.port} is not a port number`);

  const ca = await loadOrCreateCa(env.caDir);
  const { folder, journal, versions } = openRun(env.reportsDir, {
    scenario: 'capture',
    scenarioTitle: 'A phone driven by hand',
    device: { id: entry?.id ?? 'wifi-phone', kind: entry?.kind ?? 'wifi' },
    identifiers: entry?.identifiers ?? {},
    consents: [{ name: 'consent', covers: 'all' }],
    forbiddenHosts: [],
  });
  const capture = await CaptureSession.start({
    ca,
    journal,
    port,
    ...(values.host ? { host: values.host, allowedClients: values.client ?? [] } : {}),
    ...(entry?.android?.tlsPassthroughHosts
      ? { tlsPassthroughHosts: entry.android.tlsPassthroughHosts }
      : {}),
    answers: {
      hosts: {
        [CA_HOST]: {
          status: 200,
          headers: {
            'content-type': 'application/x-x509-ca-cert',
            'content-disposition': 'attachment; filename="phonehome-ca.crt"',
          },
          body: ca.certPem,
        },
      },
      // A person driving a phone needs its real servers to answer.
      otherwise: values.offline ? 'not-found' : 'pass-through',
    },
    log: (line) => console.error(`proxy: ${line}`),
  });
  let device: Device | undefined;
  let consented = false;
  let steps = 0;
  const mark = (m: Mark) => journal.append({ type: 'mark', mark: m });
  const status = () =>
    `${capture.counters.exchanges} exchanges, ${capture.counters.tlsFailures} unreadable TLS, ${steps} steps${consented ? ', consent given' : ''}`;

  try {
    if (entry) {
      device = createDevice(entry);
      await device.route({
        proxyPort: capture.port,
        proxyUrl: capture.proxyUrl,
        ca,
        runFolder: folder.path,
        log: (line) => console.log(line),
      });
      const read = await device.readIdentifiers({ execute: async () => undefined });
      if (Object.keys(read).length > 0)
        journal.append({ type: 'identifiers', source: 'device', values: read });
      console.log(`capturing ${entry.id} through ${capture.proxyUrl} (adb reverse)`);
    } else {
      console.log(
        `On the phone: Wi-Fi settings › this network › proxy › manual: host ${values.host}, port ${capture.port}.`,
      );
      console.log(
        `Then open http://${CA_HOST}/ in the phone's browser to install the CA (Settings › Security › Install a certificate › CA certificate).`,
      );
      console.log(
        `Only ${(values.client ?? []).join(', ')} may connect; everyone else is refused.`,
      );
    }
    mark({ type: 'step', name: 'start', at: Date.now() });
    await markLoop({
      step: (name) => {
        steps += 1;
        mark({ type: 'step', name: name || `step ${steps}`, at: Date.now() });
      },
      consent: (name) => {
        const at = Date.now();
        mark({ type: 'step', name: `consent: ${name || 'consent'}`, at });
        if (!consented) mark({ type: 'consent', name: 'consent', at, covers: 'all' });
        consented = true;
      },
      status,
    });
  } finally {
    if (device) {
      try {
        await device.restore();
      } catch (error) {
        console.error(`phonehome: ${describeError(error)}`);
      }
    }
    await capture.stop();
    journal.append({ type: 'run-end', at: Date.now() });
    journal.close();
  }
  const { result, identifiers } = await analyseJournal(journal.path);
  await writeRunReports({ result, identifiers, versions, checks: [] });
  const verdict = overallStatus(result.verdicts);
  console.log(
    `\n${verdict.toUpperCase()}: ${status()}; ${result.findings.filter((f) => f.beforeConsent).length} finding(s) before consent. Report: ${folder.path}`,
  );
  return verdict === 'pass' ? EXIT.ok : EXIT.leak;
}

/** Reads marks until quit: single keys on a terminal, lines otherwise; SIGINT/SIGTERM quit too. */
function markLoop(handlers: {
  step: (name: string) => void;
  consent: (name: string) => void;
  status: () => string;
}): Promise<void> {
  return new Promise((resolve) => {
    const input = process.stdin;
    const timer = input.isTTY
      ? setInterval(
          () => process.stdout.write(`\r\x1b[2K${handlers.status()}  [s]tep [c]onsent [q]uit`),
          1000,
        )
      : undefined;
    timer?.unref();
    const reader = input.isTTY ? undefined : createInterface({ input });
    const quit = () => {
      if (timer) clearInterval(timer);
      process.off('SIGINT', quit);
      process.off('SIGTERM', quit);
      if (input.isTTY) input.setRawMode(false);
      input.removeAllListeners('data');
      reader?.close();
      // A paused pipe still holds the event loop open until the other end closes it; the capture
      // is over, so stdin is let go of for good.
      input.pause();
      input.unref?.();
      if (!input.isTTY) input.destroy();
      resolve();
    };
    // The capture ends the normal way on a signal: restore, reports, and a verdict exit code.
    process.on('SIGINT', quit);
    process.on('SIGTERM', quit);
    if (input.isTTY) {
      input.setRawMode(true);
      input.setEncoding('utf8');
      input.on('data', (key: string) => {
        if (key === 's') handlers.step('');
        else if (key === 'c') handlers.consent('');
        else if (key === 'q' || key === '\u0003') return quit();
        process.stdout.write(`\r\x1b[2K${handlers.status()}`);
      });
      return;
    }
    reader!.on('line', (line) => {
      const [word, ...rest] = line.trim().split(/\s+/);
      const name = rest.join(' ');
      if (word === 'step') handlers.step(name);
      else if (word === 'consent') handlers.consent(name);
      else if (word === 'quit') quit();
      else if (word) console.error(`unknown mark '${word}': use step <name>, consent <name>, quit`);
      console.log(handlers.status());
    });
    reader!.on('close', quit);
  });
}
