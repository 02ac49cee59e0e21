import type { VerdictStatus } from './types.ts';

/**
 * Error codes the user fixes by changing their input — a flag, a file, devices.json, a scenario,
 * the phone's USB state — and so exit 2. Every other code is an internal error (exit 3).
 */
const USAGE_CODES =
  /^(USAGE|DEVICES_|DEVICE_(UNKNOWN|NOT_CHOSEN|KIND_UNAVAILABLE)|SCENARIO_|IDENTIFIERS_|CONSENT_UNDECLARED|STEP_UNSUPPORTED|FLOW_INVALID|HAR_|JOURNAL_(CORRUPT|NO_START)|SCAN_INPUT_|PROXY_OPEN_RELAY|CA_UNAVAILABLE|REPORTS_DIR|ENV_|ADB_(NOT_FOUND|NO_DEVICE|SEVERAL_DEVICES|UNAUTHORIZED|OFFLINE|NO_PERMISSIONS|DEVICE_NOT_FOUND))/;

/**
 * The one error class of phonehome. Every message tells the user the next step; `code` lets
 * callers and tests tell errors apart without parsing text; `cause` keeps the low-level error;
 * `kind` says whose move it is: `usage` (fix the input) or `internal` (something broke).
 *
 * A leak is never an error: it is a Finding.
 *
 * @example
 *   throw new PhonehomeError('DEVICE_UNKNOWN', `no device 'pixel-7' in devices.json; known: virtual`);
 */
export class PhonehomeError extends Error {
  readonly code: string;
  readonly kind: 'usage' | 'internal';

  constructor(
    code: string,
    message: string,
    options?: { cause?: unknown; kind?: 'usage' | 'internal' },
  ) {
    super(message, options);
    this.name = 'PhonehomeError';
    this.code = code;
    this.kind = options?.kind ?? (USAGE_CODES.test(code) ? 'usage' : 'internal');
  }
}

/** Exit codes shared by every command. */
export const EXIT = {
  ok: 0,
  /** A leak was found, or a verdict failed or was inconclusive. */
  leak: 1,
  /** Bad input: a flag, a file, a config entry. */
  usage: 2,
  /** Something broke that was not the user's input (a crashed proxy, a lost phone). */
  internal: 3,
} as const;

/**
 * The exit code for an error that stopped a command: 2 for what the user fixes (a PhonehomeError
 * of kind usage, a bad flag), 3 for anything else.
 *
 * @example
 *   exitCodeFor(new PhonehomeError('USAGE', '--port takes a number')) // → 2
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof PhonehomeError) return error.kind === 'usage' ? EXIT.usage : EXIT.internal;
  if (isParseArgsError(error)) return EXIT.usage;
  return EXIT.internal;
}

/** True for node:util parseArgs' errors (an unknown flag, a missing value). */
export function isParseArgsError(error: unknown): boolean {
  return (
    error instanceof TypeError &&
    ((error as NodeJS.ErrnoException).code ?? '').startsWith('ERR_PARSE_ARGS')
  );
}

/**
 * The exit code for a run's (or runs') status: 0 pass, 1 fail or inconclusive (unread traffic is
 * not a pass), 3 when the run itself broke.
 *
 * @example
 *   exitCodeForStatus(result.status)
 */
export function exitCodeForStatus(status: VerdictStatus): number {
  if (status === 'pass') return EXIT.ok;
  if (status === 'error') return EXIT.internal;
  return EXIT.leak;
}

/** The message of anything thrown, for logs. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
