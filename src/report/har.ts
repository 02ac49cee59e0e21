import { dirname, relative, sep } from 'node:path';
import { loadAttribution } from '../journal/attribution.ts';
import { readJournal } from '../journal/reader.ts';
import { openPrivateFile } from '../journal/private-file.ts';
import { Timeline } from '../timeline/timeline.ts';
import type {
  Body,
  Exchange,
  HeaderPair,
  JudgedFinding,
  RunResult,
  TcpChunkInfo,
  DnsQueryInfo,
  WebSocketMessageInfo,
} from '../types.ts';

/** What phonehome adds to a HAR entry, under `_phonehome` (HAR 1.2 allows `_`-prefixed fields). */
export interface HarEntryExtension {
  /** The consent phase in which the request started, e.g. "before consent". */
  phase: string;
  /** The scenario step that was running. */
  step: string;
  /** Set when the proxy could not undo the body's content-encoding: the text is the raw bytes. */
  bodyDecodeError?: { request?: string; response?: string };
  /** Set when part of a body was not scanned (see Body.unscanned): kept through `scan`. */
  bodyUnscanned?: { request?: string; response?: string };
  /**
   * Bodies too large for a journal line are not inlined: their bytes (as they came over the wire,
   * content-encoding not undone) are in these files, relative to the HAR's folder. `scan` reads
   * them from there.
   */
  bodyFiles?: { request?: string; response?: string };
  /**
   * Set on an entry that is one WebSocket message (method WEBSOCKET, the message as its
   * postData, either way); its socket's handshake is the entry whose `_id` is `stream`.
   */
  websocket?: WebSocketMessageInfo;
  tcp?: TcpChunkInfo;
  dns?: DnsQueryInfo;
  /** The app that sent it, where the route says (the vpn route's packet dump). */
  app?: string;
  findings: Pick<
    JudgedFinding,
    'kind' | 'label' | 'form' | 'where' | 'evidence' | 'fragment' | 'beforeConsent' | 'consent'
  >[];
}

export interface HarWriteOptions {
  result: RunResult;
  /** The run's findings as they should appear (masked or redacted fragments are the caller's). */
  findings: JudgedFinding[];
  /** Rewrites each exchange before it is written: redaction. */
  transform?: (exchange: Exchange) => Exchange;
  /** phonehome's version, for `log.creator`. */
  version: string;
}

/**
 * Writes the exchanges of a journal as a HAR 1.2 file (mode 0600) that Chrome DevTools and HTTP
 * Toolkit open: one entry per exchange in journal order, decoded bodies (binary ones base64'd),
 * timings, and phonehome's phase, step and findings under `_phonehome`. Streams the journal, so
 * the memory used does not grow with the capture. Returns the number of entries.
 *
 * @example
 *   await writeHar('reports/latest/journal.ndjson', 'reports/latest/capture.har', { result, findings: result.findings, version: '0.1.0' });
 */
