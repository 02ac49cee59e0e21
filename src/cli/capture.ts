import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  findDevice,
  loadDevices,
  type DeviceEntry,
  type GatewaySettings,
} from '../config/devices.ts';
import { DestinationPolicy } from '../capture/destinations.ts';
import { readEnvironment } from '../config/env.ts';
import { readIdentifiersFile } from '../detect/identifiers.ts';
import type { Device } from '../device/device.ts';
import { createDevice } from '../device/registry.ts';
import { PhonehomeError, describeError, exitCodeForStatus } from '../errors.ts';
import { formatOutcome } from '../report/console-summary.ts';
import { RunSession } from '../session/run-session.ts';
import { colourStatuses } from './colour.ts';

/** The hostname the CA is served at through the proxy (a reserved TLD: never a real site). */
export const CA_HOST = 'phonehome.invalid';

/**
 * `phonehome capture [--device id] [--identifiers FILE] [--port P] [--host ip --client ip…]
 * [--gateway interface --client ip [--address-pool cidr]] [--offline] [--allow-destination ip|cidr…]`:
 * a phone you drive by
 * hand. With --gateway this host is the phone's network (docs/gateway.md) and sees everything.
 * The proxy and the journal run without Appium; an
 * `android` device is routed and trusted as in a scenario run and restored at the end. Without a
 * device, the proxy listens on the LAN address given (--host) for the phone's address only
 * (--client), and serves its CA at http://phonehome.invalid/. The identifiers to look for come
 * from the device's devices.json entry and the phone, or from --identifiers (the same file
 * format as `phonehome scan`); with none known the verdict is inconclusive, never a pass. Marks:
 * keys `s` (step), `c` (consent), `q` (quit) on a terminal, else lines `step <name>`,
 * `consent <name>`, `quit`. Online, the phone may not reach this host's own addresses nor
 * private networks other than its own (capture/destinations.ts) unless --allow-destination
 * names them. Ctrl-C ends cleanly. The verdicts are a scenario run's: exit 1 when
 * an identifier left before the consent (or could not be looked for).
 *
 * @example
 *   process.exitCode = await captureCommand(['--host', '192.168.1.20', '--client', '192.168.1.57', '--identifiers', 'ids.json']);
 */
