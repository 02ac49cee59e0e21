import {
  getLocal,
  type CompletedRequest,
  type CompletedResponse,
  type InitiatedRequest,
  type Mockttp,
  type WebSocketMessage,
} from 'mockttp';
import { lookup } from 'node:dns/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP, isIPv4 } from 'node:net';
import { contentCodings, decode, MAX_DECODED } from '../codec/compression.ts';
import { PhonehomeError, describeError } from '../errors.ts';
import type {
  Body,
  CertificateAuthority,
  InlineBody,
  Exchange,
  HeaderPair,
  PhoneConnection,
  TlsFailure,
} from '../types.ts';
import { bindMockttp, listeningAddress } from './bind.ts';
import { canonicalAddress } from './pcap.ts';
import { PROBE_ANSWER, PROBE_HOST } from './probe.ts';
import {
  BodySink,
  INLINE_BODY_LIMIT,
  tapExchange,
  type BodyStore,
  type TappedBody,
} from './bodies.ts';
import { blockedDestination, DestinationPolicy, type DestinationOptions } from './destinations.ts';
import {
  guardConnects,
  guardRequests,
  guardSocks,
  guardWebSockets,
  hostOfTarget,
  type ConnectRequest,
  type Rejected,
} from './guard.ts';

/** A canned answer for a host the phone calls. */
export interface CannedResponse {
  status: number;
  headers?: Record<string, string>;
  /** A JSON body (sent with content-type application/json). */
  json?: unknown;
  /** A text body, when `json` is not given. */
  body?: string;
}

/**
 * How the proxy answers. The run has no internet by default, so the proxy answers every request
 * itself: hosts the scenario lists get their canned response, others a 404. A real phone can be
 * given `otherwise: 'pass-through'` to reach the real servers.
 */
export interface AnswerPolicy {
  hosts: Record<string, CannedResponse>;
  otherwise: 'not-found' | 'pass-through';
}

/** Where the capture writes what it saw, the moment it sees it: the run's journal. */
export interface CaptureRecorder {
  append(
    record:
      | { type: 'request'; id: string; exchange: Exchange }
      | { type: 'exchange'; exchange: Exchange }
      | { type: 'tls-failure'; failure: TlsFailure }
      | { type: 'connection'; connection: PhoneConnection },
  ): void;
}

export interface CaptureOptions {
  ca: CertificateAuthority;
  journal: CaptureRecorder;
  /** Where bodies over INLINE_BODY_LIMIT are streamed: the journal's folder (`bodyStore(runFolder)`). */
  bodies: BodyStore;
  /** Bodies larger than this go to files (default INLINE_BODY_LIMIT; tests make it small). */
  inlineBodyLimit?: number;
  answers: AnswerPolicy;
  /** Address to listen on. Loopback unless the user deliberately chose a LAN address. */
  host?: string;
  /**
   * The phone's connections arrive redirected, not through a proxy or tunnel (the iptables
   * route): one that is neither HTTP nor TLS is the phone's, and recorded unreadable without a
   * destination. Otherwise such bytes sent to the proxy itself are not an app's traffic.
   */
  recordUnaddressed?: boolean;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Only these client addresses may connect (required when `host` is not loopback). */
  allowedClients?: string[];
  /** Hosts whose TLS is passed through untouched: recorded by SNI, never broken. */
  tlsPassthroughHosts?: string[];
  /** Connections idle this long are closed (default 120 s). */
  idleTimeoutMs?: number;
  /** A request head not complete this long after its first byte is answered 400 and closed (default 60 s). */
  headersTimeoutMs?: number;
  /** A host name at which the proxy serves the CA certificate, for a phone to install it. */
  serveCaAt?: string;
  /**
   * Online (`otherwise: 'pass-through'`), what the phone may reach besides the internet: the
   * host's own addresses and private networks other than the phone's are refused unless allowed
   * (capture/destinations.ts). `allowedClients` count as the phone's addresses.
   */
  destinations?: DestinationOptions;
  /** Where problems inside the proxy are told; they never stop the capture. */
  log?: (message: string) => void;
}

/** The two bodies of one exchange, recorded as they stream (capture/bodies.ts). */
interface Taps {
  request: BodySink;
  response: BodySink;
}

/** A WebSocket as far as the capture knows it (see `subscribeWebSockets`). */
interface Socket {
  head?: Exchange;
  accepted?: CompletedResponse;
  journaled?: boolean;
  messages: number;
  early: WebSocketMessage[];
}

interface Half {
  request?: CompletedRequest;
  response?: CompletedResponse;
  error?: string;
}

/** Live counters for progress lines. */
export interface CaptureCounts {
  exchanges: number;
  tlsFailures: number;
  inFlight: number;
}

/**
 * The proxy the phone talks through. Every completed exchange and every TLS handshake it could not
 * open goes to the journal as it happens. A failure inside one event handler is logged and cannot
 * take the proxy down (mitmproxy's `safecall`).
 *
 * @example
 *   const capture = await CaptureSession.start({ ca, journal, answers: { hosts: {}, otherwise: 'not-found' } });
 *   // … drive the phone through capture.proxyUrl …
 *   await capture.waitQuiet(500, 5000);
 *   await capture.stop();
 */
