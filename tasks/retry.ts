// Bounded exponential backoff for network operations; every retry is reported.
export interface RetryOptions {
  attempts: number;
  baseMs: number;
  maxMs: number;
  what: string;
  retryable: (e: unknown) => boolean;
  log?: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY = { attempts: 4, baseMs: 500, maxMs: 8000 };

export async function retry<T>(fn: (attempt: number) => Promise<T>, o: Partial<RetryOptions> & Pick<RetryOptions, 'what' | 'retryable'>): Promise<T> {
  const opts = { ...DEFAULT_RETRY, ...o };
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= opts.attempts || !opts.retryable(e)) throw e;
      const delay = Math.min(opts.maxMs, opts.baseMs * 2 ** (attempt - 1));
      opts.log?.(`retry ${attempt}/${opts.attempts - 1} for ${opts.what} in ${delay} ms: ${(e as Error).message.split('\n')[0]}`);
      await sleep(delay);
    }
  }
}

/** docker CLI failures worth retrying: the network or the registry hiccuped, not our input. */
export function retryableDockerError(stderr: string): boolean {
  // Registries name rate limits and outages by error code (toomanyrequests, unavailable) or by status.
  return /\b(5\d\d|429)\b|Too Many Requests|toomanyrequests|\bunavailable:|connection refused|connection reset|i\/o timeout|TLS handshake timeout|EOF\b|unexpected EOF|Service Unavailable|Bad Gateway/i.test(stderr);
}