export async function captureCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      device: { type: 'string' },
      'devices-file': { type: 'string' },
      identifiers: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      client: { type: 'string', multiple: true },
      gateway: { type: 'string' },
      'address-pool': { type: 'string' },
      offline: { type: 'boolean', default: false },
      'allow-destination': { type: 'string', multiple: true },
    },
  });
  const env = readEnvironment();
  if (values.device !== undefined && values.device.trim() === '')
    throw new PhonehomeError(
      'USAGE',
      '--device is empty; give a device id from devices.json, or leave it out for a phone on Wi-Fi',
    );
  const entry: DeviceEntry | undefined = values.device
    ? findDevice(loadDevices(values['devices-file']), values.device)
    : undefined;
  if (entry && entry.kind !== 'android') {
    throw new PhonehomeError(
      'USAGE',
      `device '${entry.id}' is of kind ${entry.kind}; capture drives android devices, or a phone on Wi-Fi without --device`,
    );
  }
  // The gateway route for a phone on this host's access point: its first boot included.
  let gateway: GatewaySettings | undefined;
  if (values.gateway !== undefined) {
    if (entry) {
      throw new PhonehomeError(
        'USAGE',
        `--gateway is for a phone without a device entry; for '${entry.id}', put "gateway" in devices.json`,
      );
    }
    if (values.host !== undefined) {
      throw new PhonehomeError(
        'USAGE',
        '--gateway takes no --host: the phone sets no proxy, and the capture listens on loopback for the gateway alone',
      );
    }
    if ((values.client ?? []).length !== 1) {
      throw new PhonehomeError(
        'USAGE',
        `--gateway ${values.gateway} needs the phone's address: one --client <ip> (give the phone a fixed DHCP lease)`,
      );
    }
    gateway = {
      interface: values.gateway,
      phoneAddress: values.client![0]!,
      ...(values['address-pool'] ? { addressPool: values['address-pool'] } : {}),
    };
  }
  if (!entry && !values.host && !gateway) {
    throw new PhonehomeError(
      'USAGE',
      "without --device, give --host <this computer's LAN address> and --client <the phone's address>, so the phone can reach the proxy and nobody else can; or --gateway <interface> --client <the phone's address> when this computer is the phone's access point",
    );
  }
  const port = values.port ? Number(values.port) : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new PhonehomeError('USAGE', `--port ${values.port} is not a port number`);
  const fromFile = values.identifiers ? readIdentifiersFile(values.identifiers) : undefined;
  // A mistyped --allow-destination is told now, before a run folder is made.
  new DestinationPolicy({ allow: values['allow-destination'] ?? [] });

  const device: Device | undefined = entry ? createDevice(entry) : undefined;
  const run = await RunSession.open({
    reportsDir: env.reportsDir,
    caDir: env.caDir,
    start: {
      scenario: 'capture',
      scenarioTitle: 'A phone driven by hand',
      device: { id: entry?.id ?? 'wifi-phone', kind: entry?.kind ?? 'wifi' },
      identifiers: fromFile ?? entry?.identifiers ?? {},
      ...(fromFile ? { identifierSource: 'file' as const } : {}),
      consents: [{ name: 'consent', covers: 'all' }],
      forbiddenHosts: [],
    },
    ...(device ? { device } : {}),
    ...(gateway ? { gateway } : {}),
    capture: {
      port,
      ...(values.host ? { host: values.host, allowedClients: values.client ?? [] } : {}),
      ...(entry?.android?.tlsPassthroughHosts
        ? { tlsPassthroughHosts: entry.android.tlsPassthroughHosts }
        : {}),
      serveCaAt: CA_HOST,
      destinations: {
        allow: values['allow-destination'] ?? [],
        phoneAddresses: gateway ? [gateway.phoneAddress] : (values.client ?? []),
      },
      answers: {
        hosts: {},
        // A person driving a phone needs its real servers to answer.
        otherwise: values.offline ? 'not-found' : 'pass-through',
      },
      log: (line) => console.error(`proxy: ${line}`),
    },
    log: (line) => console.log(line),
    // A signal ends the capture the normal way: restore, reports, and a verdict exit code.
    exitOnSignal: false,
  });
  let consented = false;
  let steps = 0;
  const status = () =>
    `${run.capture.counters.exchanges} exchanges, ${run.capture.counters.tlsFailures} unreadable, ${steps} steps${consented ? ', consent given' : ''}`;

  let runError: unknown;
  try {
    await run.start();
    // A driven phone proves its route itself; a phone on Wi-Fi, by its user (the start's line).
    if (device) await run.probe('routing');
    if (device && entry) {
      run.identifiers('device', await device.readIdentifiers({ execute: async () => undefined }));
      console.log(
        entry.gateway
          ? `capturing ${entry.id} at the network (gateway ${entry.gateway.interface})`
          : `capturing ${entry.id} through ${run.capture.proxyUrl} (adb reverse)`,
      );
    } else if (gateway) {
      console.log(
        `Capturing everything ${gateway.phoneAddress} sends on ${gateway.interface}: no proxy to set on the phone, from its first boot on.`,
      );
      console.log(
        `To read its HTTPS, open http://${CA_HOST}/ in the phone's browser and install the CA (Settings › Security › Install a certificate › CA certificate).`,
      );
    } else {
      console.log(
        `On the phone: Wi-Fi settings › this network › proxy › manual: host ${values.host}, port ${run.capture.port}.`,
      );
      console.log(
        `Then open http://${CA_HOST}/ in the phone's browser to install the CA (Settings › Security › Install a certificate › CA certificate).`,
      );
      console.log(
        `Only ${(values.client ?? []).join(', ')} may connect; everyone else is refused.`,
      );
    }
    if (!fromFile && !entry)
      console.log(
        'No identifiers to look for: pass --identifiers FILE ({ "imei": ["…"], … }), or the verdict will be inconclusive.',
      );
    run.mark({ type: 'step', name: 'start', at: Date.now() });
    await markLoop({
      step: (name) => {
        steps += 1;
        run.mark({ type: 'step', name: name || `step ${steps}`, at: Date.now() });
      },
      consent: (name) => {
        const at = Date.now();
        run.mark({ type: 'step', name: `consent: ${name || 'consent'}`, at });
        if (!consented) run.mark({ type: 'consent', name: 'consent', at, covers: 'all' });
        consented = true;
      },
      status,
    });
    if (device) await run.probe('last-step');
  } catch (error) {
    runError = error;
    console.error(`phonehome: ${describeError(error)}`);
  } finally {
    await run.close(runError);
  }
  const { result } = await run.finish();
  console.log(`\n${colourStatuses(formatOutcome(result, { reveal: env.reveal }))}`);
  return exitCodeForStatus(result.status);
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
