import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { config as loadDotenv } from 'dotenv';
import { PhonehomeError } from '../errors.ts';

/**
 * Everything phonehome reads from the environment, read in this one place.
 * `.env` in the working directory (or the file PHONEHOME_ENV_FILE names; /dev/null reads none) is
 * loaded first, never overriding variables already set, so CI secrets win. `.env.example`
 * documents each variable.
 */
export interface Environment {
  /** PHONEHOME_DEVICE: the device id to run on. */
  device?: string;
  /** PHONEHOME_DEVICES_FILE: devices.json to use instead of ./devices.json. */
  devicesFile?: string;
  /** PHONEHOME_CA_DIR: where the per-installation CA lives (key 0600, folder 0700). */
  caDir: string;
  /** PHONEHOME_REPORTS_DIR: where run folders go. */
  reportsDir: string;
  /** PHONEHOME_REVEAL=1: print identifier values instead of masked ones. */
  reveal: boolean;
  /** Every variable, for `${VAR}` substitution in devices.json (secrets for remote endpoints). */
  variables: Readonly<Record<string, string | undefined>>;
}

let loaded: Environment | undefined;

/** Reads `.env` (once) and the process environment. */
export function readEnvironment(cwd = process.cwd()): Environment {
  if (loaded) return loaded;
  const chosen = nonEmpty(process.env.PHONEHOME_ENV_FILE);
  const dotenvPath = chosen ? resolve(cwd, chosen) : join(cwd, '.env');
  if (chosen && !existsSync(dotenvPath)) {
    throw new PhonehomeError(
      'ENV_FILE_MISSING',
      `PHONEHOME_ENV_FILE=${chosen}: ${dotenvPath} does not exist; name an existing file, or unset it to read ./.env`,
    );
  }
  if (existsSync(dotenvPath)) {
    checkDotenv(dotenvPath);
    loadDotenv({ path: dotenvPath, quiet: true });
  }
  const env = process.env;
  const configHome = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  loaded = {
    device: nonEmpty(env.PHONEHOME_DEVICE),
    devicesFile: nonEmpty(env.PHONEHOME_DEVICES_FILE),
    caDir: resolve(nonEmpty(env.PHONEHOME_CA_DIR) ?? join(configHome, 'phonehome', 'ca')),
    reportsDir: resolve(cwd, nonEmpty(env.PHONEHOME_REPORTS_DIR) ?? 'reports'),
    reveal: env.PHONEHOME_REVEAL === '1',
    variables: env,
  };
  return loaded;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * dotenv skips lines it cannot read without a word, so a typo would silently leave a setting
 * (a device, a secret) unset: every line must be blank, a comment, or NAME=value.
 */
function checkDotenv(path: string): void {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  let quote: string | undefined;
  lines.forEach((line, index) => {
    if (quote) {
      // Inside a multi-line quoted value, as dotenv allows: wait for the closing quote.
      if (line.includes(quote)) quote = undefined;
      return;
    }
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = /^(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=\s*(.*)$/.exec(trimmed);
    if (!match) {
      throw new PhonehomeError(
        'ENV_INVALID',
        // The line itself is not shown: it may hold a secret.
        `${path}:${index + 1} is not NAME=value; fix or remove that line (see .env.example)`,
      );
    }
    const value = match[1]!;
    const opening = value[0];
    if (
      (opening === '"' || opening === "'" || opening === '`') &&
      !value.slice(1).includes(opening)
    )
      quote = opening;
  });
}