export class CaptureSession {
  private readonly server: Mockttp;
  private readonly options: CaptureOptions;
  private readonly halves = new Map<string, Half>();
  /** Requests whose head arrived and whose body has not (yet): journaled even if it never does. */
  private readonly initiated = new Map<string, InitiatedRequest>();
  private readonly pending = new Set<Promise<void>>();
  /** Request halves journaled before their answers, by id, until the exchange completes. */
  private readonly requested = new Map<string, Exchange>();
  private readonly taps = new Map<string, Taps>();
  /** Open WebSockets by stream id: their URL and host, and messages that came before them. */
  private readonly sockets = new Map<string, Socket>();
  private lastActivity = Date.now();
  private counts = { exchanges: 0, tlsFailures: 0 };
  /** Raw TCP tunnels passed through online, by mockttp's id. */
  private readonly rawStreams = new Map<
    string,
    { host: string; port: number; startTime: number; startTimestamp: number; chunks: number }
  >();
  private stopped = false;
  /** Host and time of each exchange journaled: what waitForExchange looks back over. */
  private readonly landedLog: { host: string; at: number }[] = [];
  private readonly waiters = new Set<{
    matches: (landed: { host: string; at: number }) => boolean;
    resolve: () => void;
  }>();
  private rejected = 0;

  /** Online, what the phone may not reach; undefined offline (nothing goes upstream). */
  private readonly policy?: DestinationPolicy;
  /** Requests refused for their destination, by id: why, for their exchange's error. */
  private readonly blocked = new Map<string, string>();

  private constructor(server: Mockttp, options: CaptureOptions, policy?: DestinationPolicy) {
    this.server = server;
    this.options = options;
    this.policy = policy;
  }

  static async start(options: CaptureOptions): Promise<CaptureSession> {
    const host = await resolveListenAddress(options.host ?? '127.0.0.1');
    if (!isLoopback(host) && !(options.allowedClients && options.allowedClients.length > 0)) {
      throw new PhonehomeError(
        'PROXY_OPEN_RELAY',
        `refusing to listen on ${options.host ?? host}${options.host && options.host !== host ? ` (${host})` : ''} without --client <phone ip>: the proxy would be an open relay for the whole network`,
      );
    }
    const server = getLocal({
      https: {
        keyPath: options.ca.keyPath,
        certPath: options.ca.certPath,
        tlsPassthrough: (options.tlsPassthroughHosts ?? []).map((hostname) => ({ hostname })),
      },
      // Bodies of any size are recorded whole, but not by mockttp: capture/bodies.ts streams each
      // one to memory or to a file as it passes. mockttp's own copy (for its events) stops at the
      // inline limit, so a 2 GB body costs it nothing; it hands an empty buffer past it.
      maxBodySize: options.inlineBodyLimit ?? INLINE_BODY_LIMIT,
      recordTraffic: false,
      // SOCKS5 (and 4) on the same port: a VPN capture app on the phone (PCAPdroid) hands every
      // TCP connection over this way, with its original destination.
      socks: true,
      // Online, a tunnel that speaks neither HTTP nor TLS goes on to its destination, its bytes
      // recorded both ways (raw-passthrough-data); offline there is nobody to pass it to, so it
      // is recorded as an unreadable connection (client-error, below).
      ...(options.answers.otherwise === 'pass-through'
        ? { passthrough: ['unknown-protocol' as const] }
        : {}),
    });
    const online = options.answers.otherwise === 'pass-through';
    const policy = online
      ? new DestinationPolicy({
          ...options.destinations,
          phoneAddresses: [
            ...(options.destinations?.phoneAddresses ?? []),
            ...(options.allowedClients ?? []),
          ],
        })
      : undefined;
    const refusal = policy ? (host: string) => policy.refusal(host) : undefined;
    bindMockttp(server, {
      host,
      idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
      headersTimeoutMs: options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS,
      allowedClients: options.allowedClients,
      onRefused: (remote) =>
        options.log?.(`refused a connection from ${remote} (not an allowed client)`),
      onServer: (listening) => {
        const onError = (error: unknown) =>
          options.log?.(`proxy connect handler failed: ${describeError(error)}`);
        guardConnects(listening, onError, refusal, (target, request, why) =>
          session.safely('blocked', () => session.recordBlockedTunnel(target, why, request)),
        );
        if (refusal)
          guardSocks(
            listening,
            refusal,
            (target, why, socket) =>
              session.safely('blocked', () =>
                session.recordBlockedTunnel(target, why, undefined, socket.remoteAddress),
              ),
            onError,
          );
      },
    });
    // The guards above call the session only once it accepts sockets, after it exists.
    const session = new CaptureSession(server, options, policy);
    guardRequests(
      server,
      (rejected) => session.safely('rejected request', () => session.recordRejected(rejected)),
      {
        started: (id, request, response) =>
          session.safely('body tap', () => session.tap(id, request, response)),
        closed: (id) => session.closed(id),
      },
    );
    guardWebSockets(server, (error) =>
      options.log?.(`closed a WebSocket the phone broke: ${describeError(error)}`),
    );
    await session.installRules();
    await session.subscribe();
    try {
      await server.start(options.port ?? 0);
    } catch (error) {
      throw new PhonehomeError(
        'PROXY_START',
        `cannot start the proxy on ${host}:${options.port ?? 0}: ${describeError(error)}${(error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? '; choose another --port' : ''}`,
        { cause: error },
      );
    }
    return session;
  }

