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
 * Distribution error codes that mean "a manifest or blob this one references is not in the
 * repository (yet)": MANIFEST_BLOB_UNKNOWN is the spec's own ("manifest references a manifest
 * or blob unknown to registry"); some registries answer a manifest PUT with BLOB_UNKNOWN or
 * MANIFEST_UNKNOWN for the same thing. Every other 400 (MANIFEST_INVALID, TAG_INVALID,
 * NAME_INVALID, DIGEST_INVALID, SIZE_INVALID, …) says the request itself is wrong: it would
 * fail again.
 */
export const NOT_YET_THERE = ['MANIFEST_BLOB_UNKNOWN', 'BLOB_UNKNOWN', 'MANIFEST_UNKNOWN'] as const;

const DISTRIBUTION_CODES = /\b(BLOB_UNKNOWN|BLOB_UPLOAD_INVALID|BLOB_UPLOAD_UNKNOWN|DIGEST_INVALID|MANIFEST_BLOB_UNKNOWN|MANIFEST_INVALID|MANIFEST_UNKNOWN|MANIFEST_UNVERIFIED|NAME_INVALID|NAME_UNKNOWN|SIZE_INVALID|TAG_INVALID|UNAUTHORIZED|DENIED|UNSUPPORTED|TOOMANYREQUESTS)\b/g;
const NAME_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_OR_DIGEST = /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[0-9a-f]{64})$/;

/**
 * `imagetools create` with several tags pushes to every tag at once, each first copying the
 * platform manifests into the repository; one push can PUT a manifest or the index before the
 * other's copy of what it references has landed, and the registry answers 400. buildx prints it
 * as `failed commit on ref "<kind>-sha256:…": unexpected status from PUT request to
 * …/manifests/<tag or digest>: 400 Bad Request`, with `manifest-`, `index-` (or another kind)
 * depending on the media type (buildx 0.13 names its own Docker manifest list `manifest-` too,
 * as seen through the fault proxy), and newer buildx versions add the registry's answer (its JSON, or
 * its code in words: `manifest blob unknown: …`). Where the answer is there, only the
 * "not there yet" codes count; where it is not (buildx 0.13 prints none), the 400 counts unless
 * the URL's name or tag is one the registry must refuse (NAME_INVALID, TAG_INVALID), since the
 * bytes are buildx's own copies. The merge is idempotent, so another try is safe.
 */
export function indexPushRace(stderr: string): boolean {
  const re = /failed commit on ref "[a-z]+-(?:[^"@\s]*@)?sha256:[0-9a-f]{64}": unexpected status from PUT request to (\S+)\/v2\/(\S+)\/manifests\/([^\s:]+(?::[0-9a-f]{64})?): 400 Bad Request(.*)$/gm;
  for (const m of stderr.matchAll(re)) {
    const [, , name, reference, tail] = m;
    const codes = [...(tail ?? '').toUpperCase().replace(/(?<=[A-Z]) (?=[A-Z])/g, '_').matchAll(DISTRIBUTION_CODES)].map((c) => c[1]!);
    if (codes.length) {
      if (codes.every((c) => (NOT_YET_THERE as readonly string[]).includes(c))) return true;
      continue;
    }
    if (name!.split('/').every((c) => NAME_COMPONENT.test(c)) && TAG_OR_DIGEST.test(reference!)) return true;
  }
  return false;
}

/** docker CLI failures worth retrying: the network or the registry hiccuped, not our input. */
export function retryableDockerError(stderr: string): boolean {
  // Registries name rate limits and outages by error code (toomanyrequests, unavailable) or by status.
  return /\b(5\d\d|429)\b|Too Many Requests|toomanyrequests|\bunavailable:|connection refused|connection reset|i\/o timeout|TLS handshake timeout|EOF\b|unexpected EOF|Service Unavailable|Bad Gateway/i.test(stderr);
}
