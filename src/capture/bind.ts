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
   * else) that opens sockets and sends nothing must not hold them forever (slowloris). Slow
   * headers are cut by Node's own HTTP header time-out (60 s).
   */
  idleTimeoutMs: number;
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
      if (value) restrict(value, options);
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
