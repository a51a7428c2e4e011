// A build's full invocation (build args, labels, tags, cache, parent reference), built in one
// place: the real run, the dry run and the bake export all call this, so the argv a dry run
// prints and the target bake gets are the ones a run would use. Pure.
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import type { BuildSecret, SshMount } from '../load/spec.ts';
import { parseImageRef } from '../base/image-ref.ts';
import { HASH_LABEL, TASK_LABEL, imagetoolsCreateArgv, type BuildInvocation, type CacheOptions, type CacheOverride } from './argv.ts';
import type { Plan } from '../plan/plan.ts';
import { indexAnnotationMap, indexAnnotations, ociLabels } from './oci-labels.ts';
import { stagingRef } from '../plan/staging.ts';
import type { BuildTask, ManifestTask } from '../plan/task.ts';

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
  /** Whether GitHub's cache service is reachable (its token in the environment): a gha cache needs it. */
  ghaAvailable?: boolean;
  /** `--cache-from` / `--cache-to` (buildx syntax; the cache placeholders expand per build). */
  cacheOverride?: CacheOverride;
  /** `--pull` / `--no-cache`: passed to every build that runs; not inputs, so not hashed. */
  pull?: boolean;
  noCache?: boolean;
  /** VCS revision of the spec (org.opencontainers.image.revision; not hashed). */
  revision?: string;
  /** The repository's web address (source and url labels) and the commit's time (created); not hashed. */
  source?: string;
  created?: string;
  /** `build --secret` / `--ssh` (buildx syntax), for every build beside the spec's own; not hashed. */
  secrets?: string[];
  ssh?: string[];
  /**
   * How manifest tasks publish: through the registry API (default), or one `docker buildx
   * imagetools create` per wave, for a registry whose API path misbehaves.
   */
  merge?: 'api' | 'imagetools';
}

/**
 * The build's key among its family: distro, release, every axis value and the architecture, so
 * four Python builds of one release never share (and overwrite) one cache.
 */
export function cacheKey(b: BuildTask, sep = '-'): string {
  return [b.distro, b.release, ...Object.values(b.axes), b.arches.join('+')].join(sep);
}

/** A tag is [A-Za-z0-9_.-], at most 128 characters: long keys keep a readable head and a hash. */
function asTag(s: string): string {
  const clean = s.replace(/[^A-Za-z0-9_.-]/g, '-');
  return clean.length <= 128 ? clean : `${clean.slice(0, 111)}-${createHash('sha256').update(clean).digest('hex').slice(0, 16)}`;
}

function cacheVars(b: BuildTask, c: Pick<InvocationContext, 'stagingRepo'>): Record<string, string> {
  // Axis names never shadow these (core/load/axes.ts reserves them); validation checked every placeholder.
  return { ...b.axes, registry: c.stagingRepo.split('/')[0]!, repository: c.stagingRepo, distro: b.distro, release: b.release, arch: b.arches.join('-') };
}

const fillWith = (vars: Record<string, string>) => (s: string) => s.replace(/(?<!\$)\{(\w+)\}/g, (m, k: string) => (Object.hasOwn(vars, k) ? vars[k]! : m));

/** The cache location for a build: the spec's, with {placeholders} filled, or a per-image default. */
export function cacheFor(b: BuildTask, c: InvocationContext): CacheOptions | undefined {
  const spec = c.plan.spec.build.cache;
  if (!spec) return undefined;
  // buildx fails a build whose gha cache it cannot reach: without the service, or on the classic
  // docker driver (which has no gha importer), the build goes without a layer cache instead.
  if (spec.type === 'gha' && (!c.cacheExport || c.ghaAvailable === false)) return undefined;
  const fill = fillWith(cacheVars(b, c));
  const location =
    spec.type === 'registry' ? (spec.ref ? fill(spec.ref) : `${c.stagingRepo}:${asTag(`cache-${cacheKey(b)}`)}`)
    : spec.type === 'gha' ? (spec.scope ? fill(spec.scope) : `${c.plan.spec.package}-${cacheKey(b)}`)
    : spec.dir ? fill(spec.dir) : join(c.packageDir, '.cache', cacheKey(b, '/'));
  return { type: spec.type, location, mode: spec.mode, export: c.cacheExport };
}

/** `--cache-from` / `--cache-to` for one build, placeholders filled; none to write where the builder cannot export. */
export function cacheOverrideFor(b: BuildTask, c: InvocationContext): CacheOverride | undefined {
  if (!c.cacheOverride) return undefined;
  const fill = fillWith(cacheVars(b, c));
  return { from: c.cacheOverride.from.map(fill), to: c.cacheExport ? c.cacheOverride.to.map(fill) : [] };
}

