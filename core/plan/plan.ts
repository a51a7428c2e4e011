// assemble-plan: spec file in, typed task graph out. Pure apart from reading the spec and
// template files; everything with side effects lives in tasks/.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirectedGraph } from 'graphology';
import { topologicalSort } from 'graphology-dag';
import { docsContext, directoryContext } from '../render/contexts.ts';
import type { Diagnostic } from '../base/diagnostics.ts';
import { SpecError } from '../base/errors.ts';
import { expand, type Variant } from '../matrix/expand.ts';
import { pinBase, pinGit } from '../matrix/floating.ts';
import { fromCheckDiagnostic, type SourceText } from '../render/from-parent.ts';
import { combine, hashValue, sha256 } from '../base/hash.ts';
import { publicRefs, publishRepositories } from '../spec/repositories.ts';
import { ENGINE_VERSION, Renderer, TemplateError } from '../render/render.ts';
import type { Spec } from '../spec/spec.ts';
import type { BuildTask, ManifestTask, ReadmeTask, RenderTask, RenderedFile, Task, TestTask } from './task.ts';
import { locate } from '../spec/source.ts';
import { loadSpec, type LoadOptions } from '../spec/validate.ts';

/** Bumped when the meaning of a build changes (argv shape, labels), so old records stop matching. */
export const BUILD_FORMAT = 'build/2';
const FORMAT_HASH = sha256(BUILD_FORMAT);

/**
 * The package's own templates. Found by walking up from this module, because it runs both from
 * source (core/plan/) and bundled (dist/manager.mjs), at different depths below the package root.
 */
export const BUILTIN_TEMPLATES = packageDirectory(dirname(fileURLToPath(import.meta.url)), join('templates', '_builtin'));

function packageDirectory(from: string, wanted: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, wanted))) return join(dir, wanted);
    if (dirname(dir) === dir) return resolve(from, '..', '..', wanted);
  }
}

export interface Plan {
  spec: Spec;
  variants: Variant[];
  tasks: Map<string, Task>;
  graph: DirectedGraph<{ task: Task }>;
  /** Task ids, dependencies first; ties broken by id so the order is stable. */
  order: string[];
  warnings: Diagnostic[];
  /** Whether the floating inputs (base images, git refs) are pinned by a lock file. */
  pinning: { lockFile?: string; unpinned: string[] };
}

export interface PlanOptions {
  /**
   * `split` (the default): one build per platform, merged by the manifest task. `single`: one
   * build per image for all its platforms, which the builder must support; the manifest task
   * then copies that build's index to the public tags. Resolved before planning
   * (core/plan/multi-platform.ts), because it decides the shape of the graph.
   */
  multiPlatform?: 'split' | 'single';
}

export function loadPlan(manifestFile: string, opts: LoadOptions = {}, planOpts: PlanOptions = {}): Plan {
  const loaded = loadSpec(manifestFile, opts);
  if (!loaded.spec) throw new SpecError(loaded.diagnostics);
  return planSpec(loaded.spec, loaded.diagnostics, planOpts);
}

