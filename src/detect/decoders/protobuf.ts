import type { Decoder } from '../decoder.ts';
import type { Child, Part } from '../part.ts';
import { sliceOf } from './make-child.ts';

/** The media type a nested message or a gRPC message is given, so the protobuf decoder opens it. */
export const PROTOBUF_TYPE = 'application/x-protobuf';

/**
 * Undeclared binary larger than this is not walked as protobuf: a decoded base64 blob or an app's
 * octet-stream body is often protobuf, large binary is media, where a walk only finds noise.
 */
const MAX_UNDECLARED = 64 * 1024;

/**
 * A part declared as protobuf, one child per length-delimited field, named by its field numbers
 * from the outer message in ("request-body>protobuf:1.3"). A nested message is a slice its
 * matches move into; any other field (a string, bytes) is one value, `field`, judged on its own.
 *
 * @example
 *   protobufDecoder.open({ where: 'request-body', contentType: 'application/x-protobuf', bytes: Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63]), depth: 0 }, scope)
 *   // → [{ where: 'request-body>protobuf:1', start: 2, end: 5, slice: true, field: true, … }]
 */
export const protobufDecoder: Decoder = {
  name: 'protobuf',
  // Declared, a message that breaks off (cut short, corrupted) still has its fields up to there;
  // the bytes after are scanned as they are.
  open: (part) =>
    part.contentType?.includes('protobuf') ? protobufChildren(part, true) : undefined,
};

/**
 * Small binary that declares nothing and that no decoder before opened, walked as protobuf when
 * it parses as a message.
 *
 * @example
 *   sniffedProtobufDecoder.open({ where: 'request-body>base64', bytes: Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63]), depth: 1 }, scope)
 *   // → [{ where: 'request-body>base64>protobuf:1', … }]
 */
export const sniffedProtobufDecoder: Decoder = {
  name: 'protobuf (sniffed)',
  open: (part) => (part.bytes.length <= MAX_UNDECLARED ? protobufChildren(part, false) : undefined),
};

function protobufChildren(part: Part, brokenOff: boolean): Child[] | undefined {
  const fields = protobufFields(part.bytes, { brokenOff });
  if (!fields || fields.length === 0) return undefined;
  // A field of a field is named "protobuf:1.3", not "protobuf:1>protobuf:3".
  const base = /^(.*)>protobuf:([\d.]+)$/.exec(part.where);
  return fields.map((field) => {
    const where = base
      ? `${base[1]}>protobuf:${base[2]}.${field.path}`
      : `${part.where}>protobuf:${field.path}`;
    return field.nested
      ? sliceOf(part, where, field.start, field.end, { contentType: PROTOBUF_TYPE })
      : sliceOf(part, where, field.start, field.end, { field: true });
  });
}

/** A length-delimited field of a protobuf message: a string, bytes, or a nested message. */
export interface ProtobufField {
  /** The field's number, e.g. "3"; a nested message's decoder names its own "1.3". */
  path: string;
  start: number;
  end: number;
  /** True when the field's bytes parse as a message of their own. */
  nested: boolean;
}

/**
 * The length-delimited fields of a protobuf message, without a schema, one level deep: a nested
 * message is walked when the decoder opens it, so each level costs one walk of its bytes, not one
 * per level above it. Strings sit in the wire format as their raw bytes, so the automaton finds
 * them in the message as it is; these fields give a finding a precise place ("protobuf:1.3") and
 * a string its exact extent. Returns undefined when the bytes are not a well-formed message —
 * unless `brokenOff` takes a message that breaks off as its fields up to the break, if any.
 *
 * @example
 *   protobufFields(Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63])) // → [{ path: '1', start: 2, end: 5, nested: false }]
 *   protobufFields(Buffer.from([0x0a, 0x01, 0x61, 0x0f]), { brokenOff: true }) // → [{ path: '1', start: 2, end: 3, nested: false }]
 */
export function protobufFields(
  bytes: Uint8Array,
  options: { brokenOff?: boolean } = {},
): ProtobufField[] | undefined {
  const fields: ProtobufField[] = [];
  const ok = walk(bytes, 0, bytes.length, (field, start, end) => {
    // Short printable strings also parse as messages by chance; a nested message must hold at
    // least one length-delimited field and not read as plain text.
    const nested = end > start && walk(bytes, start, end) > 0 && !isPrintable(bytes, start, end);
    fields.push({ path: String(field), start, end, nested });
  });
  return ok >= 0 || (options.brokenOff && fields.length > 0) ? fields : undefined;
}

/**
 * Walks one level of a message from `from` to `to`, calling `onField` for each length-delimited
 * field. Returns how many there were, or -1 when the bytes are not a well-formed message.
 */
function walk(
  bytes: Uint8Array,
  from: number,
  to: number,
  onField?: (field: number, start: number, end: number) => void,
): number {
  let count = 0;
  let at = from;
  while (at < to) {
    const key = readVarint(bytes, at, to);
    if (!key) return -1;
    at = key.next;
    const field = Math.floor(key.value / 8);
    const wireType = key.value % 8;
    if (field === 0 || field > 536870911) return -1;
    switch (wireType) {
      case 0: {
        const value = readVarint(bytes, at, to);
        if (!value) return -1;
        at = value.next;
        break;
      }
      case 1:
        at += 8;
        break;
      case 5:
        at += 4;
        break;
      case 2: {
        const length = readVarint(bytes, at, to);
        if (!length) return -1;
        const start = length.next;
        const end = start + length.value;
        if (end > to) return -1;
        onField?.(field, start, end);
        count++;
        at = end;
        break;
      }
      default:
        return -1;
    }
    if (at > to) return -1;
  }
  return count;
}

/** A base-128 varint of at most 10 bytes (protobuf's, Avro's longs), or undefined when it does not end in time. */
export function readVarint(
  bytes: Uint8Array,
  at: number,
  to: number,
): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < to && i < at + 10; i++) {
    const byte = bytes[i] as number;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
  }
  return undefined;
}

function isPrintable(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number;
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return false;
  }
  return true;
}
