/**
 * Quotes one argument for the phone's `sh` (mksh or toybox sh). adb hands `adb shell` its
 * command as one string the phone's shell parses again, so anything beyond plain characters is
 * single-quoted.
 *
 * @example
 *   shellQuote("O'Brien") // → 'O'\''Brien'
 */
export function shellQuote(argument: string): string {
  if (argument !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(argument)) return argument;
  return `'${argument.replace(/'/g, `'\\''`)}'`;
}

/**
 * One shell command line from its words, each quoted as needed.
 *
 * @example
 *   shellCommand(['settings', 'put', 'global', 'http_proxy', '127.0.0.1:8123'])
 */
export function shellCommand(words: string[]): string {
  return words.map(shellQuote).join(' ');
}
