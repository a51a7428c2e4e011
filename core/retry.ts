// Bounded exponential backoff for network operations; every retry is reported. The policy is
// pure (time comes from the injected sleep), so the registry client and the docker calls share it.
export interface RetryOptions {
  attempts: number;
  baseMs: number;
  maxMs: number;
  what: string;
  retryable: (e: unknown) => boolean;
  /** A delay the server asked for (HTTP Retry-After), used instead of the backoff when longer. */
  delayFor?: (e: unknown) => number | undefined;
  log?: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
  /** Stops waiting and retrying once aborted (Ctrl-C). */
  signal?: AbortSignal;
}

export const DEFAULT_RETRY = { attempts: 4, baseMs: 500, maxMs: 8000 };
/** A server may ask for a pause, but not for longer than a run is willing to wait. */
export const MAX_SERVER_DELAY_MS = 60_000;

export async function retry<T>(fn: (attempt: number) => Promise<T>, o: Partial<RetryOptions> & Pick<RetryOptions, 'what' | 'retryable'>): Promise<T> {
  const opts = { ...DEFAULT_RETRY, ...o };
  const sleep = opts.sleep ?? ((ms: number) => abortableSleep(ms, opts.signal));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= opts.attempts || !opts.retryable(e) || opts.signal?.aborted) throw e;
      const backoff = Math.min(opts.maxMs, opts.baseMs * 2 ** (attempt - 1));
      const asked = opts.delayFor?.(e);
      const delay = asked !== undefined ? Math.min(MAX_SERVER_DELAY_MS, Math.max(asked, backoff)) : backoff;
      opts.log?.(`retry ${attempt}/${opts.attempts - 1} for ${opts.what} in ${delay} ms${asked !== undefined ? ' (as the server asked)' : ''}: ${(e as Error).message.split('\n')[0]}`);
      await sleep(delay);
      if (opts.signal?.aborted) throw e;
    }
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** HTTP Retry-After: seconds, or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/**
 * `imagetools create` with several tags pushes the index to each tag at once, each copying the
 * platform manifests into the repository first; one push can PUT the index before the other's
 * copy of a manifest has landed, and the registry answers 400 (MANIFEST_BLOB_UNKNOWN). The
 * merge is idempotent and the manifests are there a moment later, so it is worth one more try.
 * Seen on the CNCF distribution registry with buildx 0.13.
 */
export function indexPushRace(stderr: string): boolean {
  // Both forms: the index PUT (`index-sha256`) and a platform manifest's own copy
  // (`manifest-sha256`) racing the other push into the same repository. Only a 400 on a
  // manifest PUT: a blob's, a config's, or any other status is not this race.
  return /failed commit on ref "(index|manifest)-sha256:[0-9a-f]{64}": unexpected status from PUT request to \S+\/manifests\/\S+: 400 Bad Request/.test(stderr);
}

/** docker CLI failures worth retrying: the network or the registry hiccuped, not our input. */
export function retryableDockerError(stderr: string): boolean {
  // Registries name rate limits and outages by error code (toomanyrequests, unavailable) or by status.
  return /\b(5\d\d|429)\b|Too Many Requests|toomanyrequests|\bunavailable:|connection refused|connection reset|i\/o timeout|TLS handshake timeout|EOF\b|unexpected EOF|Service Unavailable|Bad Gateway/i.test(stderr);
}
