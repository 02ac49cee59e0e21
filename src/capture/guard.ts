import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse } from 'node:url';
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
 */
export function guardRequests(server: Mockttp, onRejected: (what: Rejected) => void): void {
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
    } catch (error) {
      reject(`the proxy could not handle the request: ${describeError(error)}`);
    }
  };
}
