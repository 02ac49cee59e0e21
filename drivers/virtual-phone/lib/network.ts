import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import net, { type LookupFunction } from 'node:net';
import WebSocket from 'ws';
import tls from 'node:tls';
import { gzipSync } from 'node:zlib';

/** One request the phone sends, fully rendered. */
export interface OutgoingRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** Text, or raw bytes (an encrypted body sent as such). */
  body?: string | Uint8Array;
  /** Compress the body with gzip and say so in content-encoding, as many SDKs do. */
  gzip?: boolean;
  /** Through the system proxy (the default), around it, as a WebSocket message, raw TCP, a UDP datagram or a DNS lookup (see RequestRule.transport). */
  transport?: 'proxy' | 'direct' | 'websocket' | 'tcp' | 'udp' | 'dns';
}

export interface NetworkRoute {
  /** The proxy every request goes through, e.g. http://127.0.0.1:8123 (the phone's system proxy). */
  proxyUrl: string;
  /** The CA certificates the phone trusts for HTTPS, in PEM. */
  trustedCa: string;
  timeoutMs: number;
}

export interface IncomingResponse {
  status: number;
  body: string;
}

/**
 * The virtual phone's network stack: plain HTTP goes to the proxy with an absolute URL, HTTPS is
 * tunnelled with CONNECT and verified against the CA the phone trusts — what Android's HTTP
 * stack does with a system proxy set. A request the phone makes is a real request on the wire.
 */
export function send(request: OutgoingRequest, route: NetworkRoute): Promise<IncomingResponse> {
  if (request.transport !== undefined && !['proxy', 'websocket'].includes(request.transport)) {
    // On the proxy route the virtual phone's only network is its proxy: a request that ignores
    // the proxy goes nowhere (and never leaves this machine), as on a phone whose Wi-Fi reaches
    // only phonehome.
    return Promise.reject(
      new Error(
        `${request.method} ${request.url} failed: it ignores the system proxy (${request.transport}), and the virtual phone has no other route`,
      ),
    );
  }
  if (request.transport === 'websocket') return sendOverWebSocket(request, route);
  const target = new URL(request.url);
  const proxy = new URL(route.proxyUrl);
  let body: Buffer | undefined = request.body === undefined ? undefined : Buffer.from(request.body);
  const headers: Record<string, string> = {
    host: target.host,
    connection: 'close',
    ...request.headers,
  };
  if (body && request.gzip) {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  if (body) headers['content-length'] = String(body.length);

  return new Promise<IncomingResponse>((resolve, reject) => {
    const fail = (error: Error) =>
      reject(new Error(`${request.method} ${request.url} failed: ${error.message}`));
    const timer = setTimeout(
      () => fail(new Error(`no answer within ${route.timeoutMs} ms`)),
      route.timeoutMs,
    );
    const done = (response: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', fail);
      response.on('end', () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    };
    const issue = (options: http.RequestOptions) => {
      const outgoing = http.request(options, done);
      outgoing.on('error', (error) => {
        clearTimeout(timer);
        fail(error);
      });
      outgoing.end(body);
    };

    if (target.protocol === 'http:') {
      issue({
        host: proxy.hostname,
        port: proxy.port,
        method: request.method,
        path: target.href,
        headers,
      });
      return;
    }
    tunnel(target, route).then(
      (secure) => {
        secure.on('error', (error) => {
          clearTimeout(timer);
          fail(error);
        });
        // No `agent: false` here: Node ignores createConnection when it is set.
        issue({
          createConnection: () => secure,
          method: request.method,
          path: target.pathname + target.search,
          headers,
        });
      },
      (error: Error) => {
        clearTimeout(timer);
        fail(error);
      },
    );
  });
}

/**
 * A TLS connection to `target` through the proxy (CONNECT), verified against the CA the phone
 * trusts: how Android's HTTP stack, and its WebSocket clients, reach an HTTPS host via a proxy.
 */
function tunnel(target: URL, route: NetworkRoute): Promise<tls.TLSSocket> {
  const proxy = new URL(route.proxyUrl);
  const port = target.port || '443';
  return new Promise((resolve, reject) => {
    const connect = http.request({
      host: proxy.hostname,
      port: proxy.port,
      // A tunnel gets a connection of its own, as Android's HTTP stack opens one: Node's global
      // agent would send the CONNECT on a kept-alive proxy connection of an earlier plain request,
      // which the capture does not take as a tunnel (the request hung up).
      agent: false,
      method: 'CONNECT',
      path: `${target.hostname}:${port}`,
      headers: { host: `${target.hostname}:${port}` },
    });
    connect.on('connect', (response, socket) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`the proxy refused CONNECT with ${response.statusCode}`));
        return;
      }
      resolve(tls.connect({ socket, servername: target.hostname, ca: route.trustedCa }));
    });
    connect.on('error', reject);
    connect.end();
  });
}

/**
 * Opens a WebSocket to `request.url` (ws:// or wss://) through the system proxy, sends the body
 * as one text message, and closes it: a push channel or an SDK's socket. ws:// goes to the proxy
 * in the clear, as OkHttp does; wss:// is tunnelled with CONNECT and verified against the phone's
 * trusted CA. Answers 101 once the socket closed cleanly.
 */
