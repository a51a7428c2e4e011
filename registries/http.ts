// HTTP for registry web APIs (README pushes): JSON in and out, retried on connection errors,
// 5xx and 429. Credentials never follow a redirect to another origin; answers are read up to a
// bound, and redacted before they are shortened for a message.
import { WorkError } from '../core/base/errors.ts';
import { redactor } from '../core/base/redact.ts';
import { parseRetryAfter, retry, type RetryOptions } from '../core/base/retry.ts';

const MAX_BODY_BYTES = 1 << 20;
const MAX_REDIRECTS = 3;

export interface HttpResponse {
  status: number;
  body: string;
  json?: unknown;
}

export class HttpStatusError extends Error {
  constructor(readonly status: number, readonly body: string, readonly url: string, readonly retryAfterMs?: number) {
    super(`HTTP ${status} from ${url}: ${redactor.redact(body).slice(0, 300)}`);
  }
}

export function retryableHttp(e: unknown): boolean {
  if (e instanceof HttpStatusError) return e.status >= 500 || e.status === 429;
  const code = (e as { cause?: { code?: string } })?.cause?.code ?? (e as { code?: string })?.code;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'EAI_AGAIN'].includes(code ?? '') || (e instanceof TypeError && /fetch failed/.test(e.message));
}

async function readBounded(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > MAX_BODY_BYTES) {
      await reader.cancel();
      break;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function requestJson(
  method: string,
  url: string,
  opts: { headers?: Record<string, string>; body?: unknown; retry?: Partial<RetryOptions>; log?: (l: string) => void; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<HttpResponse> {
  const once = async (): Promise<HttpResponse> => {
    let current = url;
    for (let hop = 0; ; hop++) {
      const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs ?? 30_000)]) : AbortSignal.timeout(opts.timeoutMs ?? 30_000);
      const res = await fetch(current, {
        method,
        redirect: 'manual',
        headers: { accept: 'application/json', ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
        signal,
      });
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        const next = new URL(location, current);
        if (next.origin !== new URL(url).origin) throw new WorkError(`${method} ${url} was redirected to ${next.origin}: refusing to send credentials to another host`);
        if (hop >= MAX_REDIRECTS) throw new WorkError(`${method} ${url}: more than ${MAX_REDIRECTS} redirects`);
        current = next.toString();
        continue;
      }
      const body = await readBounded(res);
      if (!res.ok) throw new HttpStatusError(res.status, body, url, parseRetryAfter(res.headers.get('retry-after') ?? undefined));
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, body, json };
    }
  };
  return retry(once, {
    what: `${method} ${url}`,
    retryable: retryableHttp,
    delayFor: (e) => (e instanceof HttpStatusError ? e.retryAfterMs : undefined),
    log: opts.log,
    signal: opts.signal,
    ...opts.retry,
  }).catch((e: unknown) => {
    if (e instanceof WorkError) throw e;
    if (e instanceof HttpStatusError) throw new WorkError(e.message);
    if (opts.signal?.aborted) throw new WorkError(`${method} ${url}: cancelled`);
    throw new WorkError(`${method} ${url} failed: ${redactor.redact((e as Error).message)}`);
  });
}