  /** The proxy's address as the phone should be given it, e.g. http://127.0.0.1:8123. */
  get proxyUrl(): string {
    const address = listeningAddress(this.server);
    if (!address) throw new PhonehomeError('PROXY_NOT_STARTED', 'the proxy is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  get port(): number {
    return this.server.port;
  }

  get counters(): CaptureCounts {
    return { ...this.counts, inFlight: this.initiated.size };
  }

  /**
   * Waits until no request is in flight and nothing happened for `quietMs`, or `maxMs` passed.
   * Steps call this so that a phone's reaction to a step lands before the next mark.
   */
  async waitQuiet(quietMs: number, maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    for (;;) {
      await Promise.all([...this.pending]);
      const now = Date.now();
      const idle =
        this.initiated.size === 0 && this.pending.size === 0 && now - this.lastActivity >= quietMs;
      if (idle || now >= deadline) return;
      await delay(Math.max(5, Math.min(quietMs, deadline - now, 50)));
    }
  }

  /**
   * Resolves once an exchange with `host` (or a subdomain; any host when absent) has been
   * journaled at or after `since`, including one that already was; rejects after `timeoutMs`.
   * A scenario waits this way for traffic an action causes later than the settle allows.
   */
  waitForExchange(options: { host?: string; since: number; timeoutMs: number }): Promise<void> {
    const { host, since, timeoutMs } = options;
    const matches = (landed: { host: string; at: number }) =>
      landed.at >= since &&
      (host === undefined || landed.host === host || landed.host.endsWith(`.${host}`));
    if (this.landedLog.some(matches)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        matches,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new PhonehomeError(
            'TRAFFIC_TIMEOUT',
            `no exchange${host ? ` with ${host}` : ''} within ${timeoutMs} ms (${this.counts.exchanges} captured in all)`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Counts a journaled exchange and wakes whoever waits for its host. */
  private landed(host: string): void {
    this.counts.exchanges += 1;
    const landed = { host, at: Date.now() };
    this.landedLog.push(landed);
    for (const waiter of this.waiters) {
      if (waiter.matches(landed)) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** Stops the proxy after every exchange it received was written to the journal. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.server.stop();
    // Bodies still streaming end here, cut off: an exchange waiting for one is recorded as it is.
    for (const taps of this.taps.values()) {
      taps.request.end(false);
      taps.response.end(false);
    }
    await Promise.all([...this.pending]);
    // Requests still without an answer are recorded too: what the phone sent is what matters.
    for (const [id, half] of this.halves) {
      if (half.request) {
        half.error ??= 'no answer before the capture stopped';
        this.complete(id);
      }
    }
    for (const id of [...this.initiated.keys()]) {
      this.pair(id).error ??= 'the request was not complete when the capture stopped';
      this.complete(id);
    }
    await Promise.all([...this.pending]);
  }

  private async installRules(): Promise<void> {
    const { otherwise } = this.options.answers;
    const hosts = { ...this.options.answers.hosts };
    if (this.options.serveCaAt) {
      hosts[this.options.serveCaAt] = {
        status: 200,
        headers: {
          'content-type': 'application/x-x509-ca-cert',
          'content-disposition': 'attachment; filename="phonehome-ca.crt"',
        },
        body: this.options.ca.certPem,
      };
    }
    // The route probe is answered on every route and policy: it proves the route, and must never
    // reach (or wait for) a real server.
    hosts[PROBE_HOST] = {
      status: 200,
      headers: { 'content-type': 'text/plain', 'cache-control': 'no-store' },
      body: PROBE_ANSWER,
    };
    for (const [hostname, answer] of Object.entries(hosts)) {
      const headers = { ...answer.headers };
      let body = answer.body ?? '';
      if (answer.json !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = JSON.stringify(answer.json);
      }
      // mockttp adds no framing of its own: without a length the answer ends only when the
      // connection closes, and a phone's keep-alive or pipelined requests would go unanswered.
      withLength(headers, body, answer.status);
      // .always(): without it mockttp answers with a rule only until it was hit once, then lets
      // the last matching rule win (mockttp 4's rule choice).
      await this.server
        .forAnyRequest()
        .forHostname(hostname)
        .always()
        .thenCallback(async (request) => {
          await this.journalRequest(request, true);
          return { statusCode: answer.status, headers, body };
        });
    }
    // WebSockets are opened for the phone (and passed on to the real server when traffic goes
    // through): what it sends over them is recorded message by message.
    if (otherwise === 'pass-through') {
      // A WebSocket to a destination the phone may not reach is refused before it is opened.
      await this.server
        .forAnyWebSocket()
        .always()
        .matching(async (request) => {
          const why = await this.refusalFor(request);
          if (why !== undefined)
            this.safely('blocked', () => this.recordBlockedSocket(request, why));
          return why !== undefined;
        })
        .thenRejectConnection(
          403,
          'Forbidden',
          { 'content-type': 'text/plain' },
          'phonehome: blocked destination\n',
        );
      await this.server.forAnyWebSocket().thenPassThrough();
    } else await this.server.forAnyWebSocket().thenPassivelyListen();
    if (otherwise === 'pass-through') {
      await this.server.forUnmatchedRequest().thenPassThrough({
        // The upload goes on to the server while it is recorded: the request is journaled with
        // its body as far as it came, and its exchange record has all of it.
        beforeRequest: async (request) => {
          await this.journalRequest(request, false);
          const why = await this.refusalFor(request);
          if (why === undefined) return undefined;
          const reason = blockedDestination(
            `${request.destination.hostname}:${request.destination.port}`,
            why,
          );
          this.blocked.set(request.id, reason);
          this.options.log?.(reason);
          return {
            response: {
              statusCode: 403,
              statusMessage: 'Forbidden',
              headers: withLength({ 'content-type': 'text/plain' }, `phonehome: ${reason}\n`, 403),
              body: `phonehome: ${reason}\n`,
            },
          };
        },
      });
    } else {
      await this.server.forUnmatchedRequest().thenCallback(async (request) => {
        await this.journalRequest(request, true);
        const body = 'phonehome: no answer configured for this host\n';
        return {
          statusCode: 404,
          headers: withLength({ 'content-type': 'text/plain' }, body, 404),
          body,
        };
      });
    }
  }

  private async subscribe(): Promise<void> {
    const server = this.server;
    await server.on('request-initiated', (request) =>
      this.safely('request-initiated', () => {
        this.initiated.set(request.id, request);
        this.lastActivity = Date.now();
        // A stream reset at once (HTTP/2 RST_STREAM) is announced aborted before it is announced
        // initiated: the abort is parked, and completes here.
        if (this.halves.get(request.id)?.error) this.complete(request.id);
      }),
    );
    // mockttp's handlers are async and may finish out of order (a response can be announced before
    // its request): each half is parked until the other arrives, then the pair is recorded.
    await server.on('request', (request) =>
      this.safely('request', () => {
        this.lastActivity = Date.now();
        this.pair(request.id).request = request;
        this.complete(request.id);
      }),
    );
    await server.on('response', (response) =>
      this.safely('response', () => {
        this.pair(response.id).response = response;
        this.complete(response.id);
      }),
    );
    await server.on('abort', (aborted) =>
      this.safely('abort', () => {
        this.pair(aborted.id).error =
          aborted.error?.message ?? 'the phone hung up before the answer';
        this.complete(aborted.id);
      }),
    );
    await this.subscribeWebSockets();
    await server.on('tls-client-error', (failure) =>
      this.safely('tls-client-error', () => {
        this.writeTlsFailure({
          at: failure.timingEvents.startTime ?? Date.now(),
          host: failure.tlsMetadata.sniHostname,
          cause: `tls-${failure.failureCause}`,
          remoteAddress: failure.remoteIpAddress,
          ...destinationOf(failure.destination),
        });
      }),
    );
    // A tunnelled connection (CONNECT, SOCKS) that does not speak HTTP or TLS — a push channel's
    // XMPP or MQTT, a vendor's own protocol — cannot be read offline: it is recorded as an
    // unreadable connection to its destination, which makes a verdict before consent
    // inconclusive. Garbage sent to the proxy itself (no destination) is not an app's traffic.
    await server.on('client-error', (error) =>
      this.safely('client-error', () => {
        const destination = error.request.destination;
        if (!destination && !this.options.recordUnaddressed) return;
        this.writeTlsFailure({
          at: error.request.timingEvents.startTime ?? Date.now(),
          ...(destination ? { host: destination.hostname, port: destination.port } : {}),
          ...destinationOf(destination),
          cause:
            error.errorCode === 'HPE_INVALID_METHOD'
              ? 'not-http'
              : `bad-http:${error.errorCode ?? 'unknown'}`,
          ...(error.request.remoteIpAddress
            ? { remoteAddress: error.request.remoteIpAddress }
            : {}),
        });
      }),
    );
    await server.on('raw-passthrough-opened', (event) =>
      this.safely('raw-passthrough-opened', () => {
        this.lastActivity = Date.now();
        this.rawStreams.set(event.id, {
          host: event.destination.hostname,
          port: event.destination.port,
          startTime: event.timingEvents.startTime,
          startTimestamp: event.timingEvents.connectTimestamp,
          chunks: 0,
        });
      }),
    );
    await server.on('raw-passthrough-data', (event) =>
      this.safely('raw-passthrough-data', () => {
        this.lastActivity = Date.now();
        const stream = this.rawStreams.get(event.id);
        if (!stream) return;
        stream.chunks += 1;
        const exchange = tcpChunkExchange({
          stream: event.id,
          index: stream.chunks,
          host: stream.host,
          port: stream.port,
          // mockttp's "received" is what it received: from the phone.
          direction: event.direction === 'received' ? 'sent' : 'received',
          at: Math.round(stream.startTime + (event.eventTimestamp - stream.startTimestamp)),
          bytes: Buffer.from(event.content.buffer, event.content.byteOffset, event.content.length),
        });
        this.options.journal.append({ type: 'exchange', exchange });
        this.landed(exchange.host);
      }),
    );
    await server.on('raw-passthrough-closed', (event) =>
      this.safely('raw-passthrough-closed', () => this.rawStreams.delete(event.id)),
    );
    await server.on('tls-passthrough-opened', (event) =>
      this.safely('tls-passthrough-opened', () => {
        this.writeTlsFailure({
          at: event.timingEvents.startTime ?? Date.now(),
          host: event.tlsMetadata.sniHostname ?? event.destination.hostname,
          cause: 'tls-passthrough',
          remoteAddress: event.remoteIpAddress,
          ...destinationOf(event.destination),
        });
      }),
    );
  }

  /**
   * A WebSocket's opening request is journaled as it comes (a request record), its handshake as
   * an exchange once accepted, and every message either way as an exchange of its own, at the
   * time it passed: a message before consent is judged as any request before consent. mockttp
   * may announce the acceptance, and even messages, before the request: they wait for it.
   */
  private async subscribeWebSockets(): Promise<void> {
    const server = this.server;
    const socket = (id: string): Socket => {
      let known = this.sockets.get(id);
      if (!known) {
        known = { messages: 0, early: [] };
        this.sockets.set(id, known);
      }
      return known;
    };
    await server.on('websocket-request', (request) =>
      this.safely('websocket-request', () => {
        this.lastActivity = Date.now();
        const known = socket(request.id);
        known.head = requestPart(request);
        this.options.journal.append({ type: 'request', id: request.id, exchange: known.head });
        this.openSocket(known);
      }),
    );
    await server.on('websocket-accepted', (response) =>
      this.safely('websocket-accepted', () => {
        const known = socket(response.id);
        known.accepted = response;
        this.openSocket(known);
      }),
    );
    const message = (event: WebSocketMessage) =>
      this.safely('websocket-message', () => {
        this.lastActivity = Date.now();
        const known = socket(event.streamId);
        if (known.head) this.journalMessage(known, event);
        else known.early.push(event);
      });
    await server.on('websocket-message-received', message);
    await server.on('websocket-message-sent', message);
    await server.on('websocket-close', (close) =>
      this.safely('websocket-close', () => {
        this.lastActivity = Date.now();
        this.sockets.delete(close.streamId);
      }),
    );
  }

  /** Journals a socket's handshake once both halves are known, then the messages that waited. */
  private openSocket(known: Socket): void {
    if (!known.head) return;
    if (known.accepted && !known.journaled) {
      known.journaled = true;
      const headers = pairs(known.accepted.rawHeaders);
      const exchange: Exchange = {
        ...known.head,
        completedAt: Date.now(),
        response: {
          status: known.accepted.statusCode,
          statusMessage: known.accepted.statusMessage,
          headers,
          body: { encoding: 'utf8', data: '' },
        },
      };
      this.options.journal.append({ type: 'exchange', exchange });
      this.landed(exchange.host);
    }
    for (const event of known.early.splice(0)) this.journalMessage(known, event);
  }

  private journalMessage(known: Socket, event: WebSocketMessage): void {
    const head = known.head as Exchange;
    known.messages += 1;
    const { startTime, startTimestamp } = event.timingEvents;
    const at =
      startTimestamp !== undefined
        ? Math.round(startTime + (event.eventTimestamp - startTimestamp))
        : Date.now();
    const bytes = Buffer.from(event.content.buffer, event.content.byteOffset, event.content.length);
    const exchange: Exchange = {
      id: `${head.id}-m${known.messages}`,
      startedAt: at,
      completedAt: at,
      protocol: head.protocol,
      host: head.host,
      request: {
        method: 'WEBSOCKET',
        url: head.request.url,
        httpVersion: head.request.httpVersion,
        headers: [],
        body: event.isBinary
          ? { encoding: 'base64', data: bytes.toString('base64') }
          : bodyFromBytes(bytes, []),
      },
      websocket: {
        stream: head.id,
        // mockttp's "received" is what it received: from the phone.
        direction: event.direction === 'received' ? 'sent' : 'received',
        binary: event.isBinary,
      },
    };
    this.options.journal.append({ type: 'exchange', exchange });
    this.landed(exchange.host);
  }

  /**
   * Why the phone may not reach where a request goes (its tunnel's destination or its URL's
   * host; both when they differ), or undefined when it may or the capture is offline.
   */
  private async refusalFor(request: {
    url: string;
    destination?: { hostname: string; port: number };
  }): Promise<string | undefined> {
    if (!this.policy) return undefined;
    const hosts = new Set<string>();
    if (request.destination) hosts.add(request.destination.hostname);
    try {
      hosts.add(new URL(request.url).hostname);
    } catch {
      // A URL that does not parse names no host beyond its destination.
    }
    for (const host of hosts) {
      const why = await this.policy.refusal(host);
      if (why !== undefined) return why;
    }
    return undefined;
  }

  /**
   * A tunnel (CONNECT or SOCKS) to a destination the phone may not reach, refused before it was
   * opened: journaled as an exchange to that destination, answered 403, with the reason.
   */
  recordBlockedTunnel(
    target: string,
    why: string,
    connect?: ConnectRequest,
    remoteAddress?: string,
  ): void {
    this.rejected += 1;
    const at = Date.now();
    const reason = blockedDestination(target, why);
    const raw = connect?.rawHeaders ?? [];
    const headers: HeaderPair[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
    const host = hostOfTarget(target);
    const port = Number(/:(\d+)$/.exec(target)?.[1] ?? 0);
    this.options.journal.append({
      type: 'exchange',
      exchange: {
        id: `blocked-${this.rejected}`,
        startedAt: at,
        completedAt: at,
        protocol: 'http',
        host,
        ...destinationOf({ hostname: host, port }),
        request: {
          method: connect ? 'CONNECT' : 'SOCKS',
          url: target,
          httpVersion: connect?.httpVersion ?? '',
          headers,
          body: { encoding: 'utf8', data: '' },
        },
        response: {
          status: 403,
          statusMessage: 'Forbidden',
          headers: [],
          body: { encoding: 'utf8', data: '' },
        },
        error: reason,
      },
    });
    this.landed(host);
    this.options.log?.(`${reason}${remoteAddress ? ` (from ${remoteAddress})` : ''}`);
  }

  /** A WebSocket refused for its destination: its opening request, answered 403, with the reason. */
  private recordBlockedSocket(request: CompletedRequest, why: string): void {
    const { hostname, port } = request.destination;
    const exchange: Exchange = {
      ...requestPart(request),
      id: `blocked-${request.id}`,
      completedAt: Date.now(),
      response: {
        status: 403,
        statusMessage: 'Forbidden',
        headers: [],
        body: { encoding: 'utf8', data: '' },
      },
      error: blockedDestination(`${hostname}:${port}`, why),
    };
    this.options.journal.append({ type: 'exchange', exchange });
    this.landed(exchange.host);
    this.options.log?.(exchange.error!);
  }

  /** A request the proxy refused to handle (a malformed URL): what the phone sent is recorded. */
  private recordRejected(rejected: Rejected) {
    this.rejected += 1;
    this.options.journal.append({
      type: 'exchange',
      exchange: {
        id: `rejected-${this.rejected}`,
        startedAt: rejected.at,
        completedAt: rejected.at,
        protocol: 'http',
        host: '',
        request: {
          method: rejected.method,
          url: rejected.url,
          httpVersion: '1.1',
          headers: rejected.headers,
          body: { encoding: 'utf8', data: '' },
        },
        response: {
          status: 400,
          statusMessage: 'Bad Request',
          headers: [],
          body: { encoding: 'utf8', data: '' },
        },
        error: rejected.cause,
      },
    });
    this.landed('');
    this.options.log?.(`rejected a request: ${rejected.cause}`);
  }

  private writeTlsFailure(failure: TlsFailure): void {
    this.options.journal.append({ type: 'tls-failure', failure });
    this.counts.tlsFailures += 1;
    this.lastActivity = Date.now();
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  private pair(id: string): Half {
    let half = this.halves.get(id);
    if (!half) {
      half = {};
      this.halves.set(id, half);
    }
    return half;
  }

  /**
   * A request's stream closed. Its answer (or abort) is normally announced right after; if
   * nothing was within CLOSE_GRACE_MS, nothing will be, and the request is recorded as it stands.
   */
  private closed(id: string): void {
    setTimeout(() => {
      this.safely('close', () => {
        if (this.stopped || (!this.initiated.has(id) && !this.halves.has(id))) return;
        const half = this.pair(id);
        if (half.response || half.error) return;
        half.error = 'the stream closed before an answer was recorded (reset by the phone?)';
        this.complete(id);
      });
    }, CLOSE_GRACE_MS).unref();
  }

  private complete(id: string): void {
    const half = this.halves.get(id);
    const head = this.initiated.get(id);
    if (half && !half.request && half.error && head) {
      // The phone hung up (or the capture stopped) before its body was complete: mockttp never
      // completes such a request, but its URL and headers were sent, and are kept.
      this.halves.delete(id);
      this.initiated.delete(id);
      this.untap(id);
      const exchange = { ...incompletePart(head), completedAt: Date.now(), error: half.error };
      this.options.journal.append({ type: 'exchange', exchange });
      this.landed(exchange.host);
      return;
    }
    if (!half?.request || (!half.response && !half.error)) return;
    this.halves.delete(id);
    this.initiated.delete(id);
    this.track(this.record(half.request, half.response, half.error));
  }

  /** Starts recording the bodies of a request mockttp began to handle (guard.ts calls this). */
  tap(id: string, request: IncomingMessage, response: ServerResponse): void {
    const limit = this.options.inlineBodyLimit ?? INLINE_BODY_LIMIT;
    const taps = {
      request: new BodySink(this.options.bodies, `${id}-request`, limit),
      response: new BodySink(this.options.bodies, `${id}-response`, limit),
    };
    this.taps.set(id, taps);
    tapExchange(request, response, taps.request, taps.response);
  }

  private untap(id: string): void {
    const taps = this.taps.get(id);
    if (!taps) return;
    this.taps.delete(id);
    taps.request.end(false);
    taps.response.end(false);
  }

  /**
   * Journals a request before its answer goes back to the phone (the rules call this): a capture
   * killed after it keeps the request, whatever becomes of the response. With `whole`, it first
   * waits for the whole body (a canned answer); without, the body is journaled as far as it came
   * (a pass-through upload, which flows on to the server meanwhile).
   */
  private async journalRequest(request: CompletedRequest, whole: boolean): Promise<void> {
    const sink = this.taps.get(request.id)?.request;
    if (whole && sink) await sink.finished();
    this.safely('request record', () => {
      const headers = pairs(request.rawHeaders);
      const exchange = headPart(request, () => requestBodyNow(request, headers, sink));
      this.requested.set(request.id, exchange);
      this.options.journal.append({ type: 'request', id: request.id, exchange });
    });
  }

  private async record(
    request: CompletedRequest,
    response?: CompletedResponse,
    error?: string,
  ): Promise<void> {
    try {
      // Past the inline limit mockttp announces a message before its body has finished
      // streaming: the exchange is recorded once both bodies ended.
      const taps = this.taps.get(request.id);
      const [requestBody, responseBody] = taps
        ? await Promise.all([taps.request.finished(), taps.response.finished()])
        : [undefined, undefined];
      this.taps.delete(request.id);
      const requestHeaders = pairs(request.rawHeaders);
      const exchange: Exchange = {
        ...(this.requested.get(request.id) ?? requestPart(request)),
        completedAt: Date.now(),
      };
      this.requested.delete(request.id);
      exchange.request = {
        ...exchange.request,
        body: requestBody
          ? tappedBody(requestBody, requestHeaders)
          : untappedBody(request.body.buffer, requestHeaders),
      };
      if (response) {
        const headers = pairs(response.rawHeaders);
        exchange.response = {
          status: response.statusCode,
          statusMessage: response.statusMessage,
          headers,
          body: responseBody
            ? tappedBody(responseBody, headers)
            : untappedBody(response.body.buffer, headers),
        };
      }
      if (error) exchange.error = error;
      const blocked = this.blocked.get(request.id);
      if (blocked) {
        this.blocked.delete(request.id);
        exchange.error = blocked;
      }
      this.options.journal.append({ type: 'exchange', exchange });
      this.landed(exchange.host);
    } finally {
      this.lastActivity = Date.now();
    }
  }

  safely(event: string, handler: () => void): void {
    try {
      handler();
    } catch (error) {
      // One bad event must not take the capture down; it is told and the proxy goes on.
      this.options.log?.(`proxy ${event} handler failed: ${describeError(error)}`);
    }
  }
}

/**
 * Sets a canned answer's Content-Length (unless its headers frame it already) and returns them.
 * A status without a body (1xx, 204, 304) gets none.
 */
function withLength(
  headers: Record<string, string>,
  body: string,
  status: number,
): Record<string, string> {
  const named = Object.keys(headers).map((name) => name.toLowerCase());
  const bodiless = status < 200 || status === 204 || status === 304;
  if (!bodiless && !named.includes('content-length') && !named.includes('transfer-encoding'))
    headers['content-length'] = String(Buffer.byteLength(body));
  return headers;
}

/** The request half of an exchange, as the phone sent it. */
function requestPart(request: CompletedRequest): Exchange {
  return headPart(request, (headers) => untappedBody(request.body.buffer, headers));
}

/** A request's body as far as it has come: whole, or the file it is still streaming into. */
function requestBodyNow(
  request: CompletedRequest,
  headers: HeaderPair[],
  sink: BodySink | undefined,
): Body {
  if (!sink) return untappedBody(request.body.buffer, headers);
  const ended = sink.outcome;
  if (ended) return tappedBody(ended, headers);
  const sofar = sink.sofar();
  if (sofar) return { encoding: 'file', ...sofar, complete: false };
  return {
    encoding: 'utf8',
    data: '',
    unscanned: sink.trouble ?? 'the body could not be recorded',
  };
}

/** A body recorded by its tap: in the journal line when small, its file when large. */
function tappedBody(tapped: TappedBody, headers: HeaderPair[]): Body {
  const cut = tapped.complete
    ? undefined
    : `the body was cut off after ${'file' in tapped ? tapped.size : tapped.bytes.length} bytes; what came was kept, the rest never arrived`;
  const unscanned = [tapped.problem, cut].filter(Boolean).join('; ') || undefined;
  if ('file' in tapped) {
    return {
      encoding: 'file',
      file: tapped.file,
      size: tapped.size,
      complete: tapped.complete,
      ...(unscanned ? { unscanned } : {}),
    };
  }
  const body = bodyFromBytes(tapped.bytes, headers);
  if (unscanned) body.unscanned = body.unscanned ? `${body.unscanned}; ${unscanned}` : unscanned;
  return body;
}

/**
 * A body known only from mockttp's copy (no tap: never so for HTTP, kept as a safety net). An
 * empty copy of a body that declared a length is one mockttp dropped past the limit.
 */
function untappedBody(raw: Buffer, headers: HeaderPair[]): Body {
  const declared = Number(headerValue(headers, 'content-length') ?? 0);
  if (raw.length === 0 && declared > 0)
    return {
      encoding: 'utf8',
      data: '',
      unscanned: `a body of ${declared} bytes was not recorded (no body tap)`,
    };
  return bodyFromBytes(raw, headers);
}

/** A request whose body never arrived whole: what came of it is not kept, so it is unscanned. */
function incompletePart(request: InitiatedRequest): Exchange {
  return headPart(request, () => ({
    encoding: 'utf8',
    data: '',
    unscanned: 'the body was cut off before it was complete; what arrived of it was not kept',
  }));
}

function headPart(request: InitiatedRequest, body: (headers: HeaderPair[]) => Body): Exchange {
  const headers = pairs(request.rawHeaders);
  return {
    id: request.id,
    startedAt: request.timingEvents.startTime,
    completedAt: request.timingEvents.startTime,
    protocol: request.protocol === 'https' ? 'https' : 'http',
    host: hostOf(request),
    ...destinationOf(request.destination),
    request: {
      method: request.method,
      url: request.url,
      httpVersion: request.httpVersion,
      headers,
      body: body(headers),
    },
  };
}

function pairs(raw: [string, string][]): HeaderPair[] {
  return raw.map(([name, value]) => [name, value]);
}

/** The tunnel's destination, when it named an IP address (SOCKS5 from a VPN app does). */
function destinationOf(destination: { hostname: string; port: number } | undefined): {
  destination?: { address: string; port: number };
} {
  if (!destination || !isIP(destination.hostname)) return {};
  return {
    destination: { address: canonicalAddress(destination.hostname), port: destination.port },
  };
}

function hostOf(request: InitiatedRequest): string {
  try {
    return new URL(request.url).hostname;
  } catch {
    return request.destination?.hostname ?? '';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Undoes content-encoding within the decoding budget; keeps text as UTF-8 and anything else as
 * base64. A body that decodes past the budget keeps its raw bytes and says it was not scanned.
 */
export function bodyFromBytes(raw: Buffer, headers: HeaderPair[]): InlineBody {
  const decoded = decodeContent(raw, headerValue(headers, 'content-encoding'));
  if ('error' in decoded) {
    return {
      encoding: 'base64',
      data: raw.toString('base64'),
      decodeError: decoded.error,
      ...(decoded.unscanned ? { unscanned: decoded.unscanned } : {}),
    };
  }
  const bytes = decoded.bytes;
  if (bytes.length === 0) return { encoding: 'utf8', data: '' };
  try {
    const text = utf8.decode(bytes);
    // Control characters other than whitespace mean binary that happens to be valid UTF-8.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    if (!/[\u0000-\u0008\u000e-\u001f]/.test(text)) return { encoding: 'utf8', data: text };
  } catch {
    // Not UTF-8: kept as base64 below.
  }
  return { encoding: 'base64', data: bytes.toString('base64') };
}

/** Undoes a Content-Encoding list ("gzip", "br", "deflate, gzip"), last applied first. */
function decodeContent(
  raw: Buffer,
  header: string | undefined,
): { bytes: Buffer } | { error: string; unscanned?: string } {
  let bytes: Uint8Array = raw;
  for (const [coding, compression] of contentCodings(header)) {
    if (!compression) return { error: `unknown content-encoding '${coding}'` };
    const decoded = decode(bytes, compression);
    if ('overBudget' in decoded) {
      const unscanned = `${coding} body decoding past ${MAX_DECODED} bytes (a decompression bomb?): the rest was not scanned`;
      return { error: unscanned, unscanned };
    }
    if ('invalid' in decoded)
      return { error: `the ${coding} content-encoding could not be undone` };
    bytes = decoded.bytes;
  }
  return { bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

function headerValue(headers: HeaderPair[], name: string): string | undefined {
  return headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

/** Connections with no traffic for this long are closed (see BindOptions.idleTimeoutMs). */
const IDLE_TIMEOUT_MS = 120_000;

/** How long after a request's stream closed its answer may still be announced by mockttp. */
const CLOSE_GRACE_MS = 2000;

/** Node's own default for a request head (see BindOptions.headersTimeoutMs). */
const HEADERS_TIMEOUT_MS = 60_000;

/**
 * The address to listen on, resolved: the loopback check is made on what the socket will bind,
 * never on the name ("127.example.com" is no loopback address).
 */
async function resolveListenAddress(host: string): Promise<string> {
  if (isIP(host)) return host;
  try {
    return (await lookup(host)).address;
  } catch (error) {
    throw new PhonehomeError(
      'USAGE_HOST',
      `--host ${host} does not resolve to an address of this computer: ${describeError(error)}; give an IP address`,
      { cause: error },
    );
  }
}

function isLoopback(address: string): boolean {
  if (isIPv4(address)) return address.startsWith('127.');
  return address === '::1' || /^::ffff:127\./.test(address);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One chunk of a TCP stream that is neither HTTP nor TLS, as an exchange of its own at the moment
 * it passed (`Exchange.tcp`): what a push channel's XMPP, MQTT or a vendor's own protocol sent,
 * scanned like any body and judged by its own time.
 *
 * @example
 *   tcpChunkExchange({ stream: 'gw-3', index: 1, host: 'push.vendor.example', port: 5222, direction: 'sent', at, bytes })
 */
export function tcpChunkExchange(chunk: {
  stream: string;
  index: number;
  host: string;
  port: number;
  direction: 'sent' | 'received';
  at: number;
  bytes: Buffer;
}): Exchange {
  return {
    id: `${chunk.stream}-c${chunk.index}`,
    startedAt: chunk.at,
    completedAt: chunk.at,
    protocol: 'tcp',
    host: chunk.host,
    request: {
      method: 'TCP',
      url: `tcp://${chunk.host}:${chunk.port}`,
      httpVersion: '',
      headers: [],
      body: bodyFromBytes(chunk.bytes, []),
    },
    tcp: { stream: chunk.stream, direction: chunk.direction },
    ...destinationOf({ hostname: chunk.host, port: chunk.port }),
  };
}
