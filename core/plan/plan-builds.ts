// The build side of a plan: each image's builds (one per platform, or one for all), the tests
// on each built platform, and the manifest tasks that publish them, per image and per tag
// several images share. Rendering comes before (core/plan/plan.ts): a build hashes its files.
import type { Expansion, Variant } from '../matrix/expand.ts';
import { pinBase, pinGit } from '../matrix/floating.ts';
import { combine, hashValue, sha256 } from '../base/hash.ts';
import { publicRefs } from '../load/repositories.ts';
import type { Spec } from '../load/spec.ts';
import type { BuildTask, ManifestTask, RenderTask, Task, TestTask } from './task.ts';

/** Bumped when the meaning of a build changes (argv shape, labels), so old records stop matching. */
export const BUILD_FORMAT = 'build/2';
const FORMAT_HASH = sha256(BUILD_FORMAT);

/** What planning every image's builds shares. */
interface Planning {
  spec: Spec;
  pkg: string;
  /** One build per image for all its platforms, rather than one per platform. */
  single: boolean;
  tasks: Map<string, Task>;
  add: (t: Task) => void;
  /** Variant key → its builds by architecture, for children to find their parent's. */
  buildsOf: Map<string, Map<string, BuildTask>>;
  /** Floating inputs no lock pins. */
  unpinned: Set<string>;
  /** Shared tag → the images carrying it, in expansion order. */
  sharedBy: Map<string, string[]>;
  /**
   * sha256 of short inputs many builds share (a platform, a base image, a commit), computed
   * once each: at 50k builds these were most of the digests a plan computes.
   */
  digest: (text: string) => string;
}

/** One image's tests, with the spec's timeout where a test names none. */
type Tests = TestTask['tests'];

/**
 * Adds the build, test and manifest tasks of every image to `tasks`, in expansion order, then
 * one manifest task per set of images sharing tags. `renderOf` is the render task that writes
 * an image's Dockerfile.
 */
export function planBuilds(
  spec: Spec,
  expansion: Expansion,
  renderOf: (v: Variant) => RenderTask,
  tasks: Map<string, Task>,
  single: boolean,
): { manifests: ManifestTask[]; unpinned: Set<string> } {
  const { variants } = expansion;
  const ctx: Planning = {
    spec,
    pkg: spec.package,
    single,
    tasks,
    add: (t) => tasks.set(t.id, t),
    buildsOf: new Map(),
    unpinned: new Set(),
    sharedBy: new Map(),
    digest: memoized(sha256),
  };
  for (const v of variants) for (const t of v.sharedTags) ctx.sharedBy.set(t, [...(ctx.sharedBy.get(t) ?? []), v.key]);
  const manifests: ManifestTask[] = [];
  const gatesOf = new Map<string, string[]>();
  const buildsOfVariant = new Map<string, string[]>();
  for (const v of variants) {
    const { builds, gates } = planImageBuilds(ctx, v, renderOf(v));
    gatesOf.set(v.key, gates);
    buildsOfVariant.set(v.key, builds);
    const m = imageManifest(ctx, v, builds, gates);
    ctx.add(m);
    manifests.push(m);
  }
  for (const m of sharedManifests(ctx, expansion, gatesOf, buildsOfVariant)) {
    ctx.add(m);
    manifests.push(m);
  }
  return { manifests, unpinned: ctx.unpinned };
}

function memoized(f: (text: string) => string): (text: string) => string {
  const known = new Map<string, string>();
  return (text) => {
    let v = known.get(text);
    if (v === undefined) known.set(text, (v = f(text)));
    return v;
  };
}

const buildId = (pkg: string, key: string, arches: string[]) => `build:${pkg}/${key}/${arches.join('+')}`;

