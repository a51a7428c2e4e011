// HTTP for registry APIs: JSON in and out, retried on connection errors, 5xx and 429.
import { WorkError } from '../core/errors.ts';
import { redactor } from '../core/redact.ts';
import { retry, type RetryOptions } from '../core/retry.ts';

export interface HttpResponse {
  status: number;
  body: string;
  json?: unknown;
}

export class HttpStatusError extends Error {
  constructor(readonly status: number, readonly body: string, readonly url: string) {
    super(`HTTP ${status} from ${url}: ${redactor.redact(body.slice(0, 300))}`);
  }
}

export function retryableHttp(e: unknown): boolean {
  if (e instanceof HttpStatusError) return e.status >= 500 || e.status === 429;
  const code = (e as { cause?: { code?: string } })?.cause?.code ?? (e as { code?: string })?.code;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'EAI_AGAIN'].includes(code ?? '') || (e instanceof TypeError && /fetch failed/.test(e.message));
}

export async function requestJson(
  method: string,
  url: string,
  opts: { headers?: Record<string, string>; body?: unknown; retry?: Partial<RetryOptions>; log?: (l: string) => void; timeoutMs?: number } = {},
): Promise<HttpResponse> {
  return retry(
    async () => {
      const res = await fetch(url, {
        method,
        headers: { accept: 'application/json', ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
      const body = await res.text();
      if (!res.ok) throw new HttpStatusError(res.status, body, url);
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, body, json };
    },
    {
      what: `${method} ${url}`,
      retryable: retryableHttp,
      log: opts.log,
      ...opts.retry,
    },
  ).catch((e: unknown) => {
    if (e instanceof HttpStatusError) throw new WorkError(e.message);
    throw new WorkError(`${method} ${url} failed: ${redactor.redact((e as Error).message)}`);
  });
}
