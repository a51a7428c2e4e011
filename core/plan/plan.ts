// assemble-plan: spec file in, typed task graph out. Pure apart from reading the spec and
// template files; everything with side effects lives in tasks/.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirectedGraph } from 'graphology';
import { topologicalSort } from 'graphology-dag';
import { docsContext, directoryContext } from '../render/contexts.ts';
import { formatPath, type Diagnostic } from '../base/diagnostics.ts';
import { SpecError } from '../base/errors.ts';
import { expand, type Excluded, type Variant } from '../matrix/expand.ts';
import { fromCheckDiagnostic, type SourceText } from '../render/from-parent.ts';
import { combine, hashValue, sha256 } from '../base/hash.ts';
import { nestedDirectories, nestedIgnore } from '../load/layout.ts';
import { publishRepositories } from '../load/repositories.ts';
import { ENGINE_VERSION, Renderer, TemplateError } from '../render/render.ts';
import type { Spec } from '../load/spec.ts';
import type { ManifestTask, ReadmeTask, RenderTask, RenderedFile, Task } from './task.ts';
import { planBuilds } from './plan-builds.ts';
import { locate } from '../load/source.ts';
import { loadSpec, type LoadOptions } from '../load/validate.ts';

/** The build format is the builds' (plan-builds.ts); the plan's callers find it here. */
export { BUILD_FORMAT } from './plan-builds.ts';

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
  /** The spec's warnings, then expansion's notes (what each `exclude:` rule removed). */
  warnings: Diagnostic[];
  /** Per `exclude:` rule, the image platforms it removed. */
  excluded: Excluded[];
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
  const renderer = new Renderer(spec.templatesDir);
  const errors: Diagnostic[] = [...expansion.diagnostics];

  const renders = planRenders(spec, variants, renderer, errors);
  for (const task of renders.values()) add(task);
  const docsTask = planDocs(spec, variants, renderer, errors);
  if (docsTask) add(docsTask);
  if (errors.length) throw new SpecError([...warnings, ...errors]);

  const { manifests, unpinned } = planBuilds(spec, expansion, (v) => renders.get(renderKey(v.dir, v.dockerfile))!, tasks, opts.multiPlatform === 'single');
  if (docsTask?.files.some((f) => f.path === 'README.md')) for (const r of planReadmes(spec, docsTask, manifests)) add(r);

  const graph = new DirectedGraph<{ task: Task }>();
  for (const t of tasks.values()) graph.addNode(t.id, { task: t });
  for (const t of tasks.values()) for (const d of t.deps) graph.addDirectedEdge(d, t.id);
  const order = topologicalSort(graph);
  return { spec, variants, tasks, graph, order, warnings: [...warnings, ...expansion.notes], excluded: expansion.excluded, pinning: { lockFile: spec.lock?.file, unpinned: [...unpinned].sort() } };
}

/**
 * Render tasks, by renderKey: one per generated Dockerfile (a directory holds several when an
 * axis is per-file), with the support files its templates write beside it. Template problems
 * go to `errors`.
 */
function planRenders(spec: Spec, variants: Variant[], renderer: Renderer, errors: Diagnostic[]): Map<string, RenderTask> {
  const byFile = new Map<string, Variant[]>();
  for (const v of variants) {
    const k = renderKey(v.dir, v.dockerfile);
    if (!byFile.has(k)) byFile.set(k, []);
    byFile.get(k)!.push(v);
  }
  /** Directory → how many Dockerfiles it holds (more than one with a per-file axis). */
  const dockerfilesIn = new Map<string, number>();
  for (const vs of byFile.values()) dockerfilesIn.set(vs[0]!.dir, (dockerfilesIn.get(vs[0]!.dir) ?? 0) + 1);
  const dirs = [...dockerfilesIn.keys()];
  const renders = new Map<string, RenderTask>();
  /** Support file → its content, mode and the render that wrote it: every render that writes it must agree. */
  const support = new Map<string, { sha256: string; mode?: number; by: string; dir: string }>();
  for (const [key, vs] of byFile) {
    const task = planRender(spec, vs, renderer, errors, (dockerfilesIn.get(vs[0]!.dir) ?? 0) > 1, nestedDirectories(vs[0]!.dir, dirs));
    checkSupportFiles(spec, task, support, errors);
    renders.set(key, task);
  }
  checkSharedPaths(spec, renders, errors);
  return renders;
}