/** An image's builds and, after each, its tests per platform: the builds, and everything its manifest waits for. */
function planImageBuilds(ctx: Planning, v: Variant, render: RenderTask): { builds: string[]; gates: string[] } {
  const { spec } = ctx;
  const fileParts: Record<string, string> = {};
  // What the build context holds: a shared directory's file above it is not in it; a mode is (COPY keeps it).
  for (const f of render.files) {
    if (!f.path.startsWith(`${render.dir}/`)) continue;
    fileParts[`file:${f.path.slice(render.dir.length + 1)}`] = f.mode === undefined || f.mode === 0o644 ? f.sha256 : sha256(`${f.sha256} ${f.mode.toString(8)}`);
  }
  const builds: string[] = [];
  const gates: string[] = [];
  const tests = v.tests.map((t) => ({ ...t, timeout: t.timeout ?? spec.build.timeout }));
  const testsHash = hashValue(tests);
  const common = { ...fileParts, build_args: hashValue(v.buildArgs) };
  const own = new Map<string, BuildTask>();
  ctx.buildsOf.set(v.key, own);
  for (const arches of ctx.single ? [v.arches] : v.arches.map((a) => [a])) {
    const b = planBuild(ctx, v, render, arches, common);
    ctx.add(b);
    builds.push(b.id);
    gates.push(b.id);
    for (const a of arches) own.set(a, b);
    if (!tests.length) continue;
    for (const tt of planTests(ctx, v, b, tests, testsHash)) {
      ctx.add(tt);
      gates.push(tt.id);
    }
  }
  return { builds, gates };
}

/** One build of an image, for the given architectures; `common` is the part of its hash every build of the image shares. */
function planBuild(ctx: Planning, v: Variant, render: RenderTask, arches: string[], common: Record<string, string>): BuildTask {
  const { spec, pkg, single, digest } = ctx;
  const rel = spec.releases[v.release]!;
  const platforms = arches.map((a) => spec.architectures[a]!);
  const parentTask = v.parent ? ctx.buildsOf.get(v.parent)?.get(arches[0]!) : undefined;
  const parentBuild = parentTask?.id ?? (v.parent ? buildId(pkg, v.parent, arches) : undefined);
  const parts: Record<string, string> = {
    ...common,
    [single ? 'platforms' : 'platform']: digest(platforms.join(',')),
    format: FORMAT_HASH,
  };
  const details: Record<string, string> = {};
  if (parentTask) parts['parent'] = parentTask.hash.value;
  // Floating inputs hash as what they resolved to, so an upstream move rebuilds what uses it.
  let baseImage: string | undefined;
  if (v.baseImage) {
    const base = pinBase(spec.lock, v.baseImage, platforms);
    baseImage = base.ref;
    parts['base_image'] = digest(base.ref);
    details['base_image'] = base.ref;
    if (!base.pinned) ctx.unpinned.add(v.baseImage);
  }
  // A secret's value is never an input, its id is (the Dockerfile names it); the same for SSH
  // mounts; entitlements change what a build may do. Parts only when used, so nothing else moves.
  if (rel.secrets.length) parts['secrets'] = digest(rel.secrets.map((s) => s.id).sort().join(','));
  if (rel.ssh.length) parts['ssh'] = digest(rel.ssh.map((s) => s.id).sort().join(','));
  if (rel.entitlements.length) parts['entitlements'] = digest([...rel.entitlements].sort().join(','));
  const floatingArgs: Record<string, string> = {};
  for (const [arg, g] of Object.entries(v.gitArgs)) {
    const commit = pinGit(spec.lock, g.url, g.ref);
    parts[`git:${arg}`] = digest(`${g.url}#${g.ref}@${commit ?? ''}`);
    details[`git:${arg}`] = `${g.url}#${g.ref}${commit ? `@${commit}` : ' (unpinned)'}`;
    if (commit) floatingArgs[arg] = commit;
    else ctx.unpinned.add(`${g.url}#${g.ref}`);
  }
  const build: BuildTask = {
    kind: 'build',
    id: buildId(pkg, v.key, arches),
    deps: parentBuild ? [render.id, parentBuild] : [render.id],
    hash: combine(parts, details),
    variant: v.key,
    distro: v.distro,
    release: v.release,
    axes: v.axes,
    arches,
    platforms,
    context: render.dir,
    dockerfile: v.dockerfile,
    buildArgs: v.buildArgs,
    floatingArgs,
    parentBuild,
    baseImage,
    timeout: rel.timeout ?? spec.build.timeout,
  };
  // Set after, in this order, rather than spread in: a literal with spreads is built the slow way, 50k times.
  if (rel.secrets.length) build.secrets = rel.secrets;
  if (rel.ssh.length) build.ssh = rel.ssh;
  if (rel.entitlements.length) build.entitlements = rel.entitlements;
  return build;
}

