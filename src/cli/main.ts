import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.ts';
import { EXIT, PhonehomeError, describeError, exitCodeFor, isParseArgsError } from '../errors.ts';
import { devicesCommand } from './devices.ts';
import { runCommand, startCommand } from './run.ts';

const HELP = `phonehome — catches phones sending personal identifiers home before the user consented

Usage:
  phonehome start                      the F-Secure 2014 scenario on the virtual phone, before and
                                       after Xiaomi's opt-in update (what \`npm start\` runs)
  phonehome run [scenario…] [--devices id,tag:name,…] [--parallel N] [--shard i/n]
                [--devices-file f] [--reveal] [--quiet]
                                       run scenarios (default: scenarios/*.scenario.ts) on devices
                                       (default: PHONEHOME_DEVICE, else devices.json's "default")
  phonehome scan <file.har | run-folder | journal.ndjson> [--identifiers ids.json|run-folder | --device id] [--json]
                                       find identifiers in captured traffic
  phonehome report <run-folder> [--reveal] [--redact [--out dir]] [--scenario f]
                                       rebuild a run's reports from its journal (also a killed
                                       run's), or write a redacted copy safe to attach to a bug
  phonehome diff <runA> <runB> [--json] [--html f] [--fail-on rules]
                                       which leaks B fixed, kept or brought (exit 1 when any
                                       pre-consent leak remains or is new)
  phonehome merge <folders…> [--out dir] [--json]
                                       one summary (HTML, JUnit, JSON) over many run folders
  phonehome capture [--device id] [--identifiers ids.json] [--port P] [--host ip --client ip…]
                    [--offline]        a phone you drive by hand: proxy + journal, you mark the
                                       steps (s/c/q keys, or step/consent/quit lines on stdin);
                                       traffic goes on to the real servers unless --offline;
                                       without identifiers to look for, the verdict is inconclusive
  phonehome doctor [--device id]       checks what a phone on USB needs, each with a fix
  phonehome restore --device id        undo what a killed run changed on a phone
  phonehome devices [--devices-file f] [--propose]
                                       list the devices in devices.json; --propose prints entries
                                       for the phones attached over adb
  phonehome help | --help | --version

Exit codes: 0 pass / nothing found, 1 a leak, a failed or inconclusive verdict, 2 bad input,
3 an internal error or a run that broke.
Environment (also read from .env): PHONEHOME_DEVICE, PHONEHOME_DEVICES_FILE, PHONEHOME_CA_DIR,
PHONEHOME_REPORTS_DIR, PHONEHOME_REVEAL — see .env.example.`;

/**
 * The phonehome command. Returns the exit code; never calls process.exit, so cleanups run.
 *
 * @example
 *   process.exitCode = await main(['run', '--device', 'virtual-redmi-1s-2014']);
 */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(HELP);
        return command === undefined ? EXIT.usage : EXIT.ok;
      case '--version':
      case '-v':
        console.log(version());
        return EXIT.ok;
      case 'start':
        return await startCommand(rest);
      case 'run':
        return await runCommand(rest);
      case 'devices':
        if (rest.includes('--propose')) {
          const { devicesProposeCommand } = await import('./devices-propose.ts');
          return await devicesProposeCommand(rest.filter((arg) => arg !== '--propose'));
        }
        return await devicesCommand(rest);
      case 'doctor': {
        const { doctorCommand } = await import('./doctor.ts');
        return await doctorCommand(rest);
      }
      case 'restore': {
        const { restoreCommand } = await import('./restore.ts');
        return await restoreCommand(rest);
      }
      case 'capture': {
        const { captureCommand } = await import('./capture.ts');
        return await captureCommand(rest);
      }
      case 'report': {
        const { reportCommand } = await import('./report.ts');
        return await reportCommand(rest);
      }
      case 'diff': {
        const { diffCommand } = await import('./diff.ts');
        return await diffCommand(rest);
      }
      case 'merge': {
        const { mergeCommand } = await import('./merge.ts');
        return await mergeCommand(rest);
      }
      case 'scan': {
        const { scanCommand } = await import('./scan.ts');
        return await scanCommand(rest);
      }
      default:
        console.error(`phonehome: unknown command '${command}'; run \`phonehome help\``);
        return EXIT.usage;
    }
  } catch (error) {
    if (error instanceof PhonehomeError) console.error(`phonehome: ${error.message}`);
    else if (isParseArgsError(error))
      console.error(`phonehome: ${describeError(error)}; run \`phonehome help\``);
    else {
      console.error(`phonehome: unexpected error: ${describeError(error)}`);
      if (error instanceof Error && error.stack) console.error(error.stack);
    }
    return exitCodeFor(error);
  }
}

function version(): string {
  return (
    JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
  ).version;
}
