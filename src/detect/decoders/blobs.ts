/**
 * Finds encoded blobs inside text: base64 (either alphabet) and JWTs. The automaton already finds
 * a value base64'd on its own; decoding a blob finds what is nested deeper (base64 of gzip, of
 * protobuf, of JSON with a hash in it).
 */

import { BASE64_BYTE, RUN, runFinder, type RunFinderOptions } from './base64-runs.ts';

/** A blob shorter than this holds nothing we could recognise once decoded. */
const MIN_BLOB = RUN;
const JWT = /^(eyJ[A-Za-z0-9_-]+)\.(eyJ[A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)/;

/** 1 for bytes of base64url, the alphabet of JWTs. */
const BASE64URL_BYTE = BASE64_BYTE.map((flag, byte) => (byte === 0x2b || byte === 0x2f ? 0 : flag));

export interface Blob {
  start: number;
  end: number;
  /** "base64", "jwt:header", "jwt:payload". */
  kind: string;
  bytes: Uint8Array;
}

/**
 * Base64 and JWT blobs in a text part, decoded, in order.
 *
 * @example
 *   findBlobs(Buffer.from('{"d":"eyJpbWVpIjoiMzU2OTM4MDM1NjQzODA5In0="}'))
 *   // → [{ start: 6, end: 46, kind: 'base64', bytes: <'{"imei":"356938035643809"}'> }]
 */
export function findBlobs(bytes: Uint8Array, options: RunFinderOptions = {}): Blob[] {
  const blobs: Blob[] = [];
  const length = bytes.length;
  // Most header values: nothing to find, and nothing to set up.
  if (length < MIN_BLOB) return blobs;
  // The answer is defined by a cursor that probes one byte in MIN_BLOB and examines the
  // alphabet run around each probe that hits (`step`). Only two things it can meet matter: a
  // run of MIN_BLOB or more, which it always examines from its start, whatever the cursor was
  // before; and a JWT whose header is shorter than that, which it sees only when a probe lands
  // on it. So this jumps from run to long run (runFinder, SIMD), and replays the exact cursor
  // only when a short-header JWT lies before the next long run: rare in real traffic.
  const nextRun = runFinder(bytes, options);
  const jwts = shortJwtFinder(bytes);
  let i = 0;
  while (i + MIN_BLOB - 1 < length) {
    const run = nextRun(i);
    const jwt = jwts(i, run < 0 ? length : run);
    if (jwt >= 0) {
      // Where the cursor was is only known at i: replay it from there past the JWT.
      while (i <= jwt && i >= 0) i = step(bytes, i, blobs);
      if (i < 0) break;
      continue;
    }
    if (run < 0) break;
    let end = run + MIN_BLOB;
    while (end < length && BASE64_BYTE[bytes[end] as number] === 1) end++;
    i = examine(bytes, run, end, blobs);
  }
  return blobs;
}

/**
 * One move of the reference cursor from `i`: probe byte i + MIN_BLOB - 1 and examine the run
 * around it. Returns the next cursor, or -1 at the end of the bytes.
 */
function step(bytes: Uint8Array, i: number, blobs: Blob[]): number {
  const length = bytes.length;
  const probe = i + MIN_BLOB - 1;
  if (probe >= length) return -1;
  if (BASE64_BYTE[bytes[probe] as number] === 0) return probe + 1;
  let start = probe;
  while (start > i && BASE64_BYTE[bytes[start - 1] as number] === 1) start--;
  let end = probe + 1;
  while (end < length && BASE64_BYTE[bytes[end] as number] === 1) end++;
  return examine(bytes, start, end, blobs);
}

/**
 * The alphabet run [start, end) a probe hit: a JWT when a dot follows, a base64 blob when long
 * enough. Returns the next cursor, past the blob and its padding.
 */
function examine(bytes: Uint8Array, start: number, runEnd: number, blobs: Blob[]): number {
  let end = runEnd;
  if (end - start >= MIN_BLOB || bytes[end] === 0x2e) {
    const jwt = bytes[end] === 0x2e ? jwtAt(bytes, start) : undefined;
    if (jwt) {
      blobs.push(...jwt.blobs);
      end = jwt.end;
    } else if (end - start >= MIN_BLOB) {
      let stop = end;
      while (stop < bytes.length && stop < end + 2 && bytes[stop] === 0x3d) stop++;
      const blob = base64Blob(bytes, start, end, stop);
      if (blob) blobs.push(blob);
      end = stop;
    }
  }
  return end + 1;
}

/**
 * `(from, limit) → start`: the first start in [from, limit) of something shaped like a JWT
 * ("eyJ…" "." "eyJ") whose header is shorter than MIN_BLOB, or -1. A superset of those `jwtAt`
 * accepts there; found with memchr for "J", which is rare outside base64.
 */
function shortJwtFinder(bytes: Uint8Array): (from: number, limit: number) => number {
  let buffer: Buffer | undefined;
  // The first "J" at or after `searched`, cached: the cursor only moves forward, so each byte
  // is searched about once.
  let searched = 0;
  let nextJ = -1;
  return (from, limit) => {
    for (let at = from + 2; ;) {
      if (nextJ < at || searched > at) {
        searched = at;
        buffer ??= Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        nextJ = buffer.indexOf(0x4a, at);
        if (nextJ < 0) nextJ = bytes.length;
      }
      if (nextJ >= bytes.length || nextJ - 2 >= limit) return -1;
      if (jwtShaped(bytes, nextJ - 2)) return nextJ - 2;
      at = nextJ + 1;
    }
  };
}

/** "eyJ", base64url, ".eyJ": the shape of a JWT's first two parts, checked without a string. */
function jwtShaped(bytes: Uint8Array, start: number): boolean {
  if (bytes[start] !== 0x65 || bytes[start + 1] !== 0x79) return false;
  let at = start + 3;
  while (at < bytes.length && BASE64URL_BYTE[bytes[at] as number] === 1) at++;
  return (
    at > start + 3 &&
    at - start < MIN_BLOB &&
    bytes[at] === 0x2e &&
    bytes[at + 1] === 0x65 &&
    bytes[at + 2] === 0x79 &&
    bytes[at + 3] === 0x4a
  );
}

function base64Blob(bytes: Uint8Array, start: number, end: number, stop: number): Blob | undefined {
  const token = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
  if (!worthDecoding(token)) return undefined;
  const decoded = Buffer.from(token, /[-_]/.test(token) ? 'base64url' : 'base64');
  if (decoded.length < 12) return undefined;
  return { start, end: stop, kind: 'base64', bytes: decoded };
}

/** A JWT starting at `start`: its header and payload, decoded. */
function jwtAt(bytes: Uint8Array, start: number): { blobs: Blob[]; end: number } | undefined {
  if (bytes[start] !== 0x65 || bytes[start + 1] !== 0x79 || bytes[start + 2] !== 0x4a)
    return undefined;
  const window = Buffer.from(
    bytes.buffer,
    bytes.byteOffset + start,
    Math.min(bytes.length - start, 1 << 16),
  ).toString('latin1');
  const parts = JWT.exec(window);
  if (!parts) return undefined;
  const header = parts[1] as string;
  const payload = parts[2] as string;
  const payloadStart = start + header.length + 1;
  return {
    blobs: [
      { start, end: payloadStart - 1, kind: 'jwt:header', bytes: Buffer.from(header, 'base64url') },
      {
        start: payloadStart,
        end: payloadStart + payload.length,
        kind: 'jwt:payload',
        bytes: Buffer.from(payload, 'base64url'),
      },
    ],
    end: start + (parts[0] as string).length,
  };
}

/**
 * Hex digests, numbers and words also fit the base64 alphabet: a blob must mix cases and digits
 * (or carry base64's own characters) to be worth decoding.
 */
function worthDecoding(token: string): boolean {
  if (/^[0-9a-fA-F]+$/.test(token)) return false;
  if (token.length % 4 === 1) return false;
  return /[A-Z]/.test(token) && /[a-z]/.test(token) && /[0-9+/_-]/.test(token);
}

/** Whether bytes read as text (few control bytes): text parts are searched for blobs. */
export function looksLikeText(bytes: Uint8Array): boolean {
  const sample = Math.min(bytes.length, 512);
  let control = 0;
  for (let i = 0; i < sample; i++) {
    const byte = bytes[i] as number;
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20)) control++;
  }
  return control * 20 <= sample;
}
