// `build --metadata-file FILE`, as bake's: what each image of the run is, for the steps after
// it (signing, deploys, release notes). Pure: built from the plan and the run's results.
import { cacheFromList, cacheToList } from '../buildx/argv.ts';
import { cacheFor, cacheOverrideFor, type InvocationContext } from '../buildx/invocation.ts';
import type { Plan } from '../plan/plan.ts';
import type { BuildTask } from '../plan/task.ts';
import type { TaskResult } from './result.ts';

export interface PlatformImage {
  /** The per-platform image as built (staging reference with digest). */
  ref?: string;
  digest?: string;
  /** The build's hash, as its org.image-matrix.hash label says. */
  hash: string;
  status: TaskResult['status'];
  cacheFrom: string[];
  cacheTo: string[];
}

export interface ImageMetadata {
  /** bake's keys, for tools that read its metadata file. */
  'image.name': string;
  'containerimage.digest'?: string;
  /** Every public reference of the image. */
  refs: string[];
  /** The index digest its tags point at (when known: published or found in this run). */
  digest?: string;
  /** The manifest task's hash (its builds' hashes and its tags). */
  hash: string;
  /** The merge's status; absent when the run did not include it (e.g. a platform filter). */
  status?: TaskResult['status'];
  platforms: Record<string, PlatformImage>;
}

export interface MetadataFile {
  schemaVersion: 1;
  package: string;
  version: string | null;
  images: Record<string, ImageMetadata>;
}

/** One entry per selected image (manifest task), keyed by its variant (`debian11/runtime/py3.9`). */
export function metadataFile(plan: Plan, results: readonly TaskResult[], ctx: InvocationContext): MetadataFile {
  const byId = new Map(results.map((r) => [r.id, r]));
  const images: Record<string, ImageMetadata> = {};
  for (const id of plan.order) {
    const m = plan.tasks.get(id)!;
    if (m.kind !== 'manifest') continue;
    const res = byId.get(id);
    // An image is listed when its merge or any of its builds was part of the run (a platform
    // filter builds images whose index is not published).
    if (!res && !m.builds.some((b) => byId.has(b))) continue;
    const platforms: Record<string, PlatformImage> = {};
    for (const bid of m.builds) {
      const b = plan.tasks.get(bid) as BuildTask;
      const br = byId.get(bid);
      if (!br) continue; // a platform this run did not include
      const inv = { cache: cacheFor(b, ctx), cacheOverride: cacheOverrideFor(b, ctx) };
      const entry: PlatformImage = { hash: b.hash.value, status: br.status, cacheFrom: cacheFromList(inv), cacheTo: cacheToList(inv) };
      if (br.ref) entry.ref = br.ref;
      if (br.digest) entry.digest = br.digest;
      for (const p of b.platforms) platforms[p] = entry;
    }
    images[m.variant] = {
      'image.name': m.refs.join(','),
      ...(res?.digest ? { 'containerimage.digest': res.digest, digest: res.digest } : {}),
      refs: m.refs,
      hash: m.hash.value,
      ...(res ? { status: res.status } : {}),
      platforms,
    };
  }
  return { schemaVersion: 1, package: plan.spec.package, version: plan.spec.version ?? null, images };
}