/**
 * A template's error, said of the image it was rendered for: the file being written, the
 * distro, release and the axis values the directory holds, and the spec path of that image's
 * declaration (so `--json` readers group errors by image, not only by template line).
 */
function forImage(d: Diagnostic, vs: Variant[], file: string, sub: string[]): Diagnostic {
  const { distro, release } = vs[0]!;
  const fixed = Object.entries(vs[0]!.axes).filter(([k, v]) => vs.every((x) => x.axes[k] === v));
  const values = fixed.map(([k, v]) => `, ${k} ${v}`).join('');
  return { ...d, path: formatPath(['distros', distro, 'releases', release, ...sub]), message: `${d.message} (rendering ${file} for distro ${distro}, release ${release}${values})` };
}

/**
 * The render task of one Dockerfile and the files beside it; `shared` when its directory holds
 * other Dockerfiles too, `nested` the image directories inside its directory (relative to it).
 */
function planRender(spec: Spec, vs: Variant[], renderer: Renderer, errors: Diagnostic[], shared: boolean, nested: string[]): RenderTask {
  const { distro, release, dir, dockerfile } = vs[0]!;
  const ctx = directoryContext(spec, distro, release, vs);
  // The directory's files depend on its distro, release and per-value axis values, no more.
  const tdir = spec.distros[distro]!.templates;
  const sources: Record<string, string> = {};
  const copied: Record<string, string> = {};
  const files: RenderedFile[] = [];
  const dataTemplate = spec.distros[distro]!.data;
  if (dataTemplate) {
    // Computed once for the Dockerfile, from what its templates see; then part of what they see (and hash).
    try {
      const r = renderer.renderData(`${tdir}/${dataTemplate}`, ctx);
      Object.assign(sources, r.sources);
      ctx.computed = r.value;
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      errors.push(forImage(e.diagnostic, vs, `${dir}/${dockerfile}`, []));
      return { kind: 'render', id: renderId(spec, dir, dockerfile), deps: [], hash: combine({ context: hashValue(ctx) }), dir, dockerfile, distro, release, files, data: ctx };
    }
  }
  const renderOne = (outPath: string, template: string, data: object, header: string[] = [], mode?: number) => {
    try {
      const r = renderer.render(`${tdir}/${template}`, data);
      Object.assign(sources, r.sources);
      // The spec's header goes first: a `# syntax=` directive only counts on the first lines.
      const content = header.length ? `${header.join('\n')}\n${r.content}` : r.content;
      files.push({ path: outPath, content, sha256: sha256(content), ...(mode !== undefined ? { mode } : {}) });
      return { content, sources: Object.keys(r.sources) };
    } catch (e) {
      if (e instanceof TemplateError) errors.push(forImage(e.diagnostic, vs, outPath, outPath === `${dir}/${dockerfile}` ? [] : ['files']));
      else throw e;
      return undefined;
    }
  };
  const main = renderOne(`${dir}/${dockerfile}`, spec.releases[release]!.dockerfile, ctx, spec.dockerfile?.header);
  if (main) {
    const d = notFromArg(spec, release, vs, `${dir}/${dockerfile}`, main);
    if (d) errors.push(d);
  }
  for (const f of ctx.files) {
    const base = f.directory ?? dir;
    const mode = f.mode !== undefined ? parseInt(f.mode, 8) : undefined;
    if (base !== dir && !dir.startsWith(`${base}/`)) {
      errors.push(forImage({ severity: 'error', path: '', message: `file directory "${base}" does not contain the image's directory "${dir}"; a shared file goes in a directory above the images that share it`, ...specAt(spec, ['releases', release, 'files']) }, vs, `${base}/${f.path}`, ['files']));
      continue;
    }
    if (f.template !== undefined) {
      const arch = f.arch ? ctx.architectures.find((a) => a.name === f.arch) : undefined;
      renderOne(`${base}/${f.path}`, f.template, { ...ctx, file: f, arch }, [], mode);
      continue;
    }
    // Copied as it is: the bytes, never decoded, so a binary or a file with `<%` in it arrives unchanged.
    const rel = `${tdir}/${f.source!}`;
    try {
      const bytes = readFileSync(join(spec.templatesDir, rel));
      copied[rel] = sha256(bytes);
      files.push({ path: `${base}/${f.path}`, content: bytes.toString('utf8'), bytes, sha256: sha256(bytes), ...(mode !== undefined ? { mode } : {}) });
    } catch (e) {
      errors.push(forImage({ severity: 'error', path: '', message: `cannot read source file ${rel}: ${(e as Error).message}`, ...specAt(spec, ['releases', release, 'files']) }, vs, `${base}/${f.path}`, ['files']));
    }
  }
  const id = renderId(spec, dir, dockerfile);
  let ignore: string | undefined;
  if (shared) {
    // The directory is every one of its Dockerfiles' build context, and a build's hash covers
    // only its own Dockerfile: BuildKit reads <Dockerfile>.dockerignore for that Dockerfile
    // alone, so `COPY .` cannot pick up a sibling's.
    ignore = nestedIgnore(nested, SIBLING_IGNORE);
    files.push({ path: `${dir}/${dockerfile}.dockerignore`, content: ignore, sha256: sha256(ignore) });
  } else if (nested.length) {
    // The images nested inside are other builds: this one's context (and hash) leaves them out.
    const at = files.findIndex((f) => f.path === `${dir}/.dockerignore`);
    ignore = nestedIgnore(nested, at < 0 ? '' : files[at]!.content);
    const file: RenderedFile = { path: `${dir}/.dockerignore`, content: ignore, sha256: sha256(ignore), ...(at >= 0 && files[at]!.mode !== undefined ? { mode: files[at]!.mode } : {}) };
    if (at < 0) files.push(file);
    else files[at] = file;
  }
  const parts: Record<string, string> = { context: hashValue(ctx), engine: sha256(ENGINE_VERSION) };
  // Only a directory with images nested inside it has this part, so no other render's hash moves.
  if (nested.length) parts['ignore'] = sha256(ignore!);
  for (const [p, h] of Object.entries(sources)) parts[`template:${p}`] = h;
  for (const [p, h] of Object.entries(copied)) parts[`source:${p}`] = h;
  return { kind: 'render', id, deps: [], hash: combine(parts), dir, dockerfile, distro, release, files, data: ctx };
}