async function sendOverWebSocket(
  request: OutgoingRequest,
  route: NetworkRoute,
): Promise<IncomingResponse> {
  const target = new URL(request.url);
  const proxy = new URL(route.proxyUrl);
  const fail = (error: Error) => new Error(`WebSocket ${request.url} failed: ${error.message}`);
  let socket: net.Socket;
  if (target.protocol === 'ws:') {
    socket = net.connect(Number(proxy.port), proxy.hostname);
  } else if (target.protocol === 'wss:') {
    try {
      socket = await tunnel(target, route);
    } catch (error) {
      throw fail(error as Error);
    }
  } else {
    throw fail(new Error('a WebSocket URL starts with ws:// or wss://'));
  }
  return new Promise<IncomingResponse>((resolve, reject) => {
    const ws = new WebSocket(request.url, {
      createConnection: () => socket,
      headers: request.headers,
    } as WebSocket.ClientOptions);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(fail(new Error(`no answer within ${route.timeoutMs} ms`)));
    }, route.timeoutMs);
    ws.once('open', () => {
      ws.send(request.body ?? '', () => ws.close(1000));
    });
    ws.once('close', () => {
      clearTimeout(timer);
      resolve({ status: 101, body: '' });
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(fail(error));
    });
  });
}

/** The network the phone is on when no proxy is set: its DNS server, and the CA it trusts. */
export interface DirectRoute {
  /** The DNS server the network hands out (DHCP's answer on a real phone). */
  dnsServer: string;
  trustedCa: string;
  timeoutMs: number;
}

/**
 * Sends a request the way a phone with no proxy set does: names are looked up with the
 * network's DNS server and every transport connects straight to its destination. This runs in
 * the phone's own network namespace (netns.ts), whose only way out is the gateway.
 */
export async function sendDirect(
  request: OutgoingRequest,
  route: DirectRoute,
): Promise<IncomingResponse> {
  const resolver = new Resolver({ timeout: route.timeoutMs, tries: 1 });
  resolver.setServers([route.dnsServer]);
  const resolve = async (host: string): Promise<string> => {
    if (net.isIP(host)) return host;
    const [address] = await resolver.resolve4(host);
    if (!address) throw new Error(`${host} has no address`);
    return address;
  };
  const lookup: LookupFunction = (host, options, callback) => {
    resolve(host).then(
      (address) =>
        options.all
          ? (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(
              null,
              [{ address, family: 4 }],
            )
          : callback(null, address, 4),
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 4),
    );
  };
  const target = new URL(request.url);
  const label = `${request.method} ${request.url}`;
  const fail = (error: Error) => new Error(`${label} failed: ${error.message}`);
  try {
    switch (request.transport) {
      case 'dns':
        await resolve(target.hostname);
        return { status: 0, body: '' };
      case 'udp': {
        const address = await resolve(target.hostname);
        const socket = dgram.createSocket('udp4');
        await new Promise<void>((done, reject) =>
          socket.send(Buffer.from(request.body ?? ''), Number(target.port), address, (error) =>
            error ? reject(error) : done(),
          ),
        );
        socket.close();
        return { status: 0, body: '' };
      }
      case 'tcp':
        return await rawTcp(target, request.body ?? '', lookup, route.timeoutMs);
      case 'websocket':
        return await directWebSocket(request, route, lookup);
      default:
        return await directHttp(request, route, lookup);
    }
  } catch (error) {
    throw fail(error as Error);
  }
}

function directHttp(
  request: OutgoingRequest,
  route: DirectRoute,
  lookup: LookupFunction,
): Promise<IncomingResponse> {
  const target = new URL(request.url);
  let body: Buffer | undefined = request.body === undefined ? undefined : Buffer.from(request.body);
  const headers: Record<string, string> = { connection: 'close', ...request.headers };
  if (body && request.gzip) {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  if (body) headers['content-length'] = String(body.length);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const outgoing = client.request(
      {
        hostname: target.hostname,
        port: target.port || undefined,
        path: target.pathname + target.search,
        method: request.method,
        headers,
        lookup,
        agent: false,
        timeout: route.timeoutMs,
        ...(target.protocol === 'https:'
          ? { ca: route.trustedCa, servername: target.hostname }
          : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    outgoing.on('timeout', () =>
      outgoing.destroy(new Error(`no answer within ${route.timeoutMs} ms`)),
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** A raw TCP stream (a push channel's own protocol): the body is written, then the phone waits for the other side to close. */
function rawTcp(
  target: URL,
  body: string | Uint8Array,
  lookup: LookupFunction,
  timeoutMs: number,
): Promise<IncomingResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.hostname, port: Number(target.port), lookup });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ status: 0, body: Buffer.concat(chunks).toString('utf8') });
    }, timeoutMs);
    socket.on('connect', () => socket.write(body));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ status: 0, body: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

function directWebSocket(
  request: OutgoingRequest,
  route: DirectRoute,
  lookup: LookupFunction,
): Promise<IncomingResponse> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(request.url, {
      headers: request.headers,
      ca: route.trustedCa,
      lookup,
    } as WebSocket.ClientOptions);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer within ${route.timeoutMs} ms`));
    }, route.timeoutMs);
    ws.once('open', () => ws.send(request.body ?? '', () => ws.close(1000)));
    ws.once('close', () => {
      clearTimeout(timer);
      resolve({ status: 101, body: '' });
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
