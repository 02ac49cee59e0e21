import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse } from 'node:url';
import type { EventEmitter } from 'node:events';
import type { Mockttp } from 'mockttp';
import { describeError } from '../errors.ts';

/** A request the guard refused: what the phone sent, and why it was refused. */
export interface Rejected {
  method: string;
  url: string;
  /** Header lines as received. */
  headers: [string, string][];
  cause: string;
  at: number;
}

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Keeps one bad request from taking the proxy down (mitmproxy's `safecall`). mockttp hands every
 * HTTP request to its `app` (a connect app), which parses the URL synchronously: a 40-byte
 * request line such as `GET http://[::1/ HTTP/1.1` throws from inside Node's HTTP parser and ends
 * the process. mockttp keeps the app in the `app` field and passes it to its server in `start()`,
 * so wrapping it on this one instance (before `start`) answers such a request with a 400, tells
 * `onRejected`, and goes on. test/capture/guard.test.ts fails if a mockttp upgrade changes this.
 *
 * `hooks.started` is handed each request mockttp began to handle, with its id, before any of its
 * body was read (capture/bodies.ts records the bodies from there). `hooks.closed` hears of each
 * request whose stream closed (answered, hung up or reset): mockttp announces neither an answer
 * nor an abort for an HTTP/2 stream the phone reset after sending its request, so without it
 * such a request would stay "in flight" until the capture stops.
 */
export function guardRequests(
  server: Mockttp,
  onRejected: (what: Rejected) => void,
  hooks: {
    started?: (requestId: string, request: IncomingMessage, response: ServerResponse) => void;
    closed?: (requestId: string) => void;
  } = {},
): void {
  const target = server as unknown as { app?: RequestListener };
  const app = target.app;
  if (typeof app !== 'function') {
    throw new Error('mockttp has no request app to guard: its internals changed (see guard.ts)');
  }
  target.app = (request, response) => {
    const at = Date.now();
    const reject = (cause: string) => {
      const raw = request.rawHeaders;
      const headers: [string, string][] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
      onRejected({ url: request.url ?? '', method: request.method ?? '', headers, cause, at });
      try {
        response.writeHead(400, { 'content-type': 'text/plain', connection: 'close' });
        response.end('phonehome: malformed request\n');
      } catch {
        // The socket may be gone already; there is nothing left to answer.
        request.socket.destroy();
      }
    };
    try {
      // The WHATWG parser first (it refuses without the legacy parser's deprecation warning),
      // then the legacy one connect uses: what either throws on is refused here.
      new URL(request.url ?? '', 'http://phonehome.invalid');
      parse(request.url ?? '');
    } catch (error) {
      reject(`malformed request URL: ${describeError(error)}`);
      return;
    }
    try {
      app(request, response);
      // mockttp gave the request its id as it began handling it (synchronously).
      const id = (request as { id?: unknown }).id;
      if (typeof id === 'string') {
        hooks.started?.(id, request, response);
        const closed = hooks.closed;
        if (closed) response.once('close', () => closed(id));
      }
    } catch (error) {
      reject(`the proxy could not handle the request: ${describeError(error)}`);
    }
  };
}

type ConnectListener = (request: ConnectRequest, socket: unknown, ...rest: unknown[]) => void;

/**
 * Keeps one bad CONNECT from taking the proxy down. mockttp 4 reads tags from a CONNECT's
 * `Proxy-Authorization: Basic <base64 "metadata:…">` header, outside its try: a header of just
 * `Basic` (no credentials) throws `ERR_INVALID_ARG_TYPE` from a socket callback and ends the
 * process. phonehome uses no such tags, so that header value is dropped before mockttp reads it,
 * and whatever else a CONNECT handler throws synchronously closes that one connection.
 *
 * `server` is mockttp's listening server, which forwards `connect` listeners to its HTTP/1 and
 * HTTP/2 servers; call before it accepts a connection (bind.ts does, from mockttp's own
 * assignment). test/capture/malformed.test.ts fails if a mockttp upgrade changes this.
 */
export function guardConnects(
  server: EventEmitter,
  onError: (error: unknown) => void,
  refusal?: (target: string) => Promise<string | undefined>,
  onRefused?: (target: string, request: ConnectRequest, why: string) => void,
): void {
  const handlers = server.listeners('connect') as ConnectListener[];
  if (handlers.length === 0) {
    throw new Error(
      'mockttp has no CONNECT handler to guard: its internals changed (see guard.ts)',
    );
  }
  server.removeAllListeners('connect');
  server.on('connect', (request: ConnectRequest, socket: unknown, ...rest: unknown[]) => {
    const auth = request.headers['proxy-authorization'];
    if (typeof auth === 'string' && auth.split(' ', 2)[1] === undefined) {
      delete request.headers['proxy-authorization'];
    }
    // An HTTP/1 CONNECT hands its socket, an HTTP/2 one a response with its stream.
    const open = socket as ConnectSocket;
    const pass = () => {
      try {
        for (const handler of handlers) handler.call(server, request, socket, ...rest);
      } catch (error) {
        onError(error);
        if (open.destroy) open.destroy();
        else open.stream?.destroy();
      }
    };
    const target =
      request.url || String(request.headers[':authority'] ?? request.headers.host ?? '');
    if (!refusal || !target) {
      pass();
      return;
    }
    // Node leaves a CONNECT's socket unread until a handler reads it: nothing the phone sends
    // meanwhile is lost while the destination is looked up.
    refusal(hostOfTarget(target)).then(
      (why) => {
        if (why === undefined) {
          pass();
          return;
        }
        onRefused?.(target, request, why);
        refuseConnect(open, request.httpVersion ?? '1.1', why);
      },
      (error: unknown) => {
        onError(error);
        if (open.destroy) open.destroy();
        else open.stream?.destroy();
      },
    );
  });
}

/** What guardConnects reads of a CONNECT request (HTTP/1 or HTTP/2). */
export interface ConnectRequest {
  url?: string;
  httpVersion?: string;
  headers: Record<string, unknown>;
  rawHeaders?: string[];
}

interface ConnectSocket {
  destroy?: () => void;
  end?: (data: string) => void;
  writeHead?: (status: number, headers: Record<string, string>) => void;
  stream?: { destroy: () => void; end: (data?: string) => void };
}

/** Answers a refused CONNECT 403 with the reason, and closes it: no tunnel is opened. */
function refuseConnect(open: ConnectSocket, httpVersion: string, why: string): void {
  const body = `phonehome: ${why}\n`;
  try {
    if (open.writeHead && open.stream) {
      open.writeHead(403, { 'content-type': 'text/plain' });
      open.stream.end(body);
    } else {
      open.end?.(
        `HTTP/${httpVersion} 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
  } catch {
    if (open.destroy) open.destroy();
    else open.stream?.destroy();
  }
}

/** The host of a CONNECT target or a tunnel address: "[::1]:443" → "::1", "a.b:443" → "a.b". */
export function hostOfTarget(target: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(target);
  if (bracketed) return bracketed[1]!;
  const colons = target.split(':').length - 1;
  // A bare IPv6 address has several colons and no port.
  if (colons > 1) return target;
  return target.replace(/:\d*$/, '');
}

/**
 * Refuses a SOCKS tunnel to a destination `refusal` names. mockttp's SOCKS server answers
 * "granted" before it names the destination (as 'socks-tcp-connect' on the SOCKS server
 * httpolyglot keeps in `_socksHandler`), so a refused tunnel is closed before a byte of it is
 * read or passed on. test/capture/destinations.test.ts fails if a mockttp upgrade changes this.
 */
export function guardSocks(
  server: EventEmitter,
  refusal: (target: string) => Promise<string | undefined>,
  onRefused: (target: string, why: string, socket: { remoteAddress?: string }) => void,
  onError: (error: unknown) => void,
): void {
  const socks = (server as unknown as { _socksHandler?: EventEmitter })._socksHandler;
  if (!socks) {
    throw new Error('mockttp has no SOCKS server to guard: its internals changed (see guard.ts)');
  }
  const handlers = socks.listeners('socks-tcp-connect') as ((...args: unknown[]) => void)[];
  if (handlers.length === 0) {
    throw new Error('mockttp has no SOCKS handler to guard: its internals changed (see guard.ts)');
  }
  socks.removeAllListeners('socks-tcp-connect');
  socks.on(
    'socks-tcp-connect',
    (
      socket: { destroy: () => void; pause?: () => void; remoteAddress?: string },
      address: { type: string; ip?: string; hostname?: string; port: number },
    ) => {
      const host = address.ip ?? address.hostname ?? '';
      const target =
        address.type === 'ipv6' ? `[${host}]:${address.port}` : `${host}:${address.port}`;
      refusal(host).then(
        (why) => {
          if (why === undefined) {
            for (const handler of handlers) handler.call(socks, socket, address);
            return;
          }
          onRefused(target, why, socket);
          socket.destroy();
        },
        (error: unknown) => {
          onError(error);
          socket.destroy();
        },
      );
    },
  );
}

type UpgradeHandler = (request: IncomingMessage, socket: EventEmitter, head: Buffer) => unknown;

/**
 * Keeps one bad WebSocket frame from taking the proxy down. mockttp's passive-listen WebSocket
 * handler attaches no `error` listener to the sockets it accepts, so a frame with reserved bits
 * set (random bytes after a handshake) throws from ws's parser as an uncaught error and ends the
 * process. mockttp announces each accepted socket as `ws-upgrade` on the raw socket; wrapping
 * its `handleWebSocket` on this one instance (before `start`, which binds it) gives every such
 * socket an error listener that tells `onError` and closes that socket alone.
 * test/capture/malformed.test.ts fails if a mockttp upgrade changes this.
 */
export function guardWebSockets(server: Mockttp, onError: (error: unknown) => void): void {
  const target = server as unknown as { handleWebSocket?: UpgradeHandler };
  const handle = target.handleWebSocket;
  if (typeof handle !== 'function') {
    throw new Error(
      'mockttp has no WebSocket handler to guard: its internals changed (see guard.ts)',
    );
  }
  target.handleWebSocket = function (this: unknown, request, socket, head) {
    socket.once('ws-upgrade', (ws: EventEmitter & { terminate?: () => void }) => {
      ws.on('error', (error: unknown) => {
        onError(error);
        ws.terminate?.();
      });
    });
    return handle.call(this, request, socket, head);
  };
}
