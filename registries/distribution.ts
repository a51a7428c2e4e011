// A small OCI distribution client: the registry HTTP API (v2) for the lookups a run needs,
// without a process per image. undici keeps one pooled keep-alive connection set per host;
// this module writes only the protocol: auth challenges (Basic and the bearer-token flow),
// manifests and indexes, blobs, tags, and retries that honour Retry-After.
import { Transform, pipeline, type Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import pLimit from 'p-limit';
import { apiHost, isLoopback, type ImageRef } from '../core/base/image-ref.ts';
import { MANIFEST_ACCEPT, digestOf, parseConfig, parseManifest, type ImageConfig, type ManifestDoc } from '../core/base/manifest.ts';
import { redactor } from '../core/base/redact.ts';
import { WorkError } from '../core/base/errors.ts';
import { parseRetryAfter, retry, type RetryOptions } from '../core/base/retry.ts';
import type { Credential } from './docker-config.ts';

const MAX_MANIFEST_BYTES = 4 << 20;
const MAX_CONFIG_BYTES = 8 << 20;
const MAX_ERROR_BYTES = 64 << 10;
const MAX_REDIRECTS = 5;
/** Every request's whole exchange (connect, headers and body) ends within this, unless told otherwise. */
export const DEFAULT_DEADLINE_MS = 30_000;
/**
 * Entries of one index this client accepts. A real multi-arch tag lists a few dozen (platforms
 * and their attestations); an index of thousands still fits under the size limit, and every
 * caller that follows its entries would fan out into a request per entry.
 */
export const MAX_INDEX_ENTRIES = 512;
/** A connection not set up within this is a host that drops packets: dead for the run. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** Requests one client sends at most: a bound on fan-out, far above what a 50,000-task run asks. */
export const DEFAULT_MAX_REQUESTS = 250_000;

/**
 * Failures of the connection itself: the host is not there (no name, nothing listening, no
 * route, no answer in time). Unlike an HTTP answer, they say nothing about one request.
 */
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'DEADLINE']);
/** Connection failures in a row, over all requests to one origin, after which it is dead for the run. */
const STRIKES = 4;
/** Of those, the ones another try a moment later will not change: the host is dead at once. */
const FINAL = new Set(['ENOTFOUND', 'EAI_NONAME', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'DEADLINE', 'EHOSTUNREACH', 'ENETUNREACH']);

export interface ClientOptions {
  /** Credentials per registry host (the user's docker config, usually). */
  credentials?: (host: string) => Promise<Credential | undefined>;
  /** Requests in flight at once, over all hosts. */
  concurrency?: number;
  /** Keep-alive connections per host. */
  connectionsPerHost?: number;
  retry?: Partial<Omit<RetryOptions, 'what' | 'retryable'>>;
  /** Hosts spoken to over plain HTTP (default: loopback, as the docker daemon allows). */
  plainHttp?: (host: string) => boolean;
  /** Deadline of one request's whole exchange, headers and body (default DEFAULT_DEADLINE_MS). */
  timeoutMs?: number;
  /** Requests this client may send in all (default DEFAULT_MAX_REQUESTS); past it, a clear error. */
  maxRequests?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** A registry call that failed: `transient` ones (network, 429, 5xx) were already retried. */
export class RegistryError extends WorkError {
  override name = 'RegistryError';
  constructor(
    message: string,
    readonly info: { url: string; status?: number; code?: string; transient: boolean; retryAfterMs?: number; unreachable?: boolean },
  ) {
    super(redactor.redact(message));
  }
}

export interface ManifestResponse {
  digest: string;
  mediaType: string;
  doc: ManifestDoc;
  body: Buffer;
}

interface Send {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  /** The token scope the request needs; several are separated by spaces (a mount: push here, pull there). */
  scope: string;
  headers?: Record<string, string>;
  /** A stream is sent once: never replayed after a 401 or by a retry (the caller retries the whole copy). */
  body?: Buffer | Readable;
  maxBytes?: number;
  /** A successful answer's body is handed back unread, for the caller to stream; the deadline then covers only the headers. */
  stream?: boolean;
  /** Overrides the retry policy's attempts (a probe tries once). */
  attempts?: number;
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  url: string;
  /** With `stream`: the successful answer's body, unread. */
  stream?: Readable;
}

/** A blob's bytes on their way: read them once, to the end or until destroyed. */
export interface BlobStream {
  stream: Readable;
  /** Content-Length as the registry said it, if it did. */
  length?: number;
}

/** Where a blob upload goes on: the Location a registry answered a POST with. */
export interface UploadSession {
  location: string;
  url: string;
}

type Challenge = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string; scope?: string };

