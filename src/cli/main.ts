import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.ts';
import { EXIT, PhonehomeError, describeError, exitCodeFor, isParseArgsError } from '../errors.ts';
import { devicesCommand } from './devices.ts';
import { closest } from './suggest.ts';
import { runCommand, startCommand } from './run.ts';

/** Every command: its usage line(s) and what it does. `--help` and `help <command>` print it. */
const COMMANDS: Record<string, { usage: string; about: string }> = {
  start: {
    usage: 'phonehome start [--verbose]',
    about: `the F-Secure 2014 scenario on the virtual phone, before and after Xiaomi's opt-in update
(what \`npm start\` runs)`,
  },
  run: {
    usage: `phonehome run [scenario…] [--device id[,id…] | --devices id,tag:name,…] [--parallel N]
              [--shard i/n] [--devices-file f] [--reveal] [--quiet] [--json] [--verbose]`,
    about: `run scenarios (default: scenarios/*.scenario.ts) on devices (default: PHONEHOME_DEVICE,
else devices.json's "default"); --verbose shows Appium's own debug log`,
  },
  scan: {
    usage: `phonehome scan <file.har | run-folder | journal.ndjson> [--identifiers ids.json|run-folder |
               --device id] [--devices-file f] [--json] [--reveal] [--workers N]`,
    about: `find identifiers in captured traffic; what could not be scanned is said (exit 1)`,
  },
  report: {
    usage: `phonehome report <run-folder> [--reveal] [--quiet] [--redact [--out dir] [--identifiers ids.json]]
                 [--scenario f]`,
    about: `rebuild a run's reports from its journal (also a killed run's), or write a redacted copy
safe to attach to a bug`,
  },
  diff: {
    usage: `phonehome diff <runA> <runB> [--json] [--html f] [--fail-on rules] [--strong-only]
               [--allow-other-scenario]`,
    about: `which leaks B fixed, kept or brought (exit 1 when any pre-consent leak remains or is new)`,
  },
  merge: {
    usage: 'phonehome merge <folders…> [--out dir] [--json]',
    about: 'one summary (HTML, JUnit, JSON) over many run folders',
  },
  capture: {
    usage: `phonehome capture [--device id] [--devices-file f] [--identifiers ids.json] [--port P]
                  [--host ip --client ip…] [--offline] [--allow-destination ip|cidr…]
                  [--gateway interface --client ip [--address-pool cidr]]`,
    about: `a phone you drive by hand: proxy + journal, you mark the steps (s/c/q keys, or
step/consent/quit lines on stdin); traffic goes on to the real servers unless --offline; without
identifiers to look for, the verdict is inconclusive; --gateway: this host is the phone's access
point and captures every TCP connection, DNS query and UDP flow (docs/gateway.md); online the
phone may not reach this host's own addresses (loopback, its interfaces, link-local, 169.254.169.254)
nor private networks other than its own: such a request is answered 403 and journaled as a blocked
destination; --allow-destination 192.168.1.40 or 10.0.0.0/8 (repeatable) allows one`,
  },
  doctor: {
    usage: 'phonehome doctor [--device id] [--devices-file f]',
    about: `checks what the chosen device needs, each with a fix (exit 1 when a check fails)`,
  },
  restore: {
    usage:
      'phonehome restore --device id [--devices-file f] [--state-dir d] [--force] [--reset-proxy]',
    about: `undo what a killed run changed on a phone, and remove the gateway rules (nftables) of
runs that are gone`,
  },
  devices: {
    usage: 'phonehome devices [--devices-file f] [--propose] [--json]',
    about: `list the devices in devices.json; --propose prints entries for the phones attached over
adb`,
  },
  help: { usage: 'phonehome help [command]', about: "this text, or one command's" },
  version: { usage: 'phonehome version | --version | -V', about: "phonehome's version" },
};

/** Commands that print their own, longer help for --help. */
const OWN_HELP = new Set(['diff', 'report']);

const indent = (text: string, by: string) => text.replaceAll('\n', `\n${by}`);