/** Labels every image gets: the OCI ones (core/buildx/oci-labels.ts), and the hash and task it was built for. */
export function buildLabels(b: BuildTask, c: Pick<InvocationContext, 'plan' | 'revision' | 'source' | 'created'>): Record<string, string> {
  return { ...ociLabels(c.plan.spec, { revision: c.revision, source: c.source, created: c.created }), [HASH_LABEL]: b.hash.value, [TASK_LABEL]: b.id };
}

/**
 * A merge's tags in two waves: the first tag of each repository, then all the others. buildx
 * pushes every tag of one call at once, each copying the platform manifests before its index,
 * and two pushes into one repository race (an index PUT answered 400 because the other push's
 * copy has not landed). In the second wave every repository already holds them.
 */
export function mergeWaves(refs: string[]): string[][] {
  const first = new Map<string, string>();
  const rest: string[] = [];
  for (const ref of refs) {
    const r = parseImageRef(ref);
    const repo = `${r.host}/${r.repository}`;
    if (first.has(repo)) rest.push(ref);
    else first.set(repo, ref);
  }
  return [[...first.values()], rest].filter((w) => w.length > 0);
}

/**
 * A manifest task's merge through the registry API: its tags over the built images. One source
 * (a single-mode build's own index) is copied as it is, so the public tag keeps the digest the
 * build produced; several become one OCI index with the OCI labels as its annotations, the same
 * values `imagetools create` is given.
 */
export function mergeIndex(m: ManifestTask, sources: string[], c: Pick<InvocationContext, 'plan' | 'revision' | 'source' | 'created'>): { sources: string[]; tags: string[]; annotations: Record<string, string> } {
  const annotations = sources.length > 1 ? indexAnnotationMap(ociLabels(c.plan.spec, { revision: c.revision, source: c.source, created: c.created })) : {};
  return { sources: [...sources], tags: [...m.refs], annotations };
}

/** The argv of each `imagetools create` a merge runs, wave by wave. */
export function mergeArgvs(m: ManifestTask, sources: string[], c: Pick<InvocationContext, 'plan' | 'builder' | 'revision' | 'source' | 'created'>): string[][] {
  // One source (a single-mode build's own index) is copied as it is, so the public tag keeps the
  // digest the build produced; annotating it would make a new index.
  const annotations = sources.length > 1 ? indexAnnotations(ociLabels(c.plan.spec, { revision: c.revision, source: c.source, created: c.created })) : [];
  return mergeWaves(m.refs).map((tags) => imagetoolsCreateArgv(tags, sources, c.builder, annotations));
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
    // Only a per-file value's Dockerfile needs naming; the default keeps argv as it was.
    ...(b.dockerfile !== 'Dockerfile' ? { dockerfile: join(c.packageDir, b.context, b.dockerfile) } : {}),
    platforms: b.platforms,
    buildArgs: buildArgsFor(b, c.plan.spec.build.parentArg, parentRef),
    tags: [stagingRef(c.stagingRepo, b)],
    labels: buildLabels(b, c),
    output: c.mode,
    builder: c.builder,
    cache: cacheFor(b, c),
    cacheOverride: cacheOverrideFor(b, c),
    pull: c.pull,
    noCache: c.noCache,
    provenance: c.provenance,
    sbom: c.sbom,
    metadataFile,
    ...(b.secrets?.length || c.secrets?.length ? { secrets: [...(b.secrets ?? []).map((s) => secretFlag(s, c.plan.spec.source.manifest)), ...(c.secrets ?? [])] } : {}),
    ...(b.ssh?.length || c.ssh?.length ? { ssh: [...(b.ssh ?? []).map(sshFlag), ...(c.ssh ?? [])] } : {}),
    ...(b.entitlements?.length ? { allow: [...b.entitlements] } : {}),
  };
}

/**
 * A secret as buildx takes it: `env=` names the variable (the value never enters argv, logs or
 * the bake file), `src=` the file, relative paths from the manifest's directory.
 */
export function secretFlag(s: BuildSecret, manifest: string): string {
  return s.env !== undefined ? `id=${s.id},env=${s.env}` : `id=${s.id},src=${resolve(dirname(manifest), s.src!)}`;
}

/** An SSH mount as buildx takes it: `default`, or `ID=PATH,PATH`. */
export function sshFlag(s: SshMount): string {
  return s.paths.length ? `${s.id}=${s.paths.join(',')}` : s.id;
}
