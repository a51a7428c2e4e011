// Making blobs and manifests present in another repository through the registry API, the way
// a merge needs them before it PUTs an index: HEAD first; on the same host a cross-repository
// mount (the bytes never leave the registry); elsewhere, or where the registry declines to
// mount, a copy. Small blobs are read into a bounded buffer; large ones are streamed from the
// source's GET into the target's PUT, never held in memory.
import pLimit from 'p-limit';
import { retry } from '../core/base/retry.ts';
import { RegistryError, type RegistryClient } from './distribution.ts';

/**
 * Blobs at most this large are copied through memory (read whole, digest checked, PUT with
 * the client's retries); larger ones are streamed. A source that sends more than this for a
 * blob it described as small is refused with an error, never buffered.
 */
export const SMALL_BLOB_BYTES = 4 << 20;
/** Large blobs streamed at once: each holds two connections open for as long as its bytes take. */
export const STREAMS_AT_ONCE = 4;
/** Tries of one blob copy: a stream cut half-way starts again from its first byte, in a new upload. */
export const COPY_ATTEMPTS = 3;

export interface Place {
  host: string;
  repository: string;
}

export type BlobOutcome = 'present' | 'mounted' | 'copied';

export interface CopyOptions {
  signal?: AbortSignal;
  /** Pause before a blob copy's next try (tests make it short). */
  retryBaseMs?: number;
}

const where = (p: Place) => `${p.host}/${p.repository}`;

/**
 * One run's copies: what each repository is known to hold is remembered, so two hundred merges
 * that share a base image's layers ask about each layer once per repository, and concurrent
 * merges wait for the one copy in flight instead of starting their own.
 */
export class RepositoryCopier {
  private readonly known = new Map<string, Promise<BlobOutcome | 'put'>>();
  private readonly streams = pLimit(STREAMS_AT_ONCE);

  constructor(private readonly client: RegistryClient, private readonly o: CopyOptions = {}) {}

  private once<T extends BlobOutcome | 'put'>(key: string, work: () => Promise<T>): Promise<T> {
    const had = this.known.get(key);
    if (had) return had as Promise<T>;
    const p = work();
    this.known.set(key, p);
    // A failure is not remembered: the next merge that needs the blob tries again.
    p.catch(() => {
      if (this.known.get(key) === p) this.known.delete(key);
    });
    return p;
  }

  /** Makes the blob present in `to`, from `from`; says how (already there, mounted, or copied). */
  blob(from: Place, to: Place, d: { digest: string; size: number }, log: (line: string) => void = () => {}): Promise<BlobOutcome> {
    return this.once(`blob ${where(to)}@${d.digest}`, async () => {
      if (await this.client.hasBlob(to.host, to.repository, d.digest)) return 'present';
      if (from.host === to.host) {
        const m = await this.client.mountBlob(to.host, to.repository, from.repository, d.digest);
        if (m.mounted) {
          log(`mounted blob ${d.digest} from ${from.repository}`);
          return 'mounted';
        }
        log(`the registry did not mount blob ${d.digest} from ${from.repository} (HTTP 202): copying it`);
        await this.copy(from, to, d, log, m.session);
      } else await this.copy(from, to, d, log);
      log(`copied blob ${d.digest} (${d.size} bytes) from ${where(from)}`);
      return 'copied';
    });
  }

  /** Makes the manifest present in `to` under its digest; `present` when it already was. */
  manifest(to: Place, m: { digest: string; mediaType: string; body: Buffer }, log: (line: string) => void = () => {}): Promise<'present' | 'put'> {
    return this.once(`manifest ${where(to)}@${m.digest}`, async () => {
      if (await this.client.head({ host: to.host, repository: to.repository, digest: m.digest })) return 'present';
      await this.client.putManifest(to.host, to.repository, m.digest, m.mediaType, m.body);
      log(`put manifest ${m.digest} (${m.mediaType})`);
      return 'put';
    });
  }

  /**
   * The blob's bytes from one repository to another, in an upload session (the one a declined
   * mount opened, on the first try). A try that fails on the way (the source cut off, the
   * target refusing for a passing reason) is started again from the first byte in a new session.
   */
  private copy(from: Place, to: Place, d: { digest: string; size: number }, log: (line: string) => void, opened?: Awaited<ReturnType<RegistryClient['startUpload']>>): Promise<void> {
    const what = `the copy of blob ${d.digest} from ${where(from)} to ${where(to)}`;
    const once = async (attempt: number) => {
      const session = attempt === 1 && opened ? opened : await this.client.startUpload(to.host, to.repository);
      if (d.size <= SMALL_BLOB_BYTES) {
        const body = await this.client.blob(from.host, from.repository, d.digest, SMALL_BLOB_BYTES);
        if (!body) throw new RegistryError(`${where(from)}: blob ${d.digest} is not there to copy`, { url: where(from), transient: false });
        await this.client.uploadBlob(to.host, to.repository, d.digest, body, body.length, session);
        return;
      }
      await this.streams(async () => {
        const src = await this.client.openBlob(from.host, from.repository, d.digest);
        if (!src) throw new RegistryError(`${where(from)}: blob ${d.digest} is not there to copy`, { url: where(from), transient: false });
        try {
          if (src.length !== undefined && src.length !== d.size) {
            throw new RegistryError(`${where(from)}: blob ${d.digest} is ${src.length} bytes, its descriptor says ${d.size}`, { url: where(from), transient: false });
          }
          // The target checks the bytes against the digest the PUT names.
          await this.client.uploadBlob(to.host, to.repository, d.digest, src.stream, d.size, session);
        } finally {
          src.stream.destroy();
        }
      });
    };
    return retry(once, {
      what,
      attempts: COPY_ATTEMPTS,
      baseMs: this.o.retryBaseMs ?? 500,
      signal: this.o.signal,
      log,
      retryable: (e) => e instanceof RegistryError && e.info.transient && !e.info.unreachable,
      delayFor: (e) => (e instanceof RegistryError ? e.info.retryAfterMs : undefined),
    }).catch((e: unknown) => {
      if (e instanceof RegistryError) throw new RegistryError(`${what} failed: ${e.message}`, e.info);
      throw e;
    });
  }
}
