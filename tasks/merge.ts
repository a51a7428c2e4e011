// A manifest task's index step (core/buildx/steps.ts) done through the registry API, with no
// process per merge: read the sources, build the index (core/buildx/oci-index.ts), then, for
// each repository the tags name, make every blob and manifest the index reaches present
// (registries/copy.ts) before the index goes under its tags. Children are in place before any
// index names them, so the push race `imagetools create` has across tags cannot happen.
import { formatImageRef, parseImageRef, type ImageRef } from '../core/base/image-ref.ts';
import { isIndex, type ManifestDoc, type Platform } from '../core/base/manifest.ts';
import { ociIndex, type IndexSource } from '../core/buildx/oci-index.ts';
import type { IndexStep } from '../core/buildx/steps.ts';
import { RepositoryCopier, type BlobOutcome, type Place } from '../registries/copy.ts';
import { RegistryError, type RegistryClient } from '../registries/distribution.ts';

/** An index inside an index inside a source is as deep as images go; deeper is refused, not followed. */
const MAX_DEPTH = 2;

/** One manifest the published index reaches, where it lives now, and what it reaches in turn. */
interface Node {
  place: Place;
  digest: string;
  mediaType: string;
  body: Buffer;
  doc: ManifestDoc;
  children: Node[];
}

export interface MergeOutcome {
  digest: string;
  mediaType: string;
  blobs: Record<BlobOutcome, number>;
  /** Manifests PUT by digest (those already there are not counted). */
  manifests: number;
}

/** One copier per client, so every merge of a run shares what it learned about each repository. */
const copiers = new WeakMap<RegistryClient, RepositoryCopier>();

export function copierFor(client: RegistryClient, signal?: AbortSignal): RepositoryCopier {
  let c = copiers.get(client);
  if (!c) copiers.set(client, (c = new RepositoryCopier(client, { signal })));
  return c;
}

const fail = (message: string, ref: string) => new RegistryError(message, { url: ref, transient: false });

async function load(client: RegistryClient, ref: ImageRef, depth: number): Promise<Node> {
  const m = await client.manifest(ref);
  if (!m) throw fail(`${formatImageRef(ref)} is not in the registry: nothing to publish from`, formatImageRef(ref));
  const place = { host: ref.host, repository: ref.repository };
  let children: Node[] = [];
  if (isIndex(m.mediaType)) {
    if (depth >= MAX_DEPTH) throw fail(`${formatImageRef(ref)}: an index nested deeper than ${MAX_DEPTH} levels`, formatImageRef(ref));
    children = await Promise.all((m.doc.manifests ?? []).map((e) => load(client, { ...ref, tag: undefined, digest: e.digest }, depth + 1)));
  }
  return { place, digest: m.digest, mediaType: m.mediaType, body: m.body, doc: m.doc, children };
}

/** An image manifest's platform, from its config, for the entry a merged index gives it. */
async function platformOf(client: RegistryClient, n: Node): Promise<Platform | undefined> {
  const config = n.doc.config?.digest;
  if (!config) return undefined;
  const c = await client.config(n.place.host, n.place.repository, config);
  return c.os && c.architecture ? { os: c.os, architecture: c.architecture, ...(c.variant ? { variant: c.variant } : {}) } : undefined;
}

/** The blobs an image manifest names that a registry keeps (foreign layers, with URLs, live elsewhere). */
function blobsOf(doc: ManifestDoc): { digest: string; size: number }[] {
  const layers = (Array.isArray(doc.layers) ? doc.layers : []) as { digest?: string; size?: number; urls?: string[] }[];
  const all = [doc.config, ...layers].filter((b): b is { digest: string; size: number; urls?: string[] } => !!b && typeof b.digest === 'string' && typeof b.size === 'number');
  return all.filter((b) => !b.urls?.length);
}

/**
 * Publishes the step's tags. Every tag of one repository is written only once all the index
 * reaches is there; what a failure leaves behind is content by digest (harmless) and the tags
 * already moved, which the caller puts back (tasks/tag-rollback.ts).
 */
export async function publishIndex(client: RegistryClient, step: IndexStep, log: (line: string) => void, copier = copierFor(client)): Promise<MergeOutcome> {
  const sources = await Promise.all(step.sources.map((s) => load(client, parseImageRef(s), 0)));
  // One source that is an index (a single-mode build's own) is copied byte for byte, so the
  // public tag keeps the digest the build produced. One image manifest (a split build of one
  // platform) goes under an index of one, as `imagetools create` puts it: a public tag is an
  // index whatever the number of platforms, and its entry names the platform.
  let top: { digest: string; mediaType: string; body: Buffer } = sources[0]!;
  let reached: Node[] = [];
  const copied = sources.length === 1 && isIndex(sources[0]!.mediaType);
  if (!copied) {
    const inputs: IndexSource[] = await Promise.all(
      sources.map(async (s) => ({ mediaType: s.mediaType, digest: s.digest, size: s.body.length, doc: s.doc, ...(isIndex(s.mediaType) ? {} : { platform: await platformOf(client, s) }) })),
    );
    try {
      top = ociIndex(inputs, step.annotations);
    } catch (e) {
      throw fail(`the index of ${step.sources.join(', ')}: ${(e as Error).message}`, step.sources[0]!);
    }
    // A source index is not published itself: its entries are, under the new index.
    reached = sources.flatMap((s) => (isIndex(s.mediaType) ? s.children : [s]));
  }

  const counts: Record<BlobOutcome, number> = { present: 0, mounted: 0, copied: 0 };
  let manifests = 0;
  /** The node's content in `to`: its blobs, or its children (each then PUT by digest). */
  const content = async (n: Node, to: Place): Promise<void> => {
    if (n.children.length) {
      await Promise.all(n.children.map((c) => present(c, to)));
      return;
    }
    const outcomes = await Promise.all(blobsOf(n.doc).map((b) => copier.blob(n.place, to, b, log)));
    for (const o of outcomes) counts[o]++;
  };
  const present = async (n: Node, to: Place): Promise<void> => {
    await content(n, to);
    if ((await copier.manifest(to, n, log)) === 'put') manifests++;
  };

  const byRepo = new Map<string, { to: Place; tags: ImageRef[] }>();
  for (const tag of step.tags) {
    const r = parseImageRef(tag);
    const key = `${r.host}/${r.repository}`;
    const group = byRepo.get(key) ?? byRepo.set(key, { to: { host: r.host, repository: r.repository }, tags: [] }).get(key)!;
    group.tags.push(r);
  }
  await Promise.all(
    [...byRepo.values()].map(async ({ to, tags }) => {
      if (copied) await content(sources[0]!, to);
      else await Promise.all(reached.map((n) => present(n, to)));
      for (const t of tags) {
        await client.putManifest(t.host, t.repository, t.tag!, top.mediaType, top.body);
        log(`put ${formatImageRef(t)} at ${top.digest}`);
      }
    }),
  );
  return { digest: top.digest, mediaType: top.mediaType, blobs: counts, manifests };
}
