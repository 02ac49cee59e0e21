import type { Exchange } from '../types.ts';
import { bodyFromBytes } from './session.ts';

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
  };
}