export async function writeHar(
  journalPath: string,
  outPath: string,
  options: HarWriteOptions,
): Promise<number> {
  const { result } = options;
  const timeline = new Timeline(result.marks);
  const byExchange = new Map<number, JudgedFinding[]>();
  for (const finding of options.findings) {
    byExchange.set(finding.exchange, [...(byExchange.get(finding.exchange) ?? []), finding]);
  }
  const file = openPrivateFile(outPath);
  try {
    const log = {
      version: '1.2',
      creator: { name: 'phonehome', version: options.version },
      pages: [
        {
          startedDateTime: iso(result.startedAt),
          id: result.runId,
          title: `${result.scenario.name} on ${result.device.id}`,
          pageTimings: { onContentLoad: -1, onLoad: -1 },
        },
      ],
    };
    const head = JSON.stringify({ log }, null, 2);
    // Everything but the entries is known up front: write it, then stream the entries into the
    // array, so a capture of any size is never held in memory at once.
    file.write(head.slice(0, head.lastIndexOf('}', head.length - 2)).trimEnd());
    file.write(
      `,\n    "_phonehome": ${indent(JSON.stringify(runExtension(result), null, 2), 4)},\n    "entries": [`,
    );
    let index = 0;
    const attribution = await loadAttribution(journalPath);
    for await (const record of readJournal(journalPath)) {
      if (record.type !== 'exchange') continue;
      const own = attribution.attribute(record.exchange, record.exchange.startedAt);
      const exchange = options.transform ? options.transform(own) : own;
      const entry = harEntry(exchange, result.runId, {
        phase: timeline.phaseAt(exchange.startedAt),
        step: timeline.stepAt(exchange.startedAt),
        findings: byExchange.get(index) ?? [],
        bodyFileName: (body) => {
          const name = relative(dirname(outPath), body).split(sep).join('/');
          return /^bodies\/[^/]+$/.test(name) ? name : undefined;
        },
      });
      file.write(`${index === 0 ? '' : ','}\n      ${indent(JSON.stringify(entry, null, 2), 6)}`);
      index += 1;
    }
    file.write(`${index === 0 ? '' : '\n    '}]\n  }\n}\n`);
    file.commit();
    return index;
  } catch (error) {
    file.abort();
    throw error;
  }
}

/**
 * One exchange as a HAR 1.2 entry. A request the phone hung up on has status 0, as browsers
 * write it.
 *
 * @example
 *   harEntry(exchange, 'run-1', { phase: 'before consent', step: 'insert SIM', findings: [] }).request.url
 */
export function harEntry(
  exchange: Exchange,
  pageref: string,
  context: {
    phase: string;
    step: string;
    findings: JudgedFinding[];
    /** A body file's name relative to the HAR's folder, or undefined when it is outside it. */
    bodyFileName?: (file: string) => string | undefined;
  },
) {
  const time = Math.max(0, exchange.completedAt - exchange.startedAt);
  const { request, response } = exchange;
  const extension: HarEntryExtension = {
    phase: context.phase,
    step: context.step,
    findings: context.findings.map((f) => ({
      kind: f.kind,
      label: f.label,
      form: f.form,
      where: f.where,
      evidence: f.evidence,
      fragment: f.fragment,
      beforeConsent: f.beforeConsent,
      ...(f.consent ? { consent: f.consent } : {}),
    })),
  };
  const decodeErrors = {
    ...(request.body.decodeError ? { request: request.body.decodeError } : {}),
    ...(response?.body.decodeError ? { response: response.body.decodeError } : {}),
  };
  if (Object.keys(decodeErrors).length > 0) extension.bodyDecodeError = decodeErrors;
  const unscanned: { request?: string; response?: string } = {
    ...(request.body.unscanned ? { request: request.body.unscanned } : {}),
    ...(response?.body.unscanned ? { response: response.body.unscanned } : {}),
  };
  const files: { request?: string; response?: string } = {};
  for (const [which, body] of [
    ['request', request.body],
    ['response', response?.body],
  ] as const) {
    if (body?.encoding !== 'file') continue;
    const name = context.bodyFileName?.(body.file);
    if (name) files[which] = name;
    else
      unscanned[which] ??=
        `the body (${body.size} bytes) is kept in ${body.file}, outside this HAR's folder`;
  }
  if (Object.keys(files).length > 0) extension.bodyFiles = files;
  if (exchange.websocket) extension.websocket = exchange.websocket;
  if (exchange.tcp) extension.tcp = exchange.tcp;
  if (exchange.dns) extension.dns = exchange.dns;
  if (exchange.app) extension.app = exchange.app;
  if (Object.keys(unscanned).length > 0) extension.bodyUnscanned = unscanned;
  const requestSize = bodySize(request.body);
  return {
    pageref,
    startedDateTime: iso(exchange.startedAt),
    time,
    request: {
      method: request.method,
      url: request.url,
      httpVersion: httpVersion(request.httpVersion),
      cookies: requestCookies(request.headers),
      headers: harHeaders(request.headers),
      queryString: queryString(request.url),
      ...(requestSize > 0
        ? {
            postData: {
              mimeType: headerValue(request.headers, 'content-type') ?? 'application/octet-stream',
              ...harText(request.body),
            },
          }
        : {}),
      headersSize: -1,
      bodySize: requestSize,
    },
    response: response
      ? {
          status: response.status,
          statusText: response.statusMessage,
          httpVersion: httpVersion(request.httpVersion),
          cookies: responseCookies(response.headers),
          headers: harHeaders(response.headers),
          content: {
            size: bodySize(response.body),
            mimeType: headerValue(response.headers, 'content-type') ?? 'x-unknown',
            ...harText(response.body),
          },
          redirectURL: headerValue(response.headers, 'location') ?? '',
          headersSize: -1,
          bodySize: bodySize(response.body),
        }
      : {
          status: 0,
          statusText: '',
          httpVersion: '',
          cookies: [],
          headers: [],
          content: { size: 0, mimeType: 'x-unknown' },
          redirectURL: '',
          headersSize: -1,
          bodySize: -1,
        },
    cache: {},
    // The proxy sees the request start and the exchange end; the whole of it is "wait", so the
    // phases add up to `time` as HAR requires.
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: time, receive: 0 },
    _id: exchange.id,
    ...(exchange.error !== undefined ? { _error: exchange.error } : {}),
    _phonehome: extension,
  };
}