const header = (h: Raw['headers'], k: string): string | undefined => {
  const v = h[k];
  return Array.isArray(v) ? v[0] : v;
};

export function parseChallenge(value: string | undefined): Challenge | undefined {
  if (!value) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/.exec(value);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'basic') return { scheme: 'basic' };
  if (scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)="([^"]*)"/g)) params[p[1]!.toLowerCase()] = p[2]!;
  if (!params['realm']) return undefined;
  return { scheme: 'bearer', realm: params['realm'], service: params['service'], scope: params['scope'] };
}

export class RegistryClient {
  private readonly agent: Agent;
  private readonly limit: ReturnType<typeof pLimit>;
  /** `host|scope` → bearer token (shared by concurrent requests for the same scope). */
  private readonly tokens = new Map<string, Promise<{ token: string; expires: number }>>();
  /** Hosts that asked for Basic auth: later requests send it up front. */
  private readonly basicHosts = new Set<string>();
  /** Host → its own bearer challenge: a scope not seen yet gets its token before the request, not after a 401. */
  private readonly bearerHosts = new Map<string, Extract<Challenge, { scheme: 'bearer' }>>();
  /** Hosts whose first request is on the wire: the others wait for what it learns instead of each collecting a 401. */
  private readonly learning = new Map<string, Promise<void>>();
  /** Hosts that answered once: from then on, requests go at once, with whatever auth that answer taught. */
  private readonly contacted = new Set<string>();
  /** Requests sent, for benchmarks and tests. */
  requests = 0;
  /** Origin → the failure that showed it unreachable: every later request to it fails at once with it. */
  private readonly dead = new Map<string, RegistryError>();
  /** Origin → connection failures in a row (any answer resets it): past STRIKES the origin is dead. */
  private readonly strikes = new Map<string, number>();
  private readonly deadlineMs: number;

  constructor(private readonly o: ClientOptions = {}) {
    this.deadlineMs = o.timeoutMs ?? DEFAULT_DEADLINE_MS;
    this.agent = new Agent({ connections: o.connectionsPerHost ?? 8, keepAliveTimeout: 30_000, headersTimeout: this.deadlineMs, bodyTimeout: this.deadlineMs, connect: { timeout: Math.min(CONNECT_TIMEOUT_MS, this.deadlineMs) } });
    this.limit = pLimit(o.concurrency ?? 16);
  }

  /** The origins found unreachable so far, with the first cause of each. */
  unreachable(): Map<string, string> {
    return new Map([...this.dead].map(([o, e]) => [o, e.message]));
  }

  private markDead(origin: string, e: RegistryError): void {
    if (this.dead.has(origin)) return;
    this.dead.set(origin, e);
    this.o.log?.(`${origin} is unreachable (${e.message}); every further request to it in this run fails at once`);
  }

  /** A request to an origin already found dead: the same cause, said the same way for every lookup. */
  private refuseDead(origin: string, url: string): RegistryError | undefined {
    const first = this.dead.get(origin);
    if (!first) return undefined;
    return new RegistryError(`${origin} is unreachable: ${first.message}`, { url, code: first.info.code, transient: false, unreachable: true });
  }

