import { PhonehomeError } from '../errors.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Cuts the entries out of a HAR file as it streams by, without parsing the whole document:
 * it follows only the JSON structure (brackets, strings, the keys `log` and `entries`) and hands
 * each element of `log.entries` over as its own bytes, to be parsed alone. Strings are skipped
 * with `indexOf`, so a body of hundreds of MB costs little more than reading it.
 *
 * @example
 *   const splitter = new HarEntrySplitter('capture.har');
 *   for await (const chunk of createReadStream('capture.har')) for (const entry of splitter.push(chunk)) JSON.parse(entry.toString());
 *   splitter.end();
 */
export class HarEntrySplitter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The last string completed at each depth, and whether a ':' made it a key. */
  private readonly lastString: (string | undefined)[] = [];
  private readonly keys: (string | undefined)[] = [];
  /** Bytes of a string being collected (keys at depth ≤ 2 only). */
  private collecting: number[] | undefined;
  private entriesDepth = -1;
  private sawLog = false;
  private sawEntries = false;
  private capture: Buffer[] | undefined;
  private captureStart = 0;
  private position = 0;

  constructor(private readonly file: string) {}

  /** Feeds the next chunk; returns the entries that ended in it. */
  push(chunk: Buffer): Buffer[] {
    const entries: Buffer[] = [];
    let i = 0;
    const length = chunk.length;
    if (this.capture) this.captureStart = 0;
    while (i < length) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          this.collecting?.push(chunk[i] as number);
          i++;
          continue;
        }
        const quote = chunk.indexOf(QUOTE, i);
        const backslash = chunk.indexOf(BACKSLASH, i);
        if (backslash >= 0 && (quote < 0 || backslash < quote)) {
          this.collect(chunk, i, backslash + 1);
          this.escaped = true;
          i = backslash + 1;
          continue;
        }
        if (quote < 0) {
          this.collect(chunk, i, length);
          i = length;
          continue;
        }
        this.collect(chunk, i, quote);
        this.inString = false;
        if (this.collecting) {
          this.lastString[this.depth] = JSON.parse(
            `"${Buffer.from(this.collecting).toString('utf8')}"`,
          ) as string;
          this.collecting = undefined;
        }
        i = quote + 1;
        continue;
      }
      const byte = chunk[i] as number;
      switch (byte) {
        case QUOTE:
          this.inString = true;
          if (this.depth <= 2 && !this.capture) this.collecting = [];
          break;
        case 0x3a: // ':' turns the last string into the current key
          this.keys[this.depth] = this.lastString[this.depth];
          break;
        case 0x2c: // ',' ends a value
          this.keys[this.depth] = undefined;
          break;
        case 0x7b: // '{'
        case 0x5b: // '['
          this.depth++;
          this.keys[this.depth] = undefined;
          if (byte === 0x7b && this.depth === 4 && this.entriesDepth === 3) {
            this.capture = [];
            this.captureStart = i;
          }
          if (
            byte === 0x5b &&
            this.depth === 3 &&
            this.keys[1] === 'log' &&
            this.keys[2] === 'entries'
          ) {
            this.entriesDepth = 3;
            this.sawEntries = true;
          }
          if (byte === 0x7b && this.depth === 2 && this.keys[1] === 'log') this.sawLog = true;
          break;
        case 0x7d: // '}'
        case 0x5d: // ']'
          if (this.depth === 0) this.fail(`unexpected '${String.fromCharCode(byte)}'`);
          if (byte === 0x7d && this.depth === 4 && this.capture) {
            this.capture.push(chunk.subarray(this.captureStart, i + 1));
            entries.push(Buffer.concat(this.capture));
            this.capture = undefined;
          }
          if (this.depth === this.entriesDepth) this.entriesDepth = -1;
          this.depth--;
          break;
        default:
          break;
      }
      i++;
    }
    if (this.capture) this.capture.push(chunk.subarray(this.captureStart));
    this.position += length;
    return entries;
  }

  /** Checks the document ended whole and had `log.entries`. */
  end(): void {
    if (this.inString || this.depth !== 0) {
      this.fail('the file ends in the middle of the JSON document (was it cut short?)');
    }
    if (!this.sawLog || !this.sawEntries) {
      throw new PhonehomeError(
        'HAR_INVALID',
        `${this.file} is not a HAR 1.2 file: it has no log.entries array; export the capture as HAR (DevTools → Network → Save all as HAR) or pass a phonehome run folder`,
      );
    }
  }

  private collect(chunk: Buffer, from: number, to: number): void {
    if (!this.collecting) return;
    for (let k = from; k < to; k++) this.collecting.push(chunk[k] as number);
  }

  private fail(what: string): never {
    throw new PhonehomeError(
      'HAR_INVALID',
      `${this.file} is not valid JSON near byte ${this.position}: ${what}`,
    );
  }
}