export function planSpec(spec: Spec, warnings: Diagnostic[] = [], opts: PlanOptions = {}): Plan {
  // Expansion errors (tags) and render errors (templates) are independent: both are reported at once.
  const expansion = expand(spec);
  const { variants } = expansion;
  const tasks = new Map<string, Task>();
  const add = (t: Task) => tasks.set(t.id, t);
  const pkg = spec.package;
  const renderer = new Renderer(spec.templatesDir);
  const errors: Diagnostic[] = [...expansion.diagnostics];

  // Render tasks: one per generated Dockerfile (a directory holds several when an axis is
  // per-file), with the support files its templates write beside it.
  const byFile = new Map<string, Variant[]>();
  for (const v of variants) {
    const k = renderKey(v.dir, v.dockerfile);
    if (!byFile.has(k)) byFile.set(k, []);
    byFile.get(k)!.push(v);
  }
  /** Directory → how many Dockerfiles it holds (more than one with a per-file axis). */
  const dockerfilesIn = new Map<string, number>();
  for (const vs of byFile.values()) dockerfilesIn.set(vs[0]!.dir, (dockerfilesIn.get(vs[0]!.dir) ?? 0) + 1);
  const renderIds = new Map<string, RenderTask>();
  /** Support file → its content and the render that wrote it: two Dockerfiles of a directory must agree on it. */
  const support = new Map<string, { sha256: string; by: string }>();
  for (const [key, vs] of byFile) {
    const { distro, release, dir, dockerfile } = vs[0]!;
    const ctx = directoryContext(spec, distro, release, vs);
    // The directory's files depend on its distro, release and per-value axis values, no more.
    const tdir = spec.distros[distro]!.templates;
    const sources: Record<string, string> = {};
    const files: RenderedFile[] = [];
    const renderOne = (outName: string, template: string, data: object, header: string[] = []) => {
      try {
        const r = renderer.render(`${tdir}/${template}`, data);
        Object.assign(sources, r.sources);
        // The spec's header goes first: a `# syntax=` directive only counts on the first lines.
        const content = header.length ? `${header.join('\n')}\n${r.content}` : r.content;
        files.push({ path: `${dir}/${outName}`, content, sha256: sha256(content) });
        return { content, sources: Object.keys(r.sources) };
      } catch (e) {
        if (e instanceof TemplateError) errors.push(e.diagnostic);
        else throw e;
        return undefined;
      }
    };
    const main = renderOne(dockerfile, spec.releases[release]!.dockerfile, ctx, spec.dockerfile?.header);
    if (main) {
      const d = notFromArg(spec, release, vs, `${dir}/${dockerfile}`, main);
      if (d) errors.push(d);
    }
    for (const f of ctx.files) {
      const arch = f.arch ? ctx.architectures.find((a) => a.name === f.arch) : undefined;
      renderOne(f.path, f.template, { ...ctx, file: f, arch });
    }
    const id = dockerfile === 'Dockerfile' ? `render:${pkg}/${dir}` : `render:${pkg}/${dir}/${dockerfile}`;
    if ((dockerfilesIn.get(dir) ?? 0) > 1) {
      // The directory is every one of its Dockerfiles' build context, and a build's hash covers
      // only its own Dockerfile: BuildKit reads <Dockerfile>.dockerignore for that Dockerfile
      // alone, so `COPY .` cannot pick up a sibling's.
      const content = SIBLING_IGNORE;
      files.push({ path: `${dir}/${dockerfile}.dockerignore`, content, sha256: sha256(content) });
    }
    for (const f of files) {
      if (f.path === `${dir}/${dockerfile}` || f.path === `${dir}/${dockerfile}.dockerignore`) continue;
      const other = support.get(f.path);
      if (!other) support.set(f.path, { sha256: f.sha256, by: id });
      else if (other.sha256 !== f.sha256) {
        const at = ['releases', release, 'files'];
        errors.push({ severity: 'error', path: at.join('.'), message: `${f.path} is written by both ${other.by} and ${id} with different content; a support file of a directory must be the same for each of its Dockerfiles`, ...(locate(spec.source.locations, at) ?? { file: spec.source.manifest, line: 1, column: 1 }) });
      }
    }
    const parts: Record<string, string> = { context: hashValue(ctx), engine: sha256(ENGINE_VERSION) };
    for (const [p, h] of Object.entries(sources)) parts[`template:${p}`] = h;
    const task: RenderTask = { kind: 'render', id, deps: [], hash: combine(parts), dir, dockerfile, distro, release, files, data: ctx };
    renderIds.set(key, task);
    add(task);
  }

  // Package docs: README.md and versions.
  const docs = docsContext(spec, variants);
  let docsTask: RenderTask | undefined;
  {
    const own = join(spec.templatesDir, 'README.md.eta');
    const docsRenderer = existsSync(own) ? renderer : new Renderer(BUILTIN_TEMPLATES);
    try {
      const r = docsRenderer.render('README.md', docs);
      const versions = `${spec.version ?? ''}\n`;
      const files: RenderedFile[] = [
        { path: 'README.md', content: r.content, sha256: sha256(r.content) },
        { path: 'versions', content: versions, sha256: sha256(versions) },
      ];
      const parts: Record<string, string> = { context: hashValue(docs), engine: sha256(ENGINE_VERSION) };
      for (const [p, h] of Object.entries(r.sources)) parts[`template:${p}`] = h;
      docsTask = { kind: 'render', id: `render:${pkg}/docs`, deps: [], hash: combine(parts), dir: '', files, data: docs };
      add(docsTask);
    } catch (e) {
      if (e instanceof TemplateError) errors.push(e.diagnostic);
      else throw e;
    }
  }
  if (errors.length) throw new SpecError([...warnings, ...errors]);

  // Builds, tests, manifests.
  const single = opts.multiPlatform === 'single';
  const buildId = (key: string, arches: string[]) => `build:${pkg}/${key}/${arches.join('+')}`;
  /** Variant key → its builds by architecture, for children to find their parent's. */
  const buildsOf = new Map<string, Map<string, BuildTask>>();
  const manifests: ManifestTask[] = [];
  const unpinned = new Set<string>();
  /** Shared tag → the images carrying it, in expansion order. */
  const sharedBy = new Map<string, string[]>();
  for (const v of variants) for (const t of v.sharedTags) sharedBy.set(t, [...(sharedBy.get(t) ?? []), v.key]);
  const gatesOf = new Map<string, string[]>();
  const buildsOfVariant = new Map<string, string[]>();
  for (const v of variants) {
    const render = renderIds.get(renderKey(v.dir, v.dockerfile))!;
    const rel = spec.releases[v.release]!;
    const fileParts: Record<string, string> = {};
    for (const f of render.files) fileParts[`file:${f.path.slice(render.dir.length + 1)}`] = f.sha256;
    const builds: string[] = [];
    const gates: string[] = [];
    const tests = v.tests.map((t) => ({ ...t, timeout: t.timeout ?? spec.build.timeout }));
    const testsHash = hashValue(tests);
    const buildArgsHash = hashValue(v.buildArgs);
    const own = new Map<string, BuildTask>();
    buildsOf.set(v.key, own);
    for (const arches of single ? [v.arches] : v.arches.map((a) => [a])) {
      const platforms = arches.map((a) => spec.architectures[a]!);
      const parentTask = v.parent ? buildsOf.get(v.parent)?.get(arches[0]!) : undefined;
      const parentBuild = parentTask?.id ?? (v.parent ? buildId(v.parent, arches) : undefined);
      const parts: Record<string, string> = {
        ...fileParts,
        build_args: buildArgsHash,
        [single ? 'platforms' : 'platform']: sha256(platforms.join(',')),
        format: FORMAT_HASH,
      };
      const details: Record<string, string> = {};
      if (parentTask) parts['parent'] = parentTask.hash.value;
      // Floating inputs hash as what they resolved to, so an upstream move rebuilds what uses it.
      let baseImage: string | undefined;
      if (v.baseImage) {
        const base = pinBase(spec.lock, v.baseImage, platforms);
        baseImage = base.ref;
        parts['base_image'] = sha256(base.ref);
        details['base_image'] = base.ref;
        if (!base.pinned) unpinned.add(v.baseImage);
      }
      const floatingArgs: Record<string, string> = {};
      for (const [arg, g] of Object.entries(v.gitArgs)) {
        const commit = pinGit(spec.lock, g.url, g.ref);
        parts[`git:${arg}`] = sha256(`${g.url}#${g.ref}@${commit ?? ''}`);
        details[`git:${arg}`] = `${g.url}#${g.ref}${commit ? `@${commit}` : ' (unpinned)'}`;
        if (commit) floatingArgs[arg] = commit;
        else unpinned.add(`${g.url}#${g.ref}`);
      }
      const b: BuildTask = {
        kind: 'build',
        id: buildId(v.key, arches),
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
      add(b);
      builds.push(b.id);
      gates.push(b.id);
      for (const a of arches) own.set(a, b);
      if (!tests.length) continue;
      for (const arch of arches) {
        const platform = spec.architectures[arch]!;
        const tt: TestTask = {
          kind: 'test',
          id: `test:${pkg}/${v.key}/${arch}`,
          deps: [b.id],
          hash: combine({ build: b.hash.value, tests: testsHash, platform: sha256(platform) }),
          build: b.id,
          variant: v.key,
          platform,
          tests,
        };
        add(tt);
        gates.push(tt.id);
      }
    }
    // A shared tag that only this image carries is simply one of its tags.
    const tags = [...v.tags, ...v.sharedTags.filter((t) => sharedBy.get(t)!.length === 1)];
    const refs = publicRefs(spec, tags);
    gatesOf.set(v.key, gates);
    buildsOfVariant.set(v.key, builds);
    const mparts: Record<string, string> = { refs: hashValue([...refs].sort()) };
    for (const id of builds) mparts[`build:${(tasks.get(id) as BuildTask).arches.join('+')}`] = tasks.get(id)!.hash.value;
    const m: ManifestTask = {
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
    add(m);
    manifests.push(m);
  }

  // Shared tags carried by several images: one index of all their platforms (expansion made
  // sure the platforms do not overlap), one manifest task per set of images.
  const groups = new Map<string, { keys: string[]; tags: string[] }>();
  for (const [tag, keys] of sharedBy) {
    if (keys.length < 2) continue;
    const k = keys.join(' ');
    if (!groups.has(k)) groups.set(k, { keys, tags: [] });
    groups.get(k)!.tags.push(tag);
  }
  for (const { keys, tags } of groups.values()) {
    const vs = keys.map((k) => expansion.byKey.get(k)!);
    const builds = keys.flatMap((k) => buildsOfVariant.get(k)!);
    const refs = publicRefs(spec, tags);
    const mparts: Record<string, string> = { refs: hashValue([...refs].sort()) };
    for (const id of builds) {
      const b = tasks.get(id) as BuildTask;
      mparts[`build:${b.variant}:${b.arches.join('+')}`] = b.hash.value;
    }
    const variant = `@shared/${tags[0]}`;
    const m: ManifestTask = {
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
    add(m);
    manifests.push(m);
  }

  // READMEs: one per registry repository that wants one, after every manifest pushed to it.
  if (docsTask) {
    const readme = docsTask.files.find((f) => f.path === 'README.md')!;
    for (const { registry, repository } of publishRepositories(spec)) {
      if (!registry.readme) continue;
      const r: ReadmeTask = {
        kind: 'readme',
        id: `readme:${pkg}/${registry.name}`,
        deps: [docsTask.id, ...manifests.map((m) => m.id)],
        hash: combine({ readme: readme.sha256, repository: sha256(repository) }),
        registry: registry.name,
        repository,
        docs: docsTask.id,
      };
      add(r);
    }
  }

  const graph = new DirectedGraph<{ task: Task }>();
  for (const t of tasks.values()) graph.addNode(t.id, { task: t });
  for (const t of tasks.values()) for (const d of t.deps) graph.addDirectedEdge(d, t.id);
  const order = topologicalSort(graph);
  return { spec, variants, tasks, graph, order, warnings, pinning: { lockFile: spec.lock?.file, unpinned: [...unpinned].sort() } };
}

const renderKey = (dir: string, dockerfile: string) => `${dir}\u0000${dockerfile}`;

/** What a Dockerfile sharing its directory leaves out of its build context: every Dockerfile and ignore file. */
export const SIBLING_IGNORE = '# Generated: the other Dockerfiles of this directory stay out of this one\'s build context.\nDockerfile*\n';

/** Whether a Dockerfile's final stage builds FROM the given build arg (core/render/from-parent.ts). */
export { buildsFromArg } from '../render/from-parent.ts';

/**
 * The build arg a Dockerfile receives its parent image in (a child), or its locked base image's
 * digest (a root whose base image the lock file pins), must be what its final stage builds FROM:
 * otherwise the image silently builds on something else. Undefined when there is nothing to check.
 */
function notFromArg(spec: Spec, release: string, variants: Variant[], dockerfile: string, rendered: { content: string; sources: string[] }): Diagnostic | undefined {
  const rel = spec.releases[release]!;
  const locked = !rel.parent && variants.some((v) => v.baseImage && !v.baseImage.includes('@') && spec.lock && Object.hasOwn(spec.lock.images, v.baseImage));
  if (!rel.parent && !locked) return undefined;
  const sources: SourceText[] = [];
  for (const rel of rendered.sources) {
    const file = join(spec.templatesDir, rel);
    try {
      sources.push({ file, text: readFileSync(file, 'utf8') });
    } catch {
      // Read a moment ago by the renderer; a file gone since only costs the line mapping.
    }
  }
  const arg = spec.build.parentArg;
  return fromCheckDiagnostic({
    dockerfile,
    content: rendered.content,
    arg,
    carries: rel.parent ? 'parent' : 'base',
    sources,
    path: `releases.${release}`,
    argSetting: 'build.parent_arg',
  });
}
