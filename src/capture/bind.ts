import { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Mockttp } from 'mockttp';

export interface BindOptions {
  /** The address to listen on: loopback unless the user chose a LAN address for a Wi-Fi phone. */
  host: string;
  /** When set, connections from any other address are closed at once. */
  allowedClients?: string[];
  /** Told about each refused connection (for the run's log). */
  onRefused?: (remoteAddress: string) => void;
  /**
   * A connection with no traffic either way for this long is closed: a phone (or anything
   * else) that opens sockets and sends nothing must not hold them forever.
   */
  idleTimeoutMs: number;
  /**
   * A request whose head (request line and headers) is not complete this long after its first
   * byte is answered (400, as mockttp answers every client error) and closed: a client that dribbles a header byte every few seconds
   * (slowloris) is never idle, so only this cuts it.
   */
  headersTimeoutMs: number;
  /** Given mockttp's listening server as soon as mockttp creates it, before it listens. */
  onServer?: (server: Server) => void;
}

/**
 * Makes a mockttp server listen on one address only.
 *
 * mockttp 4's `start()` listens on every interface and has no host option, which would make the
 * proxy an open relay for the whole network. mockttp keeps its listening server in the `server`
 * field and calls `server.listen(port)` right after creating it; an accessor on this one instance
 * adds the host to that call (and a client filter), before any socket can be accepted. Nothing
 * global is patched. test/capture/bind.test.ts fails if a mockttp upgrade changes this.
 *
 * Call before `start()`.
 */
export function bindMockttp(server: Mockttp, options: BindOptions): void {
  const target = server as unknown as { server?: Server };
  let inner: Server | undefined;
  Object.defineProperty(target, 'server', {
    configurable: true,
    enumerable: true,
    get: () => inner,
    set: (value: Server | undefined) => {
      inner = value;
      if (value) {
        enforceHeadersTimeout(value, options.headersTimeoutMs);
        restrict(value, options);
        options.onServer?.(value);
      }
    },
  });
}

function restrict(server: Server, options: BindOptions): void {
  const listen = server.listen.bind(server) as (...args: unknown[]) => Server;
  server.listen = ((...args: unknown[]) => {
    const [port, ...rest] = args;
    if (typeof port === 'number') {
      const callback = rest.find((arg) => typeof arg === 'function');
      return callback ? listen(port, options.host, callback) : listen(port, options.host);
    }
    return listen(...args);
  }) as Server['listen'];
  server.prependListener('connection', (socket: Socket) => {
    socket.setTimeout(options.idleTimeoutMs, () => socket.destroy());
  });
  const allowed = options.allowedClients;
  if (allowed && allowed.length > 0) {
    const normalised = new Set(allowed.map(normaliseAddress));
    server.prependListener('connection', (socket: Socket) => {
      const remote = normaliseAddress(socket.remoteAddress ?? '');
      if (!normalised.has(remote)) {
        options.onRefused?.(remote);
        socket.destroy();
      }
    });
  }
}

/**
 * Node's HTTP server enforces `headersTimeout` by checking its connections every
 * `connectionsCheckingInterval`, a check it sets up when it emits 'listening'. mockttp's HTTP/1
 * server never listens — the protocol-sniffing server in front of it hands it every connection,
 * TLS and tunnelled ones included — so without this no header time-out ever applied (300
 * slowloris sockets held for 75 s were never closed). Called as soon as mockttp creates the
 * server, before it listens, so no 'listening' handler but Node's own is there yet.
 */
function enforceHeadersTimeout(server: Server, ms: number): void {
  const http1 = (server as unknown as { _httpServer?: unknown })._httpServer;
  if (!(http1 instanceof HttpServer)) {
    throw new Error(
      "mockttp's HTTP/1 server is not where bind.ts expects it: its internals changed",
    );
  }
  http1.headersTimeout = ms;
  // A body takes as long as it takes (a phone uploading 2 GB over Wi-Fi); a stalled one is idle.
  http1.requestTimeout = 0;
  // Read by Node when it sets the check up (a constructor option, not in @types/node as a field).
  (http1 as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = Math.min(
    30_000,
    Math.max(100, Math.floor(ms / 4)),
  );
  http1.emit('listening');
}

/** "::ffff:10.0.0.5" and "10.0.0.5" are the same client. */
function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** The address a started mockttp server actually listens on. */
export function listeningAddress(server: Mockttp): AddressInfo | undefined {
  const inner = (server as unknown as { server?: Server }).server;
  const address = inner?.address();
  return address && typeof address === 'object' ? address : undefined;
}
