/**
 * The one error class of phonehome. Every message tells the user the next step; `code` lets
 * callers and tests tell errors apart without parsing text; `cause` keeps the low-level error.
 *
 * A leak is never an error: it is a Finding.
 *
 * @example
 *   throw new PhonehomeError('DEVICE_UNKNOWN', `no device 'pixel-7' in devices.json; known: virtual`);
 */
export class PhonehomeError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PhonehomeError';
    this.code = code;
  }
}

/** Exit codes shared by every command. */
export const EXIT = {
  ok: 0,
  /** A leak was found, or a verdict failed. */
  leak: 1,
  /** Bad input: a flag, a file, a config entry. */
  usage: 2,
  /** Something broke that was not the user's input (a crashed proxy, a lost phone). */
  internal: 3,
} as const;

/** The message of anything thrown, for logs. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
