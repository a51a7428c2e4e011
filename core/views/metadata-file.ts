// `build --metadata-file FILE`, in bake's shape: one key per target, holding bake's keys
// (`image.name`, `containerimage.digest`), so jq paths written for bake's file
// (`.["<target>"]["containerimage.digest"]`) work; what bake lacks (every ref, the per-platform
// images, hashes, cache refs) sits inside each target's object. Pure: built from the plan and
// the run's results, for the steps after a run (signing, deploys, release notes).
import { cacheFromList, cacheToList } from '../buildx/argv.ts';
import { cacheFor, cacheOverrideFor, type InvocationContext } from '../buildx/invocation.ts';
import type { Plan } from '../plan/plan.ts';
import type { BuildTask, ManifestTask } from '../plan/task.ts';
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
  /** The image's variant (`debian11/runtime/py3.9`): what the target name was made from. */
  variant: string;
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

/** Not a target (a target name has no dot, as bake's `buildx.build.warnings` is not one either). */
export const RUN_KEY = 'manager.run';

export interface RunMetadata {
  schemaVersion: 2;
  package: string;
  version: string | null;
}

export type MetadataFile = { [RUN_KEY]: RunMetadata } & Record<string, ImageMetadata | RunMetadata>;

/**
 * An image's target name: its variant and architectures as bake names targets (letters,
 * digits, `_`, `-`). The bake export's target of the image when it is built as one
 * multi-platform build; with one build per platform, those targets are its `platforms`.
 */
export function imageTargetName(m: ManifestTask, plan: Plan): string {
  const arches = m.builds.flatMap((id) => (plan.tasks.get(id) as BuildTask | undefined)?.arches ?? []);
  return `${m.variant}/${[...new Set(arches)].join('+')}`.replace(/[^A-Za-z0-9_-]+/g, '_');
}

/** One target per selected image (manifest task) the run touched. */
export function metadataFile(plan: Plan, results: readonly TaskResult[], ctx: InvocationContext): MetadataFile {
  const byId = new Map(results.map((r) => [r.id, r]));
  const doc: MetadataFile = { [RUN_KEY]: { schemaVersion: 2, package: plan.spec.package, version: plan.spec.version ?? null } };
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
    doc[imageTargetName(m, plan)] = {
      'image.name': m.refs.join(','),
      ...(res?.digest ? { 'containerimage.digest': res.digest } : {}),
      variant: m.variant,
      refs: m.refs,
      ...(res?.digest ? { digest: res.digest } : {}),
      hash: m.hash.value,
      ...(res ? { status: res.status } : {}),
      platforms,
    };
  }
  return doc;
}
