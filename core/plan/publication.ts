// The publication record: what a finished manifest task leaves in the staging repository, as
// the state file does on one machine. One small manifest under `pub-<manifest hash>` names the
// staged image of each build, the tests that passed on them, and the index the public tags now
// point at; a fresh runner learns all of a published image's facts from one registry request.
// Pure: the record's bytes are built and read here.
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