/** A build's tests, one task per platform it built. */
function planTests({ spec, pkg, digest }: Planning, v: Variant, b: BuildTask, tests: Tests, testsHash: string): TestTask[] {
  return b.arches.map((arch) => {
    const platform = spec.architectures[arch]!;
    return {
      kind: 'test',
      id: `test:${pkg}/${v.key}/${arch}`,
      deps: [b.id],
      hash: combine({ build: b.hash.value, tests: testsHash, platform: digest(platform) }),
      build: b.id,
      variant: v.key,
      platform,
      tests,
    };
  });
}

/** The manifest task of one image: its tags, and the shared ones no other image carries. */
function imageManifest({ spec, pkg, tasks, sharedBy }: Planning, v: Variant, builds: string[], gates: string[]): ManifestTask {
  // A shared tag that only this image carries is simply one of its tags.
  const tags = [...v.tags, ...v.sharedTags.filter((t) => sharedBy.get(t)!.length === 1)];
  const refs = publicRefs(spec, tags);
  const mparts: Record<string, string> = { refs: hashValue([...refs].sort()) };
  for (const id of builds) mparts[`build:${(tasks.get(id) as BuildTask).arches.join('+')}`] = tasks.get(id)!.hash.value;
  return {
    kind: 'manifest',
    id: `manifest:${pkg}/${v.key}`,
    deps: gates,
    hash: combine(mparts),
    variant: v.key,
    distro: v.distro,
    release: v.release,
    axes: v.axes,
    builds,
    platforms: v.arches.map((a) => spec.architectures[a]!),
    tags,
    refs,
  };
}

/**
 * Shared tags carried by several images: one index of all their platforms (expansion made
 * sure the platforms do not overlap), one manifest task per set of images.
 */
function sharedManifests(
  { spec, pkg, tasks, sharedBy }: Planning,
  expansion: Expansion,
  gatesOf: Map<string, string[]>,
  buildsOfVariant: Map<string, string[]>,
): ManifestTask[] {
  const groups = new Map<string, { keys: string[]; tags: string[] }>();
  for (const [tag, keys] of sharedBy) {
    if (keys.length < 2) continue;
    const k = keys.join(' ');
    if (!groups.has(k)) groups.set(k, { keys, tags: [] });
    groups.get(k)!.tags.push(tag);
  }
  return [...groups.values()].map(({ keys, tags }) => {
    const vs = keys.map((k) => expansion.byKey.get(k)!);
    const builds = keys.flatMap((k) => buildsOfVariant.get(k)!);
    const refs = publicRefs(spec, tags);
    const mparts: Record<string, string> = { refs: hashValue([...refs].sort()) };
    for (const id of builds) {
      const b = tasks.get(id) as BuildTask;
      mparts[`build:${b.variant}:${b.arches.join('+')}`] = b.hash.value;
    }
    const variant = `@shared/${tags[0]}`;
    return {
      kind: 'manifest',
      id: `manifest:${pkg}/${variant}`,
      deps: keys.flatMap((k) => gatesOf.get(k)!),
      hash: combine(mparts),
      variant,
      variants: keys,
      distro: vs[0]!.distro,
      release: vs[0]!.release,
      axes: vs[0]!.axes,
      builds,
      platforms: vs.flatMap((x) => x.arches.map((a) => spec.architectures[a]!)),
      tags,
      refs,
    };
  });
}
