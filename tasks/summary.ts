// The publication summary in the registry (core/plan/publication.ts): read once by a run with no
// state file, so a no-op costs a constant number of requests however large the family; written
// by runs that publish, merged with what is there so runs publishing disjoint parts add up.
// Best effort on both sides: the per-image records stay, and a failed or lost write costs the
// next fresh runner only the per-image lookups of what it lacks.
import { parseImageRef } from '../core/base/image-ref.ts';
import { MEDIA } from '../core/base/manifest.ts';
import { mergeSummary, readSummaryBlob, summaryBlob, summaryConfig, summaryLookup, summaryManifest, type Summary, type SummaryEntry } from '../core/plan/publication.ts';
import type { Plan } from '../core/plan/plan.ts';
import { summaryTag } from '../core/plan/staging.ts';
import { RegistryError, type RegistryClient } from '../registries/distribution.ts';

/** A summary past this is not read (about 100,000 images' worth). */
export const MAX_SUMMARY_BYTES = 64 << 20;
/** Writes that find another writer's summary under the tag right after theirs merge again, this many times at most. */
const MERGE_ROUNDS = 3;

/** The summary under the package's tag, with the digest of the manifest the tag pointed at; undefined when there is none or it is not a summary. */
export async function readSummary(client: RegistryClient, stagingRepo: string, pkg: string): Promise<{ summary: Summary; digest: string } | undefined> {
  const repo = parseImageRef(stagingRepo);
  const found = await client.manifest({ host: repo.host, repository: repo.repository, tag: summaryTag(pkg) });
  const blob = found ? summaryConfig(found.doc as Parameters<typeof summaryConfig>[0]) : undefined;
  if (!found || !blob || blob.size > MAX_SUMMARY_BYTES) return undefined;
  const bytes = await client.blob(repo.host, repo.repository, blob.digest, MAX_SUMMARY_BYTES);
  const summary = bytes ? readSummaryBlob(bytes, pkg) : undefined;
  return summary ? { summary, digest: found.digest } : undefined;
}

/**
 * Merges entries into the summary: read what the tag holds, add ours, write the blob and then
 * the tag, then look again. Without a conditional PUT two writers can race; one that finds
 * another's summary under the tag right after its own merges again, so a lost update needs a
 * writer that lands in the gap of one request, and costs only fallback lookups.
 */
export async function writeSummary(client: RegistryClient, stagingRepo: string, pkg: string, add: Record<string, SummaryEntry>, known?: { summary: Summary; digest: string }): Promise<{ summary: Summary; digest: string }> {
  const repo = parseImageRef(stagingRepo);
  const tag = summaryTag(pkg);
  let current = known;
  for (let round = 0; ; round++) {
    // What this writer left last time is still there: no need to read it back.
    const head = await client.head({ host: repo.host, repository: repo.repository, tag });
    if (!head) current = undefined;
    else if (head.digest !== current?.digest) current = await readSummary(client, stagingRepo, pkg);
    const merged = mergeSummary(pkg, current?.summary, add);
    const blob = summaryBlob(merged);
    const digest = await client.putBlob(repo.host, repo.repository, blob);
    const manifest = summaryManifest({ digest, size: blob.length }, new Date().toISOString());
    const written = { summary: merged, digest: await client.putManifest(repo.host, repo.repository, tag, MEDIA.ociManifest, manifest) };
    const after = await client.head({ host: repo.host, repository: repo.repository, tag });
    if (!after || after.digest === written.digest || round + 1 >= MERGE_ROUNDS) return written;
    current = undefined;
  }
}

/**
 * One run's summary writes: entries that arrive while a write is on the wire go together in
 * the next, so a run that publishes a thousand manifests writes the summary a few dozen times,
 * not a thousand. Each caller's promise settles when a write that holds its entry has.
 */
export class SummaryWriter {
  private pending: Record<string, SummaryEntry> = {};
  private flight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private last: { summary: Summary; digest: string } | undefined;

  constructor(private readonly client: RegistryClient, private readonly stagingRepo: string, private readonly pkg: string) {}

  add(id: string, entry: SummaryEntry): Promise<void> {
    this.pending[id] = entry;
    return this.schedule();
  }

  private schedule(): Promise<void> {
    if (!this.flight) {
      this.flight = this.write().finally(() => (this.flight = undefined));
      return this.flight;
    }
    this.queued ??= this.flight.catch(() => {}).then(() => {
      this.queued = undefined;
      return this.schedule();
    });
    return this.queued;
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    this.pending = {};
    try {
      this.last = await writeSummary(this.client, this.stagingRepo, this.pkg, batch, this.last);
    } catch (e) {
      this.last = undefined;
      throw e;
    }
  }
}

const writers = new WeakMap<object, SummaryWriter>();

/** The run's writer (one per run, so its writes coalesce). */
export function summaryWriter(run: object, client: RegistryClient, stagingRepo: string, pkg: string): SummaryWriter {
  let w = writers.get(run);
  if (!w) writers.set(run, (w = new SummaryWriter(client, stagingRepo, pkg)));
  return w;
}

/**
 * Whether the package's summary shows every build and manifest of a plan published at its
 * current hash: then a fresh runner's no-op needs no builder, as a state file's does. Any doubt
 * (no summary, an entry missing or of another hash, a failed lookup) says no, and the builder
 * is asked as before.
 */
export async function publishedPerSummary(plan: Plan, client: RegistryClient, stagingRepo: string): Promise<boolean> {
  let found: { summary: Summary } | undefined;
  try {
    found = await readSummary(client, stagingRepo, plan.spec.package);
  } catch (e) {
    if (e instanceof RegistryError) return false;
    throw e;
  }
  if (!found) return false;
  const published = new Set<string>();
  let manifests = 0;
  for (const t of plan.tasks.values()) {
    if (t.kind !== 'manifest' || !t.refs.length) continue;
    manifests++;
    const said = summaryLookup(found.summary, t);
    if (said.state !== 'found') return false;
    for (const id of t.builds) if (said.publication.builds[id]) published.add(id);
  }
  for (const t of plan.tasks.values()) if (t.kind === 'build' && !published.has(t.id)) return false;
  return manifests > 0;
}
