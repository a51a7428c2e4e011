// A build's full invocation (build args, labels, tags, cache, parent reference), built in one
// place: the real run, the dry run and the bake export all call this, so the argv a dry run
// prints and the target bake gets are the ones a run would use. Pure.
import { join } from 'node:path';
import { HASH_LABEL, TASK_LABEL, type BuildInvocation, type CacheOptions } from './buildx.ts';
import type { Plan } from './plan.ts';
import { stagingRef } from './staging.ts';
import type { BuildTask } from './task.ts';

export interface InvocationContext {
  plan: Plan;
  packageDir: string;
  stagingRepo: string;
  mode: 'push' | 'load';
  builder?: string;
  /** Whether the builder can export a layer cache (the classic docker driver cannot). */
  cacheExport: boolean;
  provenance?: string;
  sbom?: string;
  /** VCS revision of the spec (org.opencontainers.image.revision; not hashed). */
  revision?: string;
}

/** The cache location for a build: the spec's, with {placeholders} filled, or a per-image default. */
export function cacheFor(b: BuildTask, c: InvocationContext): CacheOptions | undefined {
  const spec = c.plan.spec.build.cache;
  if (!spec) return undefined;
  // Axis names never shadow these (core/axes.ts reserves them); validation checked every placeholder.
  const vars: Record<string, string> = { ...b.axes, registry: c.stagingRepo.split('/')[0]!, repository: c.stagingRepo, distro: b.distro, release: b.release, arch: b.arches.join('-') };
  const fill = (s: string) => s.replace(/(?<!\$)\{(\w+)\}/g, (m, k: string) => (Object.hasOwn(vars, k) ? vars[k]! : m));
  const location = spec.type === 'registry'
    ? fill(spec.ref ?? `${c.stagingRepo}:cache-{distro}-{release}-{arch}`)
    : fill(spec.dir ?? join(c.packageDir, '.cache', '{distro}-{release}-{arch}'));
  return { type: spec.type, location, mode: spec.mode, export: c.cacheExport };
}

/** Labels every image gets: the hash and task it was built for, and the OCI version and revision. */
export function buildLabels(b: BuildTask, c: Pick<InvocationContext, 'plan' | 'revision'>): Record<string, string> {
  const labels: Record<string, string> = { [HASH_LABEL]: b.hash.value, [TASK_LABEL]: b.id };
  if (c.plan.spec.version) labels['org.opencontainers.image.version'] = c.plan.spec.version;
  if (c.revision) labels['org.opencontainers.image.revision'] = c.revision;
  return labels;
}

/**
 * Build args as the build sees them: the spec's, floating args at their locked commits, and
 * the image to build FROM in the parent arg (the parent's exact staged image, or a root's base).
 */
export function buildArgsFor(b: BuildTask, parentArg: string, parentRef: string | undefined): Record<string, string> {
  const args: Record<string, string> = { ...b.buildArgs, ...b.floatingArgs };
  const from = b.parentBuild ? parentRef : b.baseImage;
  if (from !== undefined) args[parentArg] = from;
  return args;
}

export function buildInvocation(b: BuildTask, parentRef: string | undefined, c: InvocationContext, metadataFile?: string): BuildInvocation {
  return {
    contextDir: join(c.packageDir, b.context),
    platforms: b.platforms,
    buildArgs: buildArgsFor(b, c.plan.spec.build.parentArg, parentRef),
    tags: [stagingRef(c.stagingRepo, b)],
    labels: buildLabels(b, c),
    output: c.mode,
    builder: c.builder,
    cache: cacheFor(b, c),
    provenance: c.provenance,
    sbom: c.sbom,
    metadataFile,
  };
}
