import { createReadStream, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { PhonehomeError, describeError } from '../errors.ts';
import { bodyFilePath } from '../body-files.ts';
import type { Body, Exchange, HeaderPair } from '../types.ts';
import { HarEntrySplitter } from './entry-splitter.ts';

/**
 * Streams the exchanges of a HAR 1.2 file (Chrome DevTools, HTTP Toolkit, mitmproxy, a device
 * farm's network log, phonehome's own export), one entry at a time: a file of any size is read
 * in the memory of its largest entry.
 *
 * @example
 *   for await (const exchange of readHar('capture.har')) console.log(exchange.request.url);
 */
export async function* readHar(file: string): AsyncGenerator<Exchange> {
  let index = 0;
  for await (const entry of readHarEntries(file)) {
    yield harEntryToExchange(parseHarEntry(entry, index, file), index, file);
    index++;
  }
}

/** The raw bytes of each entry of `log.entries`, in order, for a caller that parses elsewhere. */
export async function* readHarEntries(file: string): AsyncGenerator<Buffer> {
  const splitter = new HarEntrySplitter(file);
  let stream;
  try {
    stream = createReadStream(file, { highWaterMark: 1 << 20 });
    for await (const chunk of stream) yield* splitter.push(chunk as Buffer);
  } catch (error) {
    if (error instanceof PhonehomeError) throw error;
    throw new PhonehomeError('HAR_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  splitter.end();
}

/** Parses one entry's bytes; a broken entry names its index. */
export function parseHarEntry(bytes: Buffer, index: number, file: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new PhonehomeError(
      'HAR_INVALID',
      `${file}: log.entries[${index}] is not valid JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

interface HarPostData {
  mimeType?: string;
  text?: string;
  encoding?: string;
  params?: { name: string; value?: string }[];
}

interface HarContent {
  mimeType?: string;
  text?: string;
  encoding?: string;
}

/**
 * Turns one HAR entry into an Exchange. HAR bodies are already decompressed; several exporters
 * write binary ones base64'd with `encoding: "base64"`, in `response.content` and in `postData`.
 *
 * @example
 *   harEntryToExchange(JSON.parse(text).log.entries[0], 0, 'capture.har').host // → 'api.account.xiaomi.com'
 */
export function harEntryToExchange(entry: unknown, index: number, file: string): Exchange {
  const at = `${file}: log.entries[${index}]`;
  const fail = (path: string, what: string): never => {
    throw new PhonehomeError(
      'HAR_INVALID',
      `${at}.${path} ${what}; the file is not a HAR 1.2 export`,
    );
  };
  if (!isObject(entry)) return fail('', 'is not an object');
  const request = entry.request;
  if (!isObject(request)) return fail('request', 'is missing');
  if (typeof request.url !== 'string') return fail('request.url', 'is missing');
  let url: URL | undefined;
  try {
    url = new URL(request.url);
  } catch {
    url = undefined;
  }
  const requestHeaders = headersOf(request.headers, `request.headers`, fail);
  const started =
    typeof entry.startedDateTime === 'string' ? Date.parse(entry.startedDateTime) : NaN;
  const startedAt = Number.isNaN(started) ? 0 : started;
  const time = typeof entry.time === 'number' && entry.time >= 0 ? entry.time : 0;
  const exchange: Exchange = {
    id: typeof entry._id === 'string' ? entry._id : `har-${index}`,
    startedAt,
    completedAt: startedAt + time,
    protocol:
      url?.protocol === 'http:'
        ? 'http'
        : url?.protocol === 'tcp:'
          ? 'tcp'
          : url?.protocol === 'dns:'
            ? 'dns'
            : 'https',
    host:
      url?.hostname ?? requestHeaders.find(([name]) => name.toLowerCase() === 'host')?.[1] ?? '',
    request: {
      method: typeof request.method === 'string' ? request.method : 'GET',
      url: request.url,
      httpVersion: typeof request.httpVersion === 'string' ? request.httpVersion : '',
      headers: requestHeaders,
      body: postDataBody(request.postData as HarPostData | undefined),
    },
  };
  const response = entry.response;
  if (isObject(response) && typeof response.status === 'number' && response.status > 0) {
    exchange.response = {
      status: response.status,
      statusMessage: typeof response.statusText === 'string' ? response.statusText : '',
      headers: headersOf(response.headers, 'response.headers', fail),
      body: contentBody(response.content as HarContent | undefined),
    };
  }
  // phonehome's own export marks bodies whose content-encoding the proxy could not undo: the
  // detector then tries the declared encoding itself.
  const decodeError = isObject(entry._phonehome) ? entry._phonehome.bodyDecodeError : undefined;
  if (isObject(decodeError)) {
    if (typeof decodeError.request === 'string')
      exchange.request.body.decodeError = decodeError.request;
    if (typeof decodeError.response === 'string' && exchange.response) {
      exchange.response.body.decodeError = decodeError.response;
    }
  }
  const unscanned = isObject(entry._phonehome) ? entry._phonehome.bodyUnscanned : undefined;
  if (isObject(unscanned)) {
    if (typeof unscanned.request === 'string') exchange.request.body.unscanned = unscanned.request;
    if (typeof unscanned.response === 'string' && exchange.response) {
      exchange.response.body.unscanned = unscanned.response;
    }
  }
  // phonehome's own export keeps large bodies in files beside the HAR.
  const files = isObject(entry._phonehome) ? entry._phonehome.bodyFiles : undefined;
  if (isObject(files)) {
    for (const which of ['request', 'response'] as const) {
      const name = files[which];
      const message = which === 'request' ? exchange.request : exchange.response;
      if (name === undefined || !message) continue;
      const path = bodyFilePath(name as string, dirname(file), at, exchange.id);
      let size: number;
      try {
        size = statSync(path).size;
      } catch (error) {
        throw new PhonehomeError(
          'HAR_BODY_FILE',
          `${at} names the body file ${String(name)}, which cannot be read: ${describeError(error)}; keep the bodies/ folder beside the HAR`,
          { cause: error },
        );
      }
      const { unscanned: note, decodeError: broken } = message.body;
      message.body = {
        encoding: 'file',
        file: path,
        size,
        complete: true,
        ...(note ? { unscanned: note } : {}),
        ...(broken ? { decodeError: broken } : {}),
      };
    }
  }
  const websocket = isObject(entry._phonehome) ? entry._phonehome.websocket : undefined;
  if (
    isObject(websocket) &&
    typeof websocket.stream === 'string' &&
    (websocket.direction === 'sent' || websocket.direction === 'received')
  ) {
    exchange.websocket = {
      stream: websocket.stream,
      direction: websocket.direction,
      binary: websocket.binary === true,
    };
  }
  const tcp = isObject(entry._phonehome) ? entry._phonehome.tcp : undefined;
  if (
    isObject(tcp) &&
    typeof tcp.stream === 'string' &&
    (tcp.direction === 'sent' || tcp.direction === 'received')
  ) {
    exchange.tcp = { stream: tcp.stream, direction: tcp.direction };
  }
  const dns = isObject(entry._phonehome) ? entry._phonehome.dns : undefined;
  if (isObject(dns) && typeof dns.type === 'string') {
    exchange.dns = {
      type: dns.type,
      ...(typeof dns.answer === 'string' ? { answer: dns.answer } : {}),
    };
  }
  const app = isObject(entry._phonehome) ? entry._phonehome.app : undefined;
  if (typeof app === 'string') exchange.app = app;
  if (typeof entry._error === 'string') exchange.error = entry._error;
  return exchange;
}

function headersOf(
  headers: unknown,
  path: string,
  fail: (path: string, what: string) => never,
): HeaderPair[] {
  if (headers === undefined) return [];
  if (!Array.isArray(headers)) return fail(path, 'is not an array of { name, value }');
  return headers.map((header: unknown, i) => {
    if (!isObject(header) || typeof header.name !== 'string')
      return fail(`${path}[${i}].name`, 'is missing');
    return [
      header.name,
      typeof header.value === 'string' ? header.value : String(header.value ?? ''),
    ] as HeaderPair;
  });
}

function postDataBody(postData: HarPostData | undefined): Body {
  if (!postData) return { encoding: 'utf8', data: '' };
  if (typeof postData.text === 'string' && postData.text !== '') {
    return harBody(postData.text, postData.encoding);
  }
  // Some exporters give a form only as params: rebuild the body the phone sent.
  if (Array.isArray(postData.params)) {
    const form = postData.params
      .map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(p.value ?? '')}`)
      .join('&');
    return { encoding: 'utf8', data: form };
  }
  return { encoding: 'utf8', data: '' };
}

function contentBody(content: HarContent | undefined): Body {
  if (!content || typeof content.text !== 'string') return { encoding: 'utf8', data: '' };
  return harBody(content.text, content.encoding);
}

/**
 * A HAR body as the detector can trust it. Exporters store binary they could not keep as text
 * with U+FFFD in place of each byte that was not UTF-8 (Chromium and Playwright do this for gzip
 * request bodies): those bytes are gone, so the body is scanned as it stands and marked
 * unscanned — never read as if it were whole. An encoding other than base64 is not read at all.
 */
function harBody(text: string, encoding: unknown): Body {
  if (encoding === 'base64') return { encoding: 'base64', data: text };
  if (encoding !== undefined && encoding !== '') {
    return {
      encoding: 'utf8',
      data: '',
      unscanned: `the body's HAR encoding ${JSON.stringify(encoding)} is not one phonehome reads (only base64): not scanned`,
    };
  }
  const lost = countReplacements(text);
  if (lost === 0) return { encoding: 'utf8', data: text };
  return {
    encoding: 'utf8',
    data: text,
    unscanned: `the exporter stored this body as text with ${lost} U+FFFD replacement character(s): the bytes they stand for were lost (binary or compressed content kept as text), so it could not be scanned whole`,
  };
}

function countReplacements(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\uFFFD'); at >= 0; at = text.indexOf('\uFFFD', at + 1)) count++;
  return count;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
