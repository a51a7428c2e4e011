// The publication record: what a finished manifest task leaves in the staging repository, as
// the state file does on one machine. One small manifest under `pub-<manifest hash>` names the
// staged image of each build, the tests that passed on them, and the index the public tags now
// point at; a fresh runner learns all of a published image's facts from one registry request.
// The summary gathers the records of every run of a package in one content-addressed blob,
// behind one tag per package, so a fresh runner learns the whole family in a constant number
// of requests; the per-image record stays the fallback for whatever the summary lacks.
// Pure: the bytes of both are built and read here.
import { combine, sha256 } from '../base/hash.ts';
import { MEDIA } from '../base/manifest.ts';
import type { ManifestTask, Task } from './task.ts';

export const EMPTY_CONFIG = Buffer.from('{}');
export const RECORD_CONFIG_TYPE = 'application/vnd.image-matrix.publication.v1+json';
const KEY = 'org.image-matrix.publication';

export interface Publication {
  /** The manifest task's hash: its refs and its builds' hashes. */
  manifest: string;
  /** The tests gating it, as one hash (see testsHash). */
  tests: string;
  /** Build id → the digest of its staged image. */
  builds: Record<string, string>;
  /** The digest the public tags were set to. */
  published: string;
}

/** One hash for the tests that gate a manifest: the record covers them only while it matches. */
export function testsHash(m: ManifestTask, tasks: Map<string, Task>): string {
  const ids = m.deps.filter((id) => tasks.get(id)?.kind === 'test').sort();
  return combine(Object.fromEntries(ids.map((id) => [id, tasks.get(id)!.hash.value]))).value;
}

/** An OCI image manifest with no layers whose annotation carries the record (and when, for prune). */
export function recordManifest(p: Publication, created: string): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: RECORD_CONFIG_TYPE, digest: `sha256:${sha256(EMPTY_CONFIG)}`, size: EMPTY_CONFIG.length },
    layers: [],
    annotations: { [KEY]: JSON.stringify(p), 'org.opencontainers.image.created': created },
  }));
}

/** The record in a manifest, when it is one and well formed. */
export function readRecord(doc: { annotations?: Record<string, string> }): Publication | undefined {
  const text = doc.annotations?.[KEY];
  if (!text) return undefined;
  try {
    const p = JSON.parse(text) as Publication;
    const ok = typeof p.manifest === 'string' && typeof p.tests === 'string' && typeof p.published === 'string' && p.builds && typeof p.builds === 'object';
    return ok ? p : undefined;
  } catch {
    return undefined;
  }
}

export const SUMMARY_CONFIG_TYPE = 'application/vnd.image-matrix.publications.v1+json';
const SUMMARY_FORMAT = 1;

/** One manifest task's last publication, as the summary keeps it: the record, and when it was made. */
export interface SummaryEntry extends Publication {
  /** When the tags were set (ISO): of two entries for one task, the later one stands. */
  at: string;
}

/** Manifest task id → its last publication. */
export interface Summary {
  package: string;
  entries: Record<string, SummaryEntry>;
}

const isDigest = (x: unknown) => typeof x === 'string' && /^sha256:[0-9a-f]{64}$/.test(x);

function validEntry(e: unknown): e is SummaryEntry {
  const x = e as SummaryEntry;
  return !!x && typeof x === 'object' && typeof x.manifest === 'string' && typeof x.tests === 'string' && isDigest(x.published)
    && typeof x.at === 'string' && !Number.isNaN(Date.parse(x.at))
    && !!x.builds && typeof x.builds === 'object' && !Array.isArray(x.builds) && Object.values(x.builds).every(isDigest);
}

/** The summary's blob: canonical JSON (sorted ids), so the same summary is the same digest. */
export function summaryBlob(s: Summary): Buffer {
  const entries = Object.fromEntries(Object.keys(s.entries).sort().map((id) => [id, s.entries[id]!]));
  return Buffer.from(JSON.stringify({ format: SUMMARY_FORMAT, package: s.package, entries }));
}

/**
 * The summary in a blob, when it is one of this package's: a malformed entry is dropped alone
 * (it names nothing, so the fallback asks for it); anything else malformed reads as no summary.
 */
export function readSummaryBlob(bytes: Buffer, pkg: string): Summary | undefined {
  let doc: { format?: unknown; package?: unknown; entries?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch {
    return undefined;
  }
  if (!doc || doc.format !== SUMMARY_FORMAT || doc.package !== pkg || !doc.entries || typeof doc.entries !== 'object' || Array.isArray(doc.entries)) return undefined;
  const entries: Record<string, SummaryEntry> = {};
  for (const [id, e] of Object.entries(doc.entries as Record<string, unknown>)) if (validEntry(e)) entries[id] = e;
  return { package: pkg, entries };
}

/** An OCI manifest with no layers whose config is the summary blob: the tag points at this. */
export function summaryManifest(blob: { digest: string; size: number }, created: string): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: SUMMARY_CONFIG_TYPE, digest: blob.digest, size: blob.size },
    layers: [],
    annotations: { 'org.opencontainers.image.created': created },
  }));
}

/** The summary blob a manifest names, when it is a summary manifest. */
export function summaryConfig(doc: { config?: { mediaType?: string; digest?: string; size?: number } }): { digest: string; size: number } | undefined {
  const c = doc.config;
  return c?.mediaType === SUMMARY_CONFIG_TYPE && isDigest(c.digest) && typeof c.size === 'number' ? { digest: c.digest!, size: c.size } : undefined;
}

/**
 * What a writer leaves: what it read with its own entries merged in, per task the later of the
 * two. Another run's entries stay, so runs that publish disjoint parts of a family add up.
 */
export function mergeSummary(pkg: string, base: Summary | undefined, add: Record<string, SummaryEntry>): Summary {
  const entries = { ...(base?.entries ?? {}) };
  for (const [id, e] of Object.entries(add)) {
    const was = entries[id];
    if (!was || Date.parse(e.at) >= Date.parse(was.at)) entries[id] = e;
  }
  return { package: pkg, entries };
}

/**
 * The summary's word on one manifest task at its current hash: its publication (believed only
 * for that exact hash); `superseded` when the summary names a later publication of the task
 * with another hash (a per-image record of this hash older than that says what the tags no
 * longer hold); `unknown` when it says nothing.
 */
export function summaryLookup(s: Summary | undefined, m: { id: string; hash: { value: string } }): { state: 'found'; publication: Publication } | { state: 'superseded'; at: string } | { state: 'unknown' } {
  const e = s?.entries[m.id];
  if (!e) return { state: 'unknown' };
  if (e.manifest !== m.hash.value) return { state: 'superseded', at: e.at };
  const { at: _at, ...publication } = e;
  return { state: 'found', publication };
}