const HELP = `phonehome — catches phones sending personal identifiers home before the user consented

Usage (in the project folder: npx phonehome …):
${Object.values(COMMANDS)
  .map(({ usage, about }) => `  ${usage}\n      ${indent(about, '      ')}`)
  .join('\n')}

Exit codes: 0 pass / nothing found, 1 a leak, a failed or inconclusive verdict, 2 bad input,
3 an internal error or a run that broke.
Environment (also read from .env): PHONEHOME_DEVICE, PHONEHOME_DEVICES_FILE, PHONEHOME_CA_DIR,
PHONEHOME_REPORTS_DIR, PHONEHOME_REVEAL, PHONEHOME_ENV_FILE, NO_COLOR — see .env.example.`;

function commandHelp(command: string): string {
  const { usage, about } = COMMANDS[command]!;
  return `usage: ${usage}\n\n${about}\n\nphonehome help lists every command.`;
}

/** The options a command's usage names: any other is refused, with the closest as a hint. */
function knownOptions(command: string): string[] {
  return [...new Set([...(COMMANDS[command]?.usage.match(/--[a-z][a-z-]*/g) ?? []), '--help'])];
}

/** The first option not in the command's usage, told with "did you mean". */
function unknownOption(command: string, args: string[]): string | undefined {
  const known = knownOptions(command);
  for (const arg of args) {
    if (arg === '--') break;
    if (!arg.startsWith('--')) continue;
    const name = arg.split('=', 1)[0]!;
    if (known.includes(name)) continue;
    const hint = closest(name, known);
    return `unknown option ${name} for phonehome ${command}${hint ? `; did you mean ${hint}?` : ''} (phonehome help ${command})`;
  }
  return undefined;
}

/**
 * The phonehome command. Returns the exit code; never calls process.exit, so cleanups run.
 *
 * @example
 *   process.exitCode = await main(['run', '--device', 'virtual-redmi-1s-2014']);
 */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command !== undefined && COMMANDS[command] && command !== 'help' && command !== 'version') {
      const wantsHelp = rest.some((arg) => arg === '--help' || arg === '-h');
      if (wantsHelp && !OWN_HELP.has(command)) {
        console.log(commandHelp(command));
        return EXIT.ok;
      }
      const unknown = unknownOption(command, rest);
      if (unknown) {
        console.error(`phonehome: ${unknown}`);
        return EXIT.usage;
      }
    }
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
        console.log(HELP);
        return command === undefined ? EXIT.usage : EXIT.ok;
      case 'help': {
        const [topic] = rest;
        if (topic === undefined) {
          console.log(HELP);
          return EXIT.ok;
        }
        if (!COMMANDS[topic]) return unknownCommand(topic);
        if (OWN_HELP.has(topic)) return await main([topic, '--help']);
        console.log(commandHelp(topic));
        return EXIT.ok;
      }
      case 'version':
      case '--version':
      case '-V':
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
        return unknownCommand(command);
    }
  } catch (error) {
    if (error instanceof PhonehomeError) console.error(`phonehome: ${error.message}`);
    else if (isParseArgsError(error))
      console.error(`phonehome: ${parseArgsMessage(error)} (phonehome help ${command})`);
    else {
      console.error(`phonehome: unexpected error: ${describeError(error)}`);
      if (error instanceof Error && error.stack) console.error(error.stack);
    }
    return exitCodeFor(error);
  }
}

function unknownCommand(command: string): number {
  const hint = closest(command, Object.keys(COMMANDS));
  console.error(
    `phonehome: unknown command '${command}'${hint ? `; did you mean '${hint}'?` : ''} (phonehome help lists them)`,
  );
  return EXIT.usage;
}

/** node:util parseArgs' words, without its advice about '--' that fits no phonehome command. */
function parseArgsMessage(error: unknown): string {
  return describeError(error)
    .replace(/\. To specify a positional argument starting with a '-'.*$/s, '')
    .replace(/^Unknown option '([^']*)'$/, 'unknown option $1')
    .replace(/^Option '([^']*)' argument missing$/, '$1 needs a value');
}

function version(): string {
  return (
    JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
  ).version;
}
