import { parseArgs } from 'node:util';
import { chooseDevice, loadDevices } from '../config/devices.ts';
import { restorePhone } from '../device/android/restore.ts';
import { removeStaleTables } from '../capture/gateway/nftables.ts';
import { EXIT, PhonehomeError } from '../errors.ts';

/**
 * `phonehome restore [--device id] [--force] [--reset-proxy]`: puts back what a killed run left
 * on a phone (proxy, reverse tunnel, CA mount, adbd root, contacts…), from the restore record the
 * run wrote before each change; for a device on the gateway route, it also removes the nftables
 * rules of runs that are gone. A run that ends normally, fails, or gets Ctrl-C restores by
 * itself; this is for after a SIGKILL, a crash, or a phone unplugged mid-run.
 *
 * @example
 *   process.exitCode = await restoreCommand(['--device', 'pixel-7']);
 */
export async function restoreCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      device: { type: 'string' },
      'devices-file': { type: 'string' },
      'state-dir': { type: 'string' },
      force: { type: 'boolean', default: false },
      'reset-proxy': { type: 'boolean', default: false },
    },
  });
  const entry = chooseDevice(loadDevices(values['devices-file']), values.device);
  if (entry.gateway) {
    // The gateway's rules are this host's, not the phone's: those of every run that is gone.
    const removed = await removeStaleTables((line) => console.log(line));
    if (removed.length === 0) console.log('no gateway rules of a stopped run were left');
    if (entry.kind !== 'android') return EXIT.ok;
  }
  if (entry.kind !== 'android') {
    throw new PhonehomeError(
      'USAGE',
      `device '${entry.id}' is of kind ${entry.kind}: phonehome changes nothing on it, so there is nothing to restore`,
    );
  }
  await restorePhone(entry, {
    ...(values['state-dir'] ? { stateDir: values['state-dir'] } : {}),
    force: values.force,
    resetProxy: values['reset-proxy'],
    log: (line) => console.log(line),
  });
  return EXIT.ok;
}