/**
 * A support file written by several renders (the Dockerfiles of one directory, or the images
 * under a shared directory) must be the same bytes and mode for each; `support` holds the
 * ones seen so far.
 */
function checkSupportFiles(spec: Spec, task: RenderTask, support: Map<string, { sha256: string; mode?: number; by: string; dir: string }>, errors: Diagnostic[]): void {
  const { id, dir, dockerfile, release, files } = task;
  for (const f of files) {
    if (f.path === `${dir}/${dockerfile}` || f.path === `${dir}/${dockerfile}.dockerignore`) continue;
    const other = support.get(f.path);
    if (!other) support.set(f.path, { sha256: f.sha256, mode: f.mode, by: id, dir });
    else if (other.sha256 !== f.sha256 || (other.mode ?? DEFAULT_MODE) !== (f.mode ?? DEFAULT_MODE)) {
      const what = other.sha256 !== f.sha256 ? 'different content' : `different modes (${modeText(other.mode)} and ${modeText(f.mode)})`;
      const rule = other.dir === dir
        ? 'a support file of a directory must be the same for each of its Dockerfiles'
        : 'a file of a shared directory must be the same for every image under it';
      errors.push({ severity: 'error', path: ['releases', release!, 'files'].join('.'), message: `${f.path} is written by both ${other.by} and ${id} with ${what}; ${rule}`, ...specAt(spec, ['releases', release!, 'files']) });
    }
  }
}

/**
 * No file may stand where another file's directory goes. A file of a shared directory may not
 * stand where an image's directory goes, nor land inside an image's directory other than its
 * own: that build context would hold a file its hash does not cover.
 */
