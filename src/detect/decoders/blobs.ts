/**
 * Finds encoded blobs inside text: base64 (either alphabet) and JWTs. The automaton already finds
 * a value base64'd on its own; decoding a blob finds what is nested deeper (base64 of gzip, of
 * protobuf, of JSON with a hash in it).
 */

/** A blob shorter than this holds nothing we could recognise once decoded. */
const MIN_BLOB = 16;
const BLOB = /[A-Za-z0-9+/_-]{16,}={0,2}/g;
const JWT = /^(eyJ[A-Za-z0-9_-]+)\.(eyJ[A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)$/;

export interface Blob {
  start: number;
  end: number;
  /** "base64", "jwt:header", "jwt:payload". */
  kind: string;
  bytes: Uint8Array;
}

/**
 * Base64 and JWT blobs in a text part, decoded.
 *
 * @example
 *   findBlobs(Buffer.from('{"d":"eyJpbWVpIjoiMzU2OTM4MDM1NjQzODA5In0="}'))
 *   // → [{ start: 6, end: 46, kind: 'base64', bytes: <'{"imei":"356938035643809"}'> }]
 */
export function findBlobs(bytes: Uint8Array): Blob[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const blobs: Blob[] = [];
  // JWTs span dots, which the base64 pattern stops at: look for them first.
  for (const match of text.matchAll(/eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g)) {
    const parts = JWT.exec(match[0]);
    if (!parts) continue;
    const start = match.index;
    const payloadStart = start + (parts[1] as string).length + 1;
    blobs.push({
      start,
      end: payloadStart - 1,
      kind: 'jwt:header',
      bytes: Buffer.from(parts[1] as string, 'base64url'),
    });
    blobs.push({
      start: payloadStart,
      end: payloadStart + (parts[2] as string).length,
      kind: 'jwt:payload',
      bytes: Buffer.from(parts[2] as string, 'base64url'),
    });
  }
  for (const match of text.matchAll(BLOB)) {
    const token = match[0];
    const start = match.index;
    if (blobs.some((blob) => start >= blob.start - 1 && start < blob.end + 1)) continue;
    if (!worthDecoding(token)) continue;
    const decoded = Buffer.from(
      token,
      token.includes('-') || token.includes('_') ? 'base64url' : 'base64',
    );
    if (decoded.length < 12) continue;
    blobs.push({ start, end: start + token.length, kind: 'base64', bytes: decoded });
  }
  return blobs.sort((a, b) => a.start - b.start);
}

/**
 * Hex digests, numbers and words also fit the base64 alphabet: a blob must mix cases and digits
 * (or carry base64's own characters) to be worth decoding.
 */
function worthDecoding(token: string): boolean {
  if (token.length < MIN_BLOB) return false;
  if (/^[0-9a-fA-F]+$/.test(token)) return false;
  const body = token.replace(/=+$/, '');
  if (body.length % 4 === 1) return false;
  const hasUpper = /[A-Z]/.test(body);
  const hasLower = /[a-z]/.test(body);
  const hasDigitOrSymbol = /[0-9+/_-]/.test(body);
  return hasUpper && hasLower && hasDigitOrSymbol;
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