  /** Counts a request against the client's budget; past it, the run stops asking. */
  private spend(url: string): void {
    const max = this.o.maxRequests ?? DEFAULT_MAX_REQUESTS;
    if (++this.requests > max) throw new RegistryError(`more than ${max} registry requests in one run (the last to ${url.replace(/\?.*$/, '')}): refusing to go on; a registry answer is fanning out without bound`, { url, transient: false });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private base(host: string): string {
    const plain = this.o.plainHttp ? this.o.plainHttp(host) : isLoopback(host);
    return `${plain ? 'http' : 'https'}://${apiHost(host)}`;
  }

  /** Reachable and speaking the v2 API (an auth challenge counts as an answer). One try: it is a probe. */
  async ping(host: string): Promise<void> {
    const r = await this.send(host, '/v2/', { method: 'GET', scope: '', attempts: 1 }, [200, 401]);
    if (r.status !== 200 && r.status !== 401) throw new RegistryError(`${host} does not speak the registry API (HTTP ${r.status})`, { url: r.url, status: r.status, transient: false });
  }

  /** The manifest or index at a tag or digest; undefined when the registry has none. */
  async manifest(ref: ImageRef): Promise<ManifestResponse | undefined> {
    const reference = ref.digest ?? ref.tag!;
    const r = await this.send(ref.host, `/v2/${ref.repository}/manifests/${reference}`, { method: 'GET', scope: pull(ref.repository), headers: { accept: MANIFEST_ACCEPT }, maxBytes: MAX_MANIFEST_BYTES }, [200, 404]);
    if (r.status === 404) return undefined;
    const digest = digestOf(r.body);
    if (ref.digest && digest !== ref.digest) throw new RegistryError(`${ref.host}/${ref.repository}@${ref.digest}: the registry returned content with digest ${digest}`, { url: r.url, transient: false });
    const doc = parseJson(() => parseManifest(r.body, header(r.headers, 'content-type')), r.url);
    const entries = Array.isArray(doc.manifests) ? doc.manifests.length : 0;
    if (entries > MAX_INDEX_ENTRIES) {
      throw new RegistryError(`${ref.host}/${ref.repository}:${reference}: an index of ${entries} entries, more than the ${MAX_INDEX_ENTRIES} this tool follows`, { url: r.url, transient: false });
    }
    return { digest, mediaType: doc.mediaType!, doc, body: r.body };
  }

  /** Digest and media type only (HEAD); undefined when absent. */
  async head(ref: ImageRef): Promise<{ digest: string; mediaType: string } | undefined> {
    const r = await this.send(ref.host, `/v2/${ref.repository}/manifests/${ref.digest ?? ref.tag!}`, { method: 'HEAD', scope: pull(ref.repository), headers: { accept: MANIFEST_ACCEPT } }, [200, 404]);
    if (r.status === 404) return undefined;
    const digest = header(r.headers, 'docker-content-digest');
    if (!digest) return (await this.manifest(ref)) ?? undefined;
    return { digest, mediaType: (header(r.headers, 'content-type') ?? '').split(';')[0]!.trim() };
  }

  async config(host: string, repository: string, digest: string): Promise<ImageConfig> {
    const { body, url } = await this.blobAt(host, repository, digest, MAX_CONFIG_BYTES);
    return parseJson(() => parseConfig(body), url);
  }

  /** A blob's bytes, checked against its digest; undefined when the registry has none. */
  async blob(host: string, repository: string, digest: string, maxBytes: number): Promise<Buffer | undefined> {
    const r = await this.send(host, `/v2/${repository}/blobs/${digest}`, { method: 'GET', scope: pull(repository), maxBytes }, [200, 404]);
    if (r.status === 404) return undefined;
    if (digestOf(r.body) !== digest) throw new RegistryError(`${host}/${repository}: blob ${digest} arrived with another digest`, { url: r.url, transient: false });
    return r.body;
  }

  private async blobAt(host: string, repository: string, digest: string, maxBytes: number): Promise<{ body: Buffer; url: string }> {
    const r = await this.send(host, `/v2/${repository}/blobs/${digest}`, { method: 'GET', scope: pull(repository), maxBytes }, [200]);
    if (digestOf(r.body) !== digest) throw new RegistryError(`${host}/${repository}: blob ${digest} arrived with another digest`, { url: r.url, transient: false });
    return { body: r.body, url: r.url };
  }

  /** Uploads a blob in one request (the monolithic POST then PUT); returns its digest. */
  async putBlob(host: string, repository: string, body: Buffer): Promise<string> {
    const digest = digestOf(body);
    await this.uploadBlob(host, repository, digest, body, body.length, await this.startUpload(host, repository));
    return digest;
  }

  /** Whether the repository holds the blob (HEAD). */
  async hasBlob(host: string, repository: string, digest: string): Promise<boolean> {
    const r = await this.send(host, `/v2/${repository}/blobs/${digest}`, { method: 'HEAD', scope: pull(repository) }, [200, 404]);
    return r.status === 200;
  }

  /**
   * Asks the registry to link a blob it holds in another repository into this one, without the
   * bytes travelling: `mounted`, or the upload session it opened instead (a registry that does
   * not mount, or cannot read the source, answers 202: the caller copies into that session).
   * The token has to allow a push here and a pull there.
   */
  async mountBlob(host: string, repository: string, from: string, digest: string): Promise<{ mounted: true } | { mounted: false; session: UploadSession }> {
    const q = new URLSearchParams({ mount: digest, from });
    const r = await this.send(host, `/v2/${repository}/blobs/uploads/?${q}`, { method: 'POST', scope: `${push(repository)} ${pull(from)}` }, [201, 202]);
    if (r.status === 201) return { mounted: true };
    return { mounted: false, session: this.session(host, repository, r) };
  }

  /** Opens a blob upload (POST) and returns where its bytes go. */
  async startUpload(host: string, repository: string): Promise<UploadSession> {
    const r = await this.send(host, `/v2/${repository}/blobs/uploads/`, { method: 'POST', scope: push(repository) }, [202]);
    return this.session(host, repository, r);
  }

  private session(host: string, repository: string, r: Raw): UploadSession {
    const location = header(r.headers, 'location');
    if (!location) throw new RegistryError(`${host}/${repository}: the upload has no Location`, { url: r.url, transient: false });
    return { location, url: r.url };
  }

  /**
   * Finishes an upload session with the whole blob in one PUT, under its digest (the registry
   * checks the bytes against it). A stream is sent once: a failure ends the session, and the
   * caller starts the copy again with a new one.
   */
  async uploadBlob(host: string, repository: string, digest: string, body: Buffer | Readable, size: number, at: UploadSession): Promise<void> {
    // Only the path is followed: the bytes and the credentials go to the registry's own origin.
    const u = new URL(at.location, at.url);
    u.searchParams.set('digest', digest);
    await this.send(host, u.pathname + u.search, { method: 'PUT', scope: push(repository), headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) }, body, ...(isStream(body) ? { attempts: 1 } : {}) }, [201]);
  }

  /** A blob's bytes as a stream, not read into memory (a layer may be gigabytes); undefined when absent. */
  async openBlob(host: string, repository: string, digest: string): Promise<BlobStream | undefined> {
    const r = await this.send(host, `/v2/${repository}/blobs/${digest}`, { method: 'GET', scope: pull(repository), stream: true }, [200, 404]);
    if (r.status === 404) return undefined;
    const length = Number(header(r.headers, 'content-length'));
    return { stream: r.stream!, ...(Number.isSafeInteger(length) && length >= 0 ? { length } : {}) };
  }

  /** Stores a manifest under a tag (or its digest); returns the digest. */
  async putManifest(host: string, repository: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
    await this.send(host, `/v2/${repository}/manifests/${reference}`, { method: 'PUT', scope: push(repository), headers: { 'content-type': mediaType }, body }, [201]);
    return digestOf(body);
  }

  /** Deletes a manifest by digest; 'unsupported' where the registry refuses deletes through this API. */
  async deleteManifest(host: string, repository: string, digest: string): Promise<'deleted' | 'absent' | 'unsupported'> {
    const r = await this.send(host, `/v2/${repository}/manifests/${digest}`, { method: 'DELETE', scope: `repository:${repository}:delete,pull,push` }, [202, 200, 404, 405]);
    if (r.status === 405) return 'unsupported';
    if (r.status === 404) return errorCode(r.body) === 'UNSUPPORTED' ? 'unsupported' : 'absent';
    return 'deleted';
  }

  /** Every tag of a repository (following the Link header's pages); none when it does not exist. */
  async tags(host: string, repository: string): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = `/v2/${repository}/tags/list?n=1000`;
    for (let page = 0; path && page < 1000; page++) {
      const r = await this.send(host, path, { method: 'GET', scope: pull(repository), maxBytes: MAX_MANIFEST_BYTES }, [200, 404]);
      if (r.status === 404) return out;
      const doc = parseJson(() => JSON.parse(r.body.toString('utf8')) as { tags?: string[] | null }, r.url);
      out.push(...(doc.tags ?? []));
      const next = /<([^>]+)>;\s*rel="?next"?/.exec(header(r.headers, 'link') ?? '')?.[1];
      path = next ? new URL(next, 'http://x').pathname + new URL(next, 'http://x').search : undefined;
    }
    return out;
  }

  private async send(host: string, path: string, s: Send, expected: number[]): Promise<Raw> {
    const origin = this.base(host);
    const known = this.refuseDead(origin, origin + path);
    if (known) throw known;
    try {
      return await this.sendRetrying(host, path, s, expected, origin);
    } catch (e) {
      // A host that still could not be reached after the retries is not asked again this run.
      if (e instanceof RegistryError && e.info.unreachable && new URL(e.info.url).origin === origin) this.markDead(origin, e);
      throw e;
    }
  }

  private sendRetrying(host: string, path: string, s: Send, expected: number[], origin: string): Promise<Raw> {
    return retry(
      () =>
        this.limit(() => {
          // Found dead while this request waited for its turn or its retry: no point asking.
          const dead = this.refuseDead(origin, origin + path);
          return dead ? Promise.reject(dead) : this.once(host, path, s, expected);
        }),
      {
        what: `${s.method} ${host}${path.split('?')[0]}`,
        attempts: 4,
        baseMs: 250,
        maxMs: 4000,
        log: this.o.log,
        signal: this.o.signal,
        ...this.o.retry,
        ...(s.attempts ? { attempts: s.attempts } : {}),
        retryable: (e) => e instanceof RegistryError && e.info.transient && !this.dead.has(origin),
        delayFor: (e) => (e instanceof RegistryError ? e.info.retryAfterMs : undefined),
      },
    );
  }

  private async once(host: string, path: string, s: Send, expected: number[]): Promise<Raw> {
    const url = `${this.base(host)}${path}`;
    const release = s.scope ? await this.firstContact(host) : undefined;
    let r: Raw;
    let auth: string | undefined;
    let redirected: boolean;
    try {
      auth = await this.knownAuth(host, s.scope, url);
      r = await this.fetch(url, s, auth);
      // Only the configured origin's own challenge is answered: a 401 from where a redirect led
      // would take the registry's credentials (or a token realm it names) to someone else.
      redirected = new URL(r.url).origin !== new URL(url).origin;
      if (r.status === 401 && s.scope && !redirected && !isStream(s.body)) {
        const rejected = auth;
        auth = await this.authorize(host, parseChallenge(header(r.headers, 'www-authenticate')), s.scope, url, rejected);
        if (auth) r = await this.fetch(url, s, auth);
      }
    } finally {
      release?.();
    }
    if (expected.includes(r.status)) return r;
    const code = errorCode(r.body);
    const detail = errorMessage(r.body);
    const what = `${s.method} ${url.replace(/\?.*$/, '')}: HTTP ${r.status}${code ? ` ${code}` : ''}${detail ? `: ${detail}` : ''}`;
    if ((r.status === 401 || r.status === 403) && redirected) {
      throw new RegistryError(`${what} (after a redirect to ${new URL(r.url).origin}: credentials for ${host} are not sent to another origin)`, { url, status: r.status, code, transient: false });
    }
    if (r.status === 401 || r.status === 403) {
      throw new RegistryError(`${what} (credentials for ${host} were ${auth ? 'refused' : 'not found; log in with `manager authenticate` or `docker login`'})`, { url, status: r.status, code, transient: false });
    }
    const transient = r.status === 429 || r.status >= 500;
    throw new RegistryError(what, { url, status: r.status, code, transient, retryAfterMs: parseRetryAfter(header(r.headers, 'retry-after')) });
  }

  /**
   * One HTTP exchange, following redirects: credentials go only to the request's own origin
   * (scheme, host and port), never to another, and a redirect from https to plain http is
   * refused. Each hop, connect to the last byte of the body, ends within the deadline.
   */
  private async fetch(url: string, s: Send, auth: string | undefined): Promise<Raw> {
    let current = url;
    const origin = new URL(url).origin;
    for (let hop = 0; ; hop++) {
      const sameOrigin = new URL(current).origin === origin;
      this.spend(current);
      const timer = new AbortController();
      const deadline = timer.signal;
      const clock = setTimeout(() => timer.abort(new DOMException('deadline', 'TimeoutError')), this.deadlineMs);
      clock.unref();
      const signal = this.o.signal ? AbortSignal.any([this.o.signal, deadline]) : deadline;
      let payload = s.body;
      if (isStream(payload)) {
        // A gigabyte upload takes longer than one request's deadline: while it is sent, the
        // deadline is the longest gap between two chunks, then the wait for the answer.
        const watch = new Transform({
          transform(chunk, _encoding, done) {
            clock.refresh();
            done(null, chunk);
          },
        });
        pipeline(payload, watch, () => {});
        payload = watch;
      }
      try {
        const res = await request(current, {
          method: s.method,
          dispatcher: this.agent,
          headers: { 'user-agent': 'image-matrix-manager', ...s.headers, ...(auth && sameOrigin ? { authorization: auth } : {}) },
          body: payload,
          signal,
        });
        const location = header(res.headers, 'location');
        if (res.statusCode >= 300 && res.statusCode < 400 && location && (s.method === 'GET' || s.method === 'HEAD')) {
          await res.body.dump();
          if (hop >= MAX_REDIRECTS) throw new RegistryError(`${s.method} ${url}: more than ${MAX_REDIRECTS} redirects`, { url, transient: false });
          const next = new URL(location, current);
          if (new URL(current).protocol === 'https:' && next.protocol !== 'https:') {
            throw new RegistryError(`${s.method} ${current.replace(/\?.*$/, '')} redirected to ${next.origin}: refusing to leave HTTPS`, { url: current, transient: false });
          }
          current = next.toString();
          continue;
        }
        this.strikes.delete(new URL(current).origin);
        const ok = res.statusCode >= 200 && res.statusCode < 300;
        if (ok && s.stream && s.method === 'GET') {
          // A gigabyte layer takes longer than one request's deadline: from here the agent's
          // idle timeout (no byte for the deadline's length) is what ends a stalled stream.
          clearTimeout(clock);
          return { status: res.statusCode, headers: res.headers, body: Buffer.alloc(0), url: current, stream: res.body };
        }
        const body = s.method === 'HEAD' ? (await res.body.dump(), Buffer.alloc(0)) : await readBounded(res.body, ok ? (s.maxBytes ?? MAX_MANIFEST_BYTES) : MAX_ERROR_BYTES, current, ok);
        return { status: res.statusCode, headers: res.headers, body, url: current };
      } catch (e) {
        if (e instanceof RegistryError) throw e;
        throw this.networkError(e, s.method, current, deadline);
      } finally {
        clearTimeout(clock);
      }
    }
  }

  /** What a failed exchange says: cancelled, past its deadline, or the network's own error. */
  private networkError(e: unknown, method: string, url: string, deadline: AbortSignal): RegistryError {
    const where = `${method} ${url.replace(/\?.*$/, '')}`;
    if (this.o.signal?.aborted) return new RegistryError(`${where}: cancelled`, { url, transient: false });
    if (deadline.aborted) {
      const err = new RegistryError(`${where}: no complete answer within ${this.deadlineMs} ms`, { url, code: 'DEADLINE', transient: false, unreachable: true });
      this.markDead(new URL(url).origin, err);
      return err;
    }
    const code = (e as { code?: string }).code ?? (e as { cause?: { code?: string } }).cause?.code;
    const message = (e as Error).message;
    // undici's messages often name the code already ("getaddrinfo ENOTFOUND host").
    const said = code && !message.includes(code) ? `${code} ${message}` : message;
    const unreachable = code !== undefined && UNREACHABLE.has(code);
    const err = new RegistryError(`${where}: ${said}`, { url, code, transient: !(code && FINAL.has(code)), unreachable });
    // Refused or reset connections are retried, but counted over every request to the origin:
    // many lookups in flight at once do not each spend all their tries on a host that is gone.
    const origin = new URL(url).origin;
    const strikes = unreachable ? (this.strikes.get(origin) ?? 0) + 1 : 0;
    if (unreachable) this.strikes.set(origin, strikes);
    if ((code && FINAL.has(code)) || strikes >= STRIKES) this.markDead(origin, err);
    return err;
  }

  /**
   * The first request to a host that needs auth goes alone: until its answer says how the host
   * authenticates (Basic, or a token realm), concurrent requests would each spend a 401 on it.
   * Returns the release for the one that goes; the others wait for it, then go as it left things.
   */
  private async firstContact(host: string): Promise<(() => void) | undefined> {
    if (this.contacted.has(host)) return undefined;
    const pending = this.learning.get(host);
    if (pending) {
      await pending;
      return undefined;
    }
    let done!: () => void;
    this.learning.set(host, new Promise<void>((r) => (done = r)));
    return () => {
      this.contacted.add(host);
      this.learning.delete(host);
      done();
    };
  }

  /**
   * What to send up front: Basic to a host that asked for it, or a live token for the scope (a
   * push token serves a pull of the same repository). A host known to issue tokens gets one for
   * a new scope before the request, so steady state is one round-trip per request.
   */
  private async knownAuth(host: string, scope: string, url: string): Promise<string | undefined> {
    if (this.basicHosts.has(host)) return basic(await this.o.credentials?.(host));
    if (!scope) return undefined;
    for (const key of [scope, ...(/:pull$/.test(scope) ? [`${scope},push`] : [])]) {
      const t = this.tokens.get(`${host}|${key}`);
      const got = t ? await t.catch(() => undefined) : undefined;
      if (got && got.expires > Date.now()) return `Bearer ${got.token}`;
    }
    const c = this.bearerHosts.get(host);
    return c ? this.authorize(host, c, scope, url) : undefined;
  }

  private async authorize(host: string, c: Challenge | undefined, scope: string, url: string, rejected?: string): Promise<string | undefined> {
    const cred = await this.o.credentials?.(host);
    if (!c || c.scheme === 'basic') {
      const b = basic(cred);
      if (b) this.basicHosts.add(host);
      return b;
    }
    this.bearerHosts.set(host, c);
    const key = `${host}|${scope}`;
    const prior = this.tokens.get(key);
    const fresh = prior ? await prior.catch(() => undefined) : undefined;
    // A token the registry just refused is not offered again, however long it claimed to live.
    if (fresh && fresh.expires > Date.now() && `Bearer ${fresh.token}` !== rejected) return `Bearer ${fresh.token}`;
    // Concurrent requests that found the same stale token share one new one.
    const again = this.tokens.get(key);
    if (again && again !== prior) return `Bearer ${(await again).token}`;
    const p = this.token(c, scope, cred, url);
    this.tokens.set(key, p);
    // A failed token request is not kept: the next request asks again.
    p.catch(() => {
      if (this.tokens.get(key) === p) this.tokens.delete(key);
    });
    return `Bearer ${(await p).token}`;
  }

  /** The bearer-token flow: GET the realm (Basic credentials, or anonymous), or POST a refresh token. */
  private async token(c: Extract<Challenge, { scheme: 'bearer' }>, scope: string, cred: Credential | undefined, url: string): Promise<{ token: string; expires: number }> {
    const realm = new URL(c.realm);
    if (realm.protocol !== 'https:' && !isLoopback(realm.host)) throw new RegistryError(`${url}: refusing to send credentials to the non-HTTPS token service ${realm.origin}`, { url, transient: false });
    const wanted = (scope || c.scope || '').split(' ').filter(Boolean);
    const params = new URLSearchParams();
    if (c.service) params.set('service', c.service);
    let res: Dispatcher.ResponseData;
    const deadline = AbortSignal.timeout(this.deadlineMs);
    const signal = this.o.signal ? AbortSignal.any([this.o.signal, deadline]) : deadline;
    this.spend(realm.origin);
    const issued = Date.now();
    try {
      if (cred?.identityToken) {
        params.set('grant_type', 'refresh_token');
        params.set('refresh_token', cred.identityToken);
        params.set('client_id', 'image-matrix-manager');
        // The OAuth2 form takes the scopes space-separated in one field.
        if (wanted.length) params.set('scope', wanted.join(' '));
        res = await request(realm.toString(), { method: 'POST', dispatcher: this.agent, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: params.toString(), signal });
      } else {
        for (const [k, v] of params) realm.searchParams.set(k, v);
        // The token spec's GET takes each scope as a `scope` parameter of its own.
        for (const w of wanted) realm.searchParams.append('scope', w);
        const b = basic(cred);
        res = await request(realm.toString(), { method: 'GET', dispatcher: this.agent, headers: b ? { authorization: b } : {}, signal });
      }
    } catch (e) {
      throw this.networkError(e, 'GET', realm.toString(), deadline);
    }
    let body: Buffer;
    try {
      body = await readBounded(res.body, MAX_ERROR_BYTES, realm.origin, true);
    } catch (e) {
      if (e instanceof RegistryError) throw e;
      throw this.networkError(e, 'GET', realm.toString(), deadline);
    }
    if (res.statusCode !== 200) {
      throw new RegistryError(`token service ${realm.origin}: HTTP ${res.statusCode}${cred ? ' (credentials refused)' : ''}`, { url: realm.origin, status: res.statusCode, transient: res.statusCode === 429 || res.statusCode >= 500 });
    }
    const doc = parseJson(() => JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string; expires_in?: number }, realm.origin);
    const token = doc.token ?? doc.access_token;
    if (!token) throw new RegistryError(`token service ${realm.origin} returned no token`, { url: realm.origin, transient: false });
    redactor.add(token);
    // The token spec's default lifetime is 60 s; renewed a little early (a tenth, at most 10 s),
    // so a token does not expire on the wire.
    const lifetime = (typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60) * 1000;
    return { token, expires: issued + lifetime - Math.min(10_000, lifetime / 10) };
  }
}