/** Run-level data under `log._phonehome`: what ran, its marks, and what could not be read. */
function runExtension(result: RunResult) {
  return {
    runId: result.runId,
    scenario: result.scenario,
    device: result.device,
    marks: result.marks.map((mark) => ({ ...mark, at: iso(mark.at) })),
    consents: result.consents,
    unreadable: result.unreadable.map((failure) => ({ ...failure, at: iso(failure.at) })),
    ...(result.error ? { error: result.error } : {}),
  };
}

function harHeaders(headers: HeaderPair[]) {
  return headers.map(([name, value]) => ({ name, value }));
}

function requestCookies(headers: HeaderPair[]) {
  return headers
    .filter(([name]) => name.toLowerCase() === 'cookie')
    .flatMap(([, value]) => value.split(';'))
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0
        ? { name: pair, value: '' }
        : { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim() };
    });
}

function responseCookies(headers: HeaderPair[]) {
  return headers
    .filter(([name]) => name.toLowerCase() === 'set-cookie')
    .map(([, value]) => {
      const first = value.split(';')[0] ?? '';
      const eq = first.indexOf('=');
      return eq < 0
        ? { name: first.trim(), value: '' }
        : { name: first.slice(0, eq).trim(), value: first.slice(eq + 1).trim() };
    });
}

function queryString(url: string) {
  try {
    return [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
  } catch {
    // A URL the proxy recorded but WHATWG cannot parse still goes in the entry, without params.
    return [];
  }
}

function headerValue(headers: HeaderPair[], name: string): string | undefined {
  return headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

function bodySize(body: Body): number {
  if (body.encoding === 'file') return body.size;
  return Buffer.byteLength(body.data, body.encoding);
}

/** A body's text in a HAR: inline, or (kept in a file) empty, with a comment saying where it is. */
function harText(body: Body): { text: string; encoding?: 'base64'; comment?: string } {
  if (body.encoding === 'file')
    return {
      text: '',
      comment: `${body.size} bytes as sent over the wire, not inlined: see _phonehome.bodyFiles`,
    };
  return { text: body.data, ...(body.encoding === 'base64' ? { encoding: 'base64' } : {}) };
}

/** The journal says "1.1"; HAR viewers expect "HTTP/1.1". */
function httpVersion(version: string): string {
  if (version === '') return '';
  return /^http\//i.test(version) ? version.toUpperCase() : `HTTP/${version}`;
}

function iso(at: number): string {
  return new Date(at).toISOString();
}

function indent(json: string, spaces: number): string {
  return json.replace(/\n/g, `\n${' '.repeat(spaces)}`);
}
