import type { Body, Exchange, HeaderPair } from '../../src/types.ts';

/** What a test row changes in an otherwise empty exchange. */
export interface ExchangeSpec {
  url?: string;
  requestHeaders?: HeaderPair[];
  requestBody?: string | Buffer;
  responseHeaders?: HeaderPair[];
  responseBody?: string | Buffer;
}

/** Text stays UTF-8 as the journal keeps it; bytes go base64, as the journal keeps binary. */
export function body(content: string | Buffer | undefined): Body {
  if (content === undefined) return { encoding: 'utf8', data: '' };
  return typeof content === 'string'
    ? { encoding: 'utf8', data: content }
    : { encoding: 'base64', data: content.toString('base64') };
}

/** An exchange to api.example.test carrying exactly what the spec says. */
export function makeExchange(spec: ExchangeSpec): Exchange {
  return {
    id: 'x1',
    startedAt: 1_700_000_000_000,
    completedAt: 1_700_000_000_050,
    protocol: 'https',
    host: 'api.example.test',
    request: {
      method: spec.requestBody === undefined ? 'GET' : 'POST',
      url: spec.url ?? 'https://api.example.test/v1/ping',
      httpVersion: '1.1',
      headers: spec.requestHeaders ?? [['Host', 'api.example.test']],
      body: body(spec.requestBody),
    },
    response: {
      status: 200,
      statusMessage: 'OK',
      headers: spec.responseHeaders ?? [['Content-Type', 'text/plain']],
      body: body(spec.responseBody),
    },
  };
}