function checkSharedPaths(spec: Spec, renders: Map<string, RenderTask>, errors: Diagnostic[]): void {
  const dirs = new Set([...renders.values()].map((t) => t.dir));
  const paths = new Set([...renders.values()].flatMap((t) => t.files.map((f) => f.path)));
  const reported = new Set<string>();
  for (const t of renders.values()) {
    for (const f of t.files) {
      const parts = f.path.split('/');
      const asFile = parts.slice(1, -1).map((_, i) => parts.slice(0, i + 2).join('/')).find((a) => paths.has(a));
      if (asFile && !reported.has(f.path)) {
        reported.add(f.path);
        errors.push({ severity: 'error', path: ['releases', t.release!, 'files'].join('.'), message: `${f.path} needs ${asFile} to be a directory, but ${asFile} is a file too`, ...specAt(spec, ['releases', t.release!, 'files']) });
      }
      if (reported.has(f.path)) continue;
      if (f.path.startsWith(`${t.dir}/`)) {
        // Its own directory's file, unless an image directory nested inside holds it.
        const nested = [...dirs].find((d) => d.startsWith(`${t.dir}/`) && f.path.startsWith(`${d}/`));
        if (!nested) continue;
        reported.add(f.path);
        errors.push({ severity: 'error', path: ['releases', t.release!, 'files'].join('.'), message: `${f.path} (a file of ${t.dir}) is inside the image directory ${nested}, whose build context it would change (and which the build of ${t.dir} leaves out); give the file a path outside ${nested}`, ...specAt(spec, ['releases', t.release!, 'files']) });
        continue;
      }
      const inside = [...dirs].find((d) => f.path.startsWith(`${d}/`));
      const over = [...dirs].find((d) => d === f.path || d.startsWith(`${f.path}/`));
      if (!inside && !over) continue;
      reported.add(f.path);
      const message = over
        ? `${f.path} (a file of a shared directory) stands where the image directory ${over} goes`
        : `${f.path} (a file of a shared directory) is inside the image directory ${inside}, whose build context it would change; give the file that image's directory`;
      errors.push({ severity: 'error', path: ['releases', t.release!, 'files'].join('.'), message, ...specAt(spec, ['releases', t.release!, 'files']) });
    }
  }
}

/** The mode a support file without one gets. */
const DEFAULT_MODE = 0o644;
const modeText = (mode: number | undefined) => (mode ?? DEFAULT_MODE).toString(8).padStart(4, '0');

const specAt = (spec: Spec, at: string[]) => locate(spec.source.locations, at) ?? { file: spec.source.manifest, line: 1, column: 1 };

/**
 * Package docs: README.md and versions, from the spec's README template or the built-in one;
 * none when `output:` switches both off.
 */
function planDocs(spec: Spec, variants: Variant[], renderer: Renderer, errors: Diagnostic[]): RenderTask | undefined {
  const wanted = { readme: spec.output?.readme ?? true, versions: spec.output?.versions ?? true };
  if (!wanted.readme && !wanted.versions) return undefined;
  const docs = docsContext(spec, variants);
  const own = join(spec.templatesDir, 'README.md.eta');
  const docsRenderer = existsSync(own) ? renderer : new Renderer(BUILTIN_TEMPLATES);
  try {
    const r = docsRenderer.render('README.md', docs);
    const versions = `${spec.version ?? ''}\n`;
    const files: RenderedFile[] = [
      ...(wanted.readme ? [{ path: 'README.md', content: r.content, sha256: sha256(r.content) }] : []),
      ...(wanted.versions ? [{ path: 'versions', content: versions, sha256: sha256(versions) }] : []),
    ];
    const parts: Record<string, string> = { context: hashValue(docs), engine: sha256(ENGINE_VERSION) };
    // Which files the task writes is part of what it is; both (the default) keeps the hash it always had.
    if (!wanted.readme || !wanted.versions) parts['files'] = sha256(files.map((f) => f.path).join('\n'));
    for (const [p, h] of Object.entries(r.sources)) parts[`template:${p}`] = h;
    return { kind: 'render', id: `render:${spec.package}/docs`, deps: [], hash: combine(parts), dir: '', files, data: docs };
  } catch (e) {
    if (e instanceof TemplateError) errors.push({ ...e.diagnostic, path: 'package', message: `${e.diagnostic.message} (rendering README.md)` });
    else throw e;
    return undefined;
  }
}

/** READMEs: one per registry repository that wants one, after every manifest pushed to it. */
function planReadmes(spec: Spec, docsTask: RenderTask, manifests: ManifestTask[]): ReadmeTask[] {
  const readme = docsTask.files.find((f) => f.path === 'README.md')!;
  const out: ReadmeTask[] = [];
  for (const { registry, repository } of publishRepositories(spec)) {
    if (!registry.readme) continue;
    out.push({
      kind: 'readme',
      id: `readme:${spec.package}/${registry.name}`,
      deps: [docsTask.id, ...manifests.map((m) => m.id)],
      hash: combine({ readme: readme.sha256, repository: sha256(repository) }),
      registry: registry.name,
      repository,
      docs: docsTask.id,
    });
  }
  return out;
}

const renderId = (spec: Spec, dir: string, dockerfile: string) => (dockerfile === 'Dockerfile' ? `render:${spec.package}/${dir}` : `render:${spec.package}/${dir}/${dockerfile}`);

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