const pull = (repository: string) => `repository:${repository}:pull`;
const push = (repository: string) => `repository:${repository}:pull,push`;

const isStream = (b: Send['body']): b is Readable => b !== undefined && !Buffer.isBuffer(b);

function basic(c: Credential | undefined): string | undefined {
  if (!c?.username || c.password === undefined) return undefined;
  const value = Buffer.from(`${c.username}:${c.password}`).toString('base64');
  redactor.add(value);
  return `Basic ${value}`;
}

async function readBounded(body: Dispatcher.ResponseData['body'], max: number, url: string, strict: boolean): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      body.destroy();
      if (strict) throw new RegistryError(`${url}: response larger than ${max} bytes`, { url, transient: false });
      break;
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function parseJson<T>(read: () => T, url: string): T {
  try {
    return read();
  } catch (e) {
    throw new RegistryError(`${url}: not valid JSON (${(e as Error).message})`, { url, transient: false });
  }
}

/** The distribution API's `{errors: [{code, message}]}` body. */
function firstError(body: Buffer): { code?: string; message?: string } | undefined {
  try {
    const doc = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    return doc.errors?.[0];
  } catch {
    return undefined;
  }
}

const errorCode = (body: Buffer) => firstError(body)?.code;
const errorMessage = (body: Buffer) => firstError(body)?.message?.slice(0, 300);
