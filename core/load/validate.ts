// Spec checking, in the order changesets uses for config: schema → normalise → rules.
// Every problem becomes a Diagnostic with file:line:column; all are collected, none thrown.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hasCycle, topologicalSort } from 'graphology-dag';
import { DirectedGraph } from 'graphology';
import type { z } from 'zod';
import type { Diagnostic, SpecPath } from '../base/diagnostics.ts';
import { formatPath, hasErrors } from '../base/diagnostics.ts';
import { loadLayers } from './layers.ts';
import { readLockFile } from './lock-file.ts';
import { fullSchema, type RawSpec } from './schema.ts';
import { locate, MAX_SPEC_BYTES, writtenOrder, type Locations } from './source.ts';
import {
  DEFAULT_HOSTS,
  type Axis,
  type BuildSettings,
  type Distro,
  type DistroRelease,
  type FileTemplate,
  type GitRef,
  type Registry,
  type Release,
  type Spec,
  type TagTemplate,
} from './spec.ts';
import { tagVariables, templateVariables } from './placeholders.ts';
import { checkDirectoryTemplate, checkPackageDirectory, GENERATED_FILES } from './layout.ts';
import { checkDistroImage, normalizeAxes, normalizeExcludes, restrictDistroAxes, restrictReleaseAxes } from './axes.ts';
import { dict, withoutPrototypes } from '../base/dicts.ts';

export interface LoadOptions {
  /** `--target-version`: overrides the spec's version. */
  version?: string;
  /** The environment declared `variables` read from (the CLI passes its own; default: none). */
  env?: Readonly<Record<string, string | undefined>>;
  /** `{sha}` and `{date}` of this run (core/load/placeholders.ts runVariables), found at the edge. */
  run?: { sha?: string; date: string };
  /** Where `extends` may reach (core/load/layers.ts). */
  root?: string;
  allowExtends?: string[];
  /** Shared defaults the manifest builds on implicitly (the repository layout's, core/load/layers.ts). */
  defaults?: string;
  /** The template directory when the spec names none (default: `templates/` beside the manifest). */
  templates?: string;
}

export interface LoadResult {
  spec?: Spec;
  diagnostics: Diagnostic[];
}

class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  /**
   * Axes the schema refused and set aside: a problem that is only about one of them (`{python}`
   * unknown in a tag, `when` testing it) follows from the error already reported, so it is not
   * reported again. One root cause, one error.
   */
  setAside: (axis: string) => boolean = () => false;
  /** `fallback` is where problems with no better position point (the manifest's first line). */
  constructor(private readonly locs: Locations, private readonly fallback: string) {}
  error(path: SpecPath, message: string, prefer: 'key' | 'value' = 'value', about?: string): void {
    if (about !== undefined && this.setAside(about.split('.')[0]!)) return;
    this.add('error', path, message, prefer);
  }
  /** The text a value was written as (a plain scalar, as in the file), when its position is known. */
  written(path: SpecPath): string | undefined {
    const at = locate(this.locs, path, 'value');
    if (!at) return undefined;
    if (!this.lines.has(at.file)) {
      try {
        // The file was read whole before, within the limit; read again only within it too.
        this.lines.set(at.file, statSync(at.file).size <= MAX_SPEC_BYTES ? readFileSync(at.file, 'utf8').split('\n') : []);
      } catch {
        this.lines.set(at.file, []);
      }
    }
    return /^[^\s,\]}#]+/.exec(this.lines.get(at.file)![at.line - 1]?.slice(at.column - 1) ?? '')?.[0];
  }
  private readonly lines = new Map<string, string[]>();
  warn(path: SpecPath, message: string, prefer: 'key' | 'value' = 'value'): void {
    this.add('warning', path, message, prefer);
  }
  private add(severity: 'error' | 'warning', path: SpecPath, message: string, prefer: 'key' | 'value'): void {
    const at = locate(this.locs, path, prefer) ?? { file: this.fallback, line: 1, column: 1 };
    this.diagnostics.push({ severity, path: formatPath(path), message, ...at });
  }
}

export function loadSpec(manifestFile: string, opts: LoadOptions = {}): LoadResult {
  const manifest = resolve(manifestFile);
  const layers = loadLayers(manifest, { root: opts.root, allow: opts.allowExtends, defaults: opts.defaults });
  if (hasErrors(layers.diagnostics)) return { diagnostics: layers.diagnostics };
  const report = new Reporter(layers.locations, manifest);
  report.diagnostics.push(...layers.diagnostics);
  unsafeCharacters(layers.value, [], report);
  let parsed = fullSchema.safeParse(layers.value);
  let removed: Removed = { names: new Set() };
  if (!parsed.success) {
    for (const issue of parsed.error.issues) schemaIssue(report, issue, layers.value);
    // Every independent error in one pass: set aside what the schema refused and check the
    // rest by the rules, quietly about what refers to the entries set aside.
    const repaired = setAside(layers.value, parsed.error.issues);
    if (!repaired) return { diagnostics: report.diagnostics };
    parsed = fullSchema.safeParse(repaired.value);
    if (!parsed.success) return { diagnostics: report.diagnostics };
    removed = repaired.removed;
  }
  // From here on, a name from the spec never finds a member of Object.prototype.
  const spec = normalize({ raw: withoutPrototypes(parsed.data), manifest, files: layers.files, locs: layers.locations, report, opts, removed });
  const lock = readLockFile(manifest);
  report.diagnostics.push(...lock.diagnostics);
  if (hasErrors(report.diagnostics) || !spec) return { diagnostics: report.diagnostics };
  if (lock.lock) spec.lock = lock.lock;
  return { spec, diagnostics: report.diagnostics };
}

// C0 controls but tab and newline, DEL, C1 controls; newline is refused outside `vars`.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
// Bidirectional overrides and isolates: text that reads one way and runs another.
const BIDI = /[\u202a-\u202e\u2066-\u2069]/;

function describeChar(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Every spec value may end up in a Dockerfile, a tag, an argv or a workflow: a newline there
 * adds an instruction (`image: "debian\nRUN curl … | sh"`), an escape sequence rewrites the
 * terminal. Control characters are refused everywhere, with their position; newlines and tabs
 * only inside `vars`, which templates (code the spec's owner trusts) place themselves.
 */
function unsafeCharacters(value: unknown, path: (string | number)[], report: Reporter): void {
  const inVars = path.includes('vars');
  const check = (text: string, at: SpecPath, where: 'key' | 'value') => {
    const bad = CONTROL.exec(text) ?? BIDI.exec(text) ?? (!inVars && /[\n\t]/.exec(text));
    if (bad) report.error(at, `${where === 'key' ? 'key' : 'value'} contains ${describeChar(bad[0])}${bad[0] === '\n' ? ' (a newline)' : ''}: control and bidirectional-override characters are not allowed${inVars ? '' : ' (newlines and tabs only inside vars)'}`, where);
  };
  if (typeof value === 'string') check(value, path, 'value');
  else if (Array.isArray(value)) value.forEach((v, i) => unsafeCharacters(v, [...path, i], report));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      check(k, [...path, k], 'key');
      unsafeCharacters(v, [...path, k], report);
    }
  }
}

/** Named entries set aside because the schema refused them: `releases/runtime`, `distros/ubi8`. */
interface Removed {
  names: Set<string>;
}

const COLLECTIONS = new Set(['releases', 'distros', 'axes', 'registries', 'architectures']);
const OPTIONAL_TOP = new Set(['$schema', 'python', 'description', 'version', 'templates', 'repository', 'publish', 'build', 'vars', 'axes', 'registries', 'exclude']);

/**
 * The spec without the parts the schema refused: a refused entry of a named collection (a
 * release, a distro, …) is dropped whole; a refused optional top-level key is dropped.
 * Undefined when a required key itself is wrong: then nothing else can be checked.
 */
function setAside(value: Record<string, unknown>, issues: z.core.$ZodIssue[]): { value: Record<string, unknown>; removed: Removed } | undefined {
  const copy = structuredClone(value);
  const removed: Removed = { names: new Set() };
  for (const issue of issues) {
    const path = issue.path.map(String);
    const [top, name] = path;
    if (top === undefined) return undefined;
    const holder = copy[top];
    if (COLLECTIONS.has(top) && name !== undefined && holder && typeof holder === 'object' && !Array.isArray(holder)) {
      delete (holder as Record<string, unknown>)[name];
      removed.names.add(`${top}/${name}`);
    } else if (OPTIONAL_TOP.has(top)) {
      if (top === 'build' && name !== undefined && holder && typeof holder === 'object') delete (holder as Record<string, unknown>)[name];
      else delete copy[top];
      removed.names.add(top);
    } else return undefined;
  }
  return { value: copy, removed };
}

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value?: unknown } {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, seg as string)) return { found: false };
    cur = (cur as Record<string, unknown>)[seg as string];
  }
  return { found: true, value: cur };
}

function schemaIssue(report: Reporter, issue: z.core.$ZodIssue, raw: unknown): void {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  if (issue.code === 'unrecognized_keys') {
    for (const key of issue.keys) {
      report.error([...path, key], `unknown key "${key}"`, 'key');
    }
    return;
  }
  if (path.length > 0 && !valueAt(raw, path).found && valueAt(raw, path.slice(0, -1)).found) {
    const key = path[path.length - 1];
    const expected = issue.code === 'invalid_type' ? ` (expected ${issue.expected})` : issue.code === 'invalid_value' ? ` (one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')})` : '';
    report.error(path.slice(0, -1), `missing required key "${String(key)}"${expected}`, 'key');
    return;
  }
  const got = valueAt(raw, path);
  if (issue.code === 'invalid_type' && issue.expected === 'string' && (typeof got.value === 'number' || typeof got.value === 'boolean')) {
    // YAML reads 3.10 as the number 3.1 and yes as true: the fix is quotes, and it should say so.
    const value = String(got.value);
    const written = report.written(path) ?? value;
    report.error(path, written !== value
      ? `${written} is read by YAML as the ${typeof got.value} ${value}: quote it ("${written}")`
      : `${written} is a ${typeof got.value} to YAML; this takes a string: quote it ("${written}")`);
    return;
  }
  if (issue.code === 'invalid_union') {
    // A union's branches each fail; the most useful message is the branch that got furthest.
    const branches = (issue as unknown as { errors: z.core.$ZodIssue[][] }).errors;
    // A YAML number where a string (or a list of them) goes: the fix is still quotes.
    const asString = branches.flat().find((i) => i.code === 'invalid_type' && i.expected === 'string' && i.path.length === 0);
    const v = valueAt(raw, path).value;
    if (asString && (typeof v === 'number' || typeof v === 'boolean')) return schemaIssue(report, { ...asString, path: issue.path } as z.core.$ZodIssue, raw);
    const best = branches
      .map((b) => b.filter((i) => i.code !== 'invalid_type' || i.path.length > 0))
      .sort((a, b) => a.length - b.length)
      .find((b) => b.length > 0);
    if (best && best.length > 0 && best.every((i) => i.path.length > 0)) {
      for (const sub of best) schemaIssue(report, { ...sub, path: [...issue.path, ...sub.path] } as z.core.$ZodIssue, raw);
      return;
    }
  }
  report.error(path, issue.message);
}

const uniq = <T>(xs: Iterable<T>): T[] => [...new Set(xs)];

type RawRelease = RawSpec['releases'][string];
type RawDistro = RawSpec['distros'][string];
type RawDistroRelease = NonNullable<Extract<RawDistro['releases'], Record<string, unknown>>[string]>;
/** A release as a distro lists it: its name, where it is listed, and what the distro sets for it (map form only). */
type DistroReleaseEntry = [string, SpecPath, RawDistroRelease | null];

/** What every stage of normalizing reads: the schema's output, where it came from, where problems go. */
interface Normalizing {
  raw: RawSpec;
  manifest: string;
  files: string[];
  locs: Locations;
  report: Reporter;
  opts: LoadOptions;
  /** What the schema already refused is not reported again as missing. */
  gone: (collection: string, name: string) => boolean;
  archNames: string[];
}

function normalize(input: Omit<Normalizing, 'gone' | 'archNames'> & { removed: Removed }): Spec | undefined {
  const { raw, manifest, files, locs, report, opts, removed } = input;
  const ctx: Normalizing = {
    raw,
    manifest,
    files,
    locs,
    report,
    opts,
    gone: (collection, name) => removed.names.has(`${collection}/${name}`) || removed.names.has(collection),
    archNames: Object.keys(raw.architectures),
  };
  report.setAside = (axis) => removed.names.has('axes') || removed.names.has(`axes/${axis}`) || (axis === 'python' && removed.names.has('python'));
  const templatesDir = raw.templates ?? opts.templates ?? join(manifest, '..', 'templates');

  // Axes: the python shorthand first (it expands on every release), then the spec's own.
  const axes = normalizeAxes(raw, report, ctx.gone, ctx.archNames, (path, keys) => writtenOrder(locs, files, path, keys));

  const releaseOrder = orderReleases(ctx);
  if (!releaseOrder) return undefined;
  const releases = normalizeReleases(ctx, axes, releaseOrder);
  const distros = normalizeDistros(ctx, axes, releases, releaseOrder);
  checkWhenNames(ctx, distros, releases);
  const exclude = normalizeExcludes(report, raw.exclude, axes, { distros: Object.keys(distros), releases: releaseOrder, architectures: ctx.archNames }, ctx.gone);
  const { registries, publish } = normalizeRegistries(ctx);
  checkTemplatesExist(ctx, templatesDir, distros, releases);
  if (raw.directory !== undefined) checkDirectoryTemplate(raw.directory, { axes }, (path, message, about) => report.error(path, message, 'value', about));
  checkCacheLocations(ctx, axes);
  const output = normalizeOutput(ctx, registries, publish);

  return {
    package: raw.package,
    description: raw.description,
    ...(raw.labels ? { labels: { ...raw.labels } } : {}),
    version: opts.version ?? raw.version,
    ...(opts.run ? { run: { ...opts.run } } : {}),
    ...(raw.dockerfile ? { dockerfile: { header: [...(raw.dockerfile.header ?? [])], env: { ...(raw.dockerfile.env ?? {}) } } } : {}),
    templatesDir,
    architectures: raw.architectures,
    axes,
    releases,
    releaseOrder,
    distros,
    ...(exclude.length ? { exclude } : {}),
    registries,
    publish: publish.filter((p) => registries[p]),
    directory: raw.directory,
    ...(output ? { output } : {}),
    library: raw.library ? { maintainers: raw.library.maintainers, gitRepo: raw.library.git_repo, builder: raw.library.builder } : undefined,
    build: buildSettings(raw),
    vars: { ...(raw.vars ?? {}), ...variablesFrom(report, raw.variables, raw.vars, opts.env) },
    source: { manifest, files, locations: locs, merged: raw as unknown as Record<string, unknown> },
  };
}

/**
 * `output:`, when written. A registry that pushes the README needs the README: with
 * `output.readme: false` there is none in the tree to show for what was pushed.
 */
function normalizeOutput({ raw, report }: Normalizing, registries: Record<string, Registry>, publish: string[]): Spec['output'] {
  if (!raw.output) return undefined;
  const o = raw.output;
  if (o.directory !== undefined) checkPackageDirectory(o.directory, (message) => report.error(['output', 'directory'], message, 'value'));
  const readme = o.readme ?? true;
  if (!readme) {
    for (const name of publish) {
      if (registries[name]?.readme) report.error(['registries', name, 'readme'], `registry "${name}" pushes the README, but output.readme: false writes none; set output.readme: true or drop readme: true here`, 'value');
    }
  }
  return { directory: o.directory ?? '{package}', readme, versions: o.versions ?? true };
}

/** Releases, parents before children; undefined when the parents form a cycle (reported). */
function orderReleases({ raw, report, gone }: Normalizing): string[] | undefined {
  const relGraph = new DirectedGraph();
  for (const name of Object.keys(raw.releases)) relGraph.addNode(name);
  for (const [name, r] of Object.entries(raw.releases)) {
    if (r.parent == null) continue;
    if (!raw.releases[r.parent]) {
      if (!gone('releases', r.parent)) report.error(['releases', name, 'parent'], `parent release "${r.parent}" does not exist (releases: ${Object.keys(raw.releases).join(', ')})`);
      continue;
    }
    relGraph.mergeEdge(r.parent, name);
  }
  if (hasCycle(relGraph)) {
    for (const cycle of releaseCycles(raw.releases)) {
      report.error(['releases', cycle[0]!, 'parent'], `release parents form a cycle: ${cycle.join(' -> ')} -> ${cycle[0]}`);
    }
    return undefined;
  }
  return topologicalSort(relGraph);
}

/** Every release in order, each inheriting its parent's axes and build args, and checked. */
function normalizeReleases(ctx: Normalizing, axes: Record<string, Axis>, releaseOrder: string[]): Record<string, Release> {
  const everywhere = Object.values(axes).filter((a) => a.everywhere).map((a) => a.name);
  const releases: Record<string, Release> = dict();
  for (const name of releaseOrder) {
    const r = ctx.raw.releases[name]!;
    const parent = r.parent ? releases[r.parent] : undefined;
    releases[name] = normalizeRelease(ctx, axes, name, r, parent, everywhere);
    if (r.path !== undefined) checkDirectoryTemplate(r.path, { axes }, (path, message, about) => ctx.report.error(path, message, 'value', about), { path: ['releases', name, 'path'], what: 'path' });
    checkReleasePlaceholders(ctx, axes, name, r, releases[name]!);
    releases[name]!.files.forEach((f, i) => checkFile(ctx.report, axes, ['releases', name, 'files', i], f, r.files![i]!.mode));
  }
  return releases;
}

function normalizeRelease(
  { report, gone }: Normalizing,
  axes: Record<string, Axis>,
  name: string,
  r: RawRelease,
  parentRelease: Release | undefined,
  everywhere: string[],
): Release {
  const parent = r.parent ?? undefined;
  for (const [i, ax] of (r.axes ?? []).entries()) {
    if (!axes[ax] && !gone('axes', ax)) report.error(['releases', name, 'axes', i], `unknown axis "${ax}" (axes: ${Object.keys(axes).join(', ') || 'none defined'})`);
  }
  const inherited = parent && parentRelease ? parentRelease.axes : everywhere;
  const ownAxes = (r.axes ?? []).filter((a) => axes[a]);
  const tags: TagTemplate[] = r.tags.map((t) =>
    typeof t === 'string'
      ? { template: t }
      : { template: t.template, when: t.when ? Object.fromEntries(Object.entries(t.when).map(([k, v]) => [k, typeof v === 'string' ? [v] : v])) : undefined, shared: t.shared },
  );
  return {
    name,
    description: r.description,
    parent,
    dockerfile: r.dockerfile ?? `${name}.Dockerfile`,
    path: r.path ?? name,
    files: normalizeFiles(r.files),
    tags,
    axes: uniq([...inherited, ...ownAxes]),
    // Build args are inherited down the release chain (a child builds on its parent's setup).
    ...inheritArgs(parent && parentRelease ? parentRelease : undefined, r.build_args),
    tests: (r.tests ?? []).map((t, i) => ({
      name: t.name,
      run: t.run,
      expect: { exitCode: t.expect?.exit_code ?? 0, output: checkedPattern(report, ['releases', name, 'tests', i, 'expect', 'output'], t.expect?.output) },
      timeout: t.timeout,
      ...(t.entrypoint === 'image' ? { entrypoint: 'image' as const } : {}),
    })),
    vars: r.vars ?? {},
    timeout: r.timeout,
    secrets: uniqueIds(report, ['releases', name, 'secrets'], (r.secrets ?? []).map((s) => ({ id: s.id, ...(s.env !== undefined ? { env: s.env } : {}), ...(s.src !== undefined ? { src: s.src } : {}) }))),
    ssh: uniqueIds(report, ['releases', name, 'ssh'], (r.ssh ?? []).map((s) => (typeof s === 'string' ? { id: s, paths: [] } : { id: s.id, paths: s.paths }))),
    entitlements: uniq(r.allow ?? []),
  };
}

/** Secret or SSH ids, each once: buildx takes the last of two with one id, silently. */
function uniqueIds<T extends { id: string }>(report: Reporter, at: SpecPath, items: T[]): T[] {
  const seen = new Set<string>();
  items.forEach((x, i) => {
    if (seen.has(x.id)) report.error([...at, i, 'id'], `id "${x.id}" is given twice`);
    seen.add(x.id);
  });
  return items;
}

/** The placeholders of a release's test commands, build args and tags, and what its tags' `when` tests. */
function checkReleasePlaceholders({ report }: Normalizing, axes: Record<string, Axis>, name: string, r: RawRelease, release: Release): void {
  const known = new Set([...tagVariables(), ...release.axes]);
  const unknownIn = (at: SpecPath, what: string, text: string) => {
    for (const v of templateVariables(text)) {
      if (!known.has(v)) report.error(at, `${what} uses unknown variable {${v}} (known here: ${[...known].map((k) => `{${k}}`).join(', ')})`, 'value', v);
    }
  };
  (r.tests ?? []).forEach((t, i) => {
    if (typeof t.run === 'string') unknownIn(['releases', name, 'tests', i, 'run'], 'test command', t.run);
    else t.run.forEach((arg, j) => unknownIn(['releases', name, 'tests', i, 'run', j], 'test command', arg));
    if (t.expect?.output !== undefined) unknownIn(['releases', name, 'tests', i, 'expect', 'output'], 'expected output', t.expect.output);
  });
  for (const [k, v] of Object.entries(r.build_args ?? {})) {
    if (typeof v === 'string') unknownIn(['releases', name, 'build_args', k], `build arg ${k}`, v);
    else unknownIn(['releases', name, 'build_args', k, 'ref'], `build arg ${k}`, v.ref);
  }
  release.tags.forEach((t, i) => {
    const at: SpecPath = typeof r.tags[i] === 'string' ? ['releases', name, 'tags', i] : ['releases', name, 'tags', i, 'template'];
    unknownIn(at, 'tag template', t.template);
    if (/[{}]/.test(t.template.replace(/\{[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\}/g, ''))) report.error(at, `tag template has an unmatched brace: ${t.template}`);
    for (const key of Object.keys(t.when ?? {})) {
      if (release.axes.includes(key)) {
        for (const v of t.when![key]!) {
          if (v !== 'default' && !(v in axes[key]!.values)) report.error(['releases', name, 'tags', i, 'when', key], `"${v}" is not a value of axis "${key}"`);
        }
      } else if (!tagVariables().includes(key) || ['version', 'package', 'sha', 'date'].includes(key)) {
        report.error(['releases', name, 'tags', i, 'when', key], `"when" can test ${[...release.axes, 'distro', 'alias', 'family', 'release'].join(', ')}; not "${key}"`, 'key', key);
      }
    }
  });
}

function normalizeDistros(ctx: Normalizing, axes: Record<string, Axis>, releases: Record<string, Release>, releaseOrder: string[]): Record<string, Distro> {
  const distros: Record<string, Distro> = dict();
  for (const [dname, d] of Object.entries(ctx.raw.distros)) distros[dname] = normalizeDistro(ctx, axes, releases, releaseOrder, dname, d);
  return distros;
}

function normalizeDistro(
  ctx: Normalizing,
  axes: Record<string, Axis>,
  releases: Record<string, Release>,
  releaseOrder: string[],
  dname: string,
  d: RawDistro,
): Distro {
  const { raw, report, gone, archNames } = ctx;
  // A distro is a directory beside the package's own generated files.
  if (GENERATED_FILES.has(dname.toLowerCase())) report.error(['distros', dname], `distro name "${dname}" is the name of a file generate writes beside the distro directories; rename the distro`, 'key');
  d.architectures.forEach((a, i) => {
    if (!raw.architectures[a] && !gone('architectures', a)) report.error(['distros', dname, 'architectures', i], `unknown architecture "${a}" (known: ${archNames.join(', ')})`);
  });
  const distroArches = d.architectures.filter((a) => raw.architectures[a]);
  const relEntries: DistroReleaseEntry[] = Array.isArray(d.releases)
    ? d.releases.map((r, i) => [r, ['distros', dname, 'releases', i], null])
    : Object.entries(d.releases).map(([r, v]) => [r, ['distros', dname, 'releases', r], v]);
  const listed = new Set<string>();
  for (const [rname, at] of relEntries) {
    if (!raw.releases[rname]) {
      if (!gone('releases', rname)) report.error(at, `unknown release "${rname}" (releases: ${Object.keys(raw.releases).join(', ')})`, 'key');
    }
    else if (listed.has(rname)) report.error(at, `release "${rname}" is listed twice`, 'key');
    listed.add(rname);
  }
  const archScope = (built: string[]) => ({ built, known: (a: string) => Object.hasOwn(raw.architectures, a), gone, archNames });
  const { axes: distroAxes, axisVars: distroAxisVars, axisArchVars: distroAxisArchVars } = restrictDistroAxes(report, axes, dname, d, [...listed].filter((r) => releases[r]).map((r) => releases[r]!), gone, archScope(distroArches));
  checkDistroImage(report, axes, dname, d.image, [...listed].filter((r) => releases[r] && !releases[r]!.parent).map((r) => releases[r]!));
  const out: Record<string, DistroRelease> = dict();
  for (const rname of releaseOrder) {
    const entry = relEntries.find(([n]) => n === rname);
    if (!entry) continue;
    const dr = normalizeDistroRelease(ctx, axes, releases, { dname, distroArches, distroAxes, listed, out }, entry);
    if (dr) out[rname] = dr;
  }
  return {
    name: dname,
    description: d.description,
    alias: d.alias ?? dname,
    family: d.family,
    packageManager: d.package_manager,
    image: d.image,
    templates: d.templates ?? d.family,
    ...(d.data ? { data: d.data } : {}),
    architectures: distroArches,
    axes: distroAxes,
    axisVars: distroAxisVars,
    axisArchVars: distroAxisArchVars,
    releases: out,
    ...inheritArgs(undefined, d.build_args),
    vars: d.vars ?? {},
  };
}

/** One release of a distro: its architectures and axis values within its parent's; undefined when it cannot be built. */
function normalizeDistroRelease(
  { raw, report, gone, archNames }: Normalizing,
  axes: Record<string, Axis>,
  releases: Record<string, Release>,
  distro: { dname: string; distroArches: string[]; distroAxes: Record<string, string[]>; listed: Set<string>; out: Record<string, DistroRelease> },
  [rname, at, over]: DistroReleaseEntry,
): DistroRelease | undefined {
  const { dname, distroArches, distroAxes, listed, out } = distro;
  const rel = releases[rname]!;
  const parentDR = rel.parent ? out[rel.parent] : undefined;
  if (rel.parent && !raw.releases[rel.parent]) return undefined; // reported with the release
  if (rel.parent && !listed.has(rel.parent) && !gone('releases', rel.parent)) {
    report.error(at, `release "${rname}" builds FROM "${rel.parent}", which distro "${dname}" does not list`, 'key');
    return undefined;
  }
  if (rel.parent && !parentDR) return undefined; // the parent had its own error
  const inheritedArches = parentDR ? parentDR.architectures : distroArches;
  let arches = inheritedArches;
  if (over?.architectures) {
    over.architectures.forEach((a, i) => {
      if (!raw.architectures[a]) {
        if (!gone('architectures', a)) report.error([...at, 'architectures', i], `unknown architecture "${a}" (known: ${archNames.join(', ')})`);
      }
      else if (!inheritedArches.includes(a)) {
        report.error([...at, 'architectures', i], parentDR
          ? `architecture "${a}" is not built for parent release "${rel.parent}" on ${dname} (${inheritedArches.join(', ')})`
          : `architecture "${a}" is not one of distro ${dname}'s architectures (${inheritedArches.join(', ')})`);
      }
    });
    arches = over.architectures.filter((a) => inheritedArches.includes(a));
  }
  const arch = { built: arches, known: (a: string) => Object.hasOwn(raw.architectures, a), gone, archNames };
  const { axes: axisValues, axisVars, axisArchVars } = restrictReleaseAxes(report, axes, releases, { distro: dname, release: rel, at, over, parentDR, distroAxes, arch }, gone);
  const files = normalizeFiles(over?.files);
  files.forEach((f, i) => checkFile(report, axes, [...at, 'files', i], f, over!.files![i]!.mode));
  return {
    architectures: arches,
    files,
    ...inheritArgs(undefined, over?.build_args),
    vars: over?.vars ?? {},
    axes: axisValues,
    axisVars,
    axisArchVars,
  };
}

/** A `when` naming a distro, alias, family or release that does not exist would drop its tag silently. */
function checkWhenNames({ report }: Normalizing, distros: Record<string, Distro>, releases: Record<string, Release>): void {
  const named: Record<string, string[]> = {
    distro: Object.keys(distros),
    alias: uniq(Object.values(distros).map((d) => d.alias)),
    family: uniq(Object.values(distros).map((d) => d.family)),
    release: Object.keys(releases),
  };
  for (const [rname, rel] of Object.entries(releases)) {
    rel.tags.forEach((t, i) => {
      for (const [key, wanted] of Object.entries(t.when ?? {})) {
        if (!Object.hasOwn(named, key) || rel.axes.includes(key)) continue;
        for (const w of wanted) {
          if ((w === 'default' && (key === 'distro' || key === 'alias')) || named[key]!.includes(w)) continue;
          report.error(['releases', rname, 'tags', i, 'when', key], `"${w}" is not a ${key} of this spec (${named[key]!.join(', ')}${key === 'distro' || key === 'alias' ? ', or default' : ''})`);
        }
      }
    });
  }
}

/** Registries with their hosts and staging repositories, and the names `publish` lists (unfiltered). */
function normalizeRegistries({ raw, report, gone }: Normalizing): { registries: Record<string, Registry>; publish: string[] } {
  const registries: Record<string, Registry> = dict();
  let badRepositoryReported = false;
  for (const [rname, r] of Object.entries(raw.registries ?? {})) {
    const host = r.host ?? DEFAULT_HOSTS[r.kind];
    if (!host) {
      report.error(['registries', rname], `registry kind "${r.kind}" needs a host`, 'key');
      continue;
    }
    const repository = r.repository ?? raw.repository ?? raw.package;
    // A repository name is lowercase (the distribution spec): `package: Mini` would fail at push.
    if (!badRepositoryReported && r.repository === undefined && raw.repository === undefined && !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(repository)) {
      badRepositoryReported = true;
      report.error(['package'], `"${repository}" cannot be a repository name (lowercase letters, digits and . _ - between them); registry "${rname}" would refuse every push. Rename the package or set \`repository:\``);
    }
    const staging = r.staging ?? (r.kind === 'ecr' ? 'same' : `${repository}-staging`);
    registries[rname] = {
      name: rname,
      kind: r.kind,
      host,
      namespace: r.namespace,
      repository,
      staging: `${host}/${r.namespace}/${staging === 'same' ? repository : staging}`,
      credentials: {
        usernameEnv: r.credentials?.username_env,
        passwordEnv: r.credentials?.password_env,
        tokenEnv: r.credentials?.token_env,
      },
      readme: r.readme ?? false,
      region: r.region,
      api: r.api,
    };
  }
  const publish = raw.publish ?? Object.keys(registries);
  (raw.publish ?? []).forEach((p, i) => {
    if (!raw.registries?.[p] && !gone('registries', p)) report.error(['publish', i], `unknown registry "${p}" (registries: ${Object.keys(raw.registries ?? {}).join(', ') || 'none defined'})`);
  });
  return { registries, publish };
}

/** Every template a distro release renders must exist. */
function checkTemplatesExist({ raw, report }: Normalizing, templatesDir: string, distros: Record<string, Distro>, releases: Record<string, Release>): void {
  for (const [dname, d] of Object.entries(distros)) {
    const data = d.data && templateFile(join(templatesDir, d.templates), d.data);
    if (data && !existsSync(data)) report.error(['distros', dname, 'data'], `data template "${d.data}" not found for distro ${dname} (looked for ${data})`);
    for (const rname of Object.keys(d.releases)) {
      const rel = releases[rname]!;
      const dir = join(templatesDir, d.templates);
      const check = (tpl: string, at: SpecPath) => {
        const p = templateFile(dir, tpl);
        if (!existsSync(p)) report.error(at, `template "${tpl}" not found for distro ${dname}, release ${rname} (looked for ${p})`);
      };
      const dfAt: SpecPath = raw.releases[rname]!.dockerfile ? ['releases', rname, 'dockerfile'] : ['distros', dname, 'releases'];
      check(rel.dockerfile, dfAt);
      const checkFile = (f: FileTemplate, at: SpecPath) => {
        if (f.template !== undefined) check(f.template, [...at, 'template']);
        else if (f.source !== undefined && !f.source.split(/[\\/]/).includes('..')) {
          const p = join(dir, f.source);
          if (!existsSync(p) || !statSync(p).isFile()) report.error([...at, 'source'], `source file "${f.source}" not found for distro ${dname}, release ${rname} (looked for ${p})`);
        }
      };
      rel.files.forEach((f, i) => checkFile(f, ['releases', rname, 'files', i]));
      d.releases[rname]!.files.forEach((f, i) => checkFile(f, ['distros', dname, 'releases', rname, 'files', i]));
    }
  }
}

/** Cache locations: the build's own placeholders and its axes (each checked per release in expand). */
function checkCacheLocations({ raw, report }: Normalizing, axes: Record<string, Axis>): void {
  for (const key of ['ref', 'scope', 'dir'] as const) {
    const text = raw.build?.cache?.[key];
    if (text === undefined) continue;
    const known = ['registry', 'repository', 'distro', 'release', 'arch', ...Object.keys(axes)];
    for (const v of templateVariables(text)) {
      if (!known.includes(v)) report.error(['build', 'cache', key], `cache ${key} uses unknown variable {${v}} (known: ${known.map((k) => `{${k}}`).join(', ')})`, 'value', v);
    }
  }
}

function buildSettings(raw: RawSpec): BuildSettings {
  return {
    ...(raw.build?.max_workers !== undefined ? { maxWorkers: raw.build.max_workers } : {}),
    timeout: raw.build?.timeout ?? 3600,
    parentArg: raw.build?.parent_arg ?? 'BASE_IMAGE',
    cache: raw.build?.cache,
    ...(raw.build?.attest ? { attest: { ...raw.build.attest } } : {}),
    multiPlatform: raw.build?.multi_platform ?? 'auto',
    runners: raw.build?.runners ?? {},
    defaultRunner: raw.build?.default_runner ?? 'ubuntu-latest',
  };
}

/**
 * Declared `variables`: the environment's value where it has one (own property; bounded and
 * free of control characters, as every spec value is), else the default.
 */
function variablesFrom(report: Reporter, declared: Record<string, string> | undefined, vars: Record<string, unknown> | undefined, env: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, fallback] of Object.entries(declared ?? {})) {
    if (vars && Object.hasOwn(vars, name)) {
      report.error(['variables', name], `"${name}" is both a variable and a var; a variable is a var the environment may set`, 'key');
      continue;
    }
    const value = Object.hasOwn(env, name) ? env[name] : undefined;
    if (value === undefined) out[name] = fallback;
    else if (value.length > 4096 || /[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/.test(value)) {
      report.error(['variables', name], `the environment's ${name} is over 4096 characters or holds a control character; it cannot reach a generated file`, 'key');
    } else out[name] = value;
  }
  return out;
}

/**
 * Build args of one level, on top of what it inherits: a floating (git) arg keeps its ref as
 * the value and its repository in gitArgs; a plain value written later replaces it.
 */
export function inheritArgs(
  inherited: { buildArgs: Record<string, string>; gitArgs: Record<string, GitRef> } | undefined,
  own: Record<string, string | { git: string; ref: string }> | undefined,
): { buildArgs: Record<string, string>; gitArgs: Record<string, GitRef> } {
  const buildArgs = { ...inherited?.buildArgs };
  const gitArgs = { ...inherited?.gitArgs };
  for (const [k, v] of Object.entries(own ?? {})) {
    if (typeof v === 'string') {
      buildArgs[k] = v;
      delete gitArgs[k];
    } else {
      buildArgs[k] = v.ref;
      gitArgs[k] = { url: v.git, ref: v.ref };
    }
  }
  return { buildArgs, gitArgs };
}


/** A test's expected output must be a regular expression (placeholders stand for literal text). */
function checkedPattern(report: Reporter, at: SpecPath, pattern: string | undefined): string | undefined {
  if (pattern === undefined) return undefined;
  try {
    new RegExp(pattern.replace(/\{[A-Za-z_]\w*\}/g, 'x'));
  } catch (e) {
    report.error(at, `expected output is not a valid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  return pattern;
}

export function templateFile(dir: string, name: string): string {
  return join(dir, name.endsWith('.eta') ? name : `${name}.eta`);
}

type RawFile = NonNullable<RawSpec['releases'][string]['files']>[number];

/** The spec's mode text ("0755") as permission bits; keys left out stay out, so contexts (and hashes) of specs without them do not change. */
function normalizeFiles(raw: RawFile[] | undefined): FileTemplate[] {
  return (raw ?? []).map((f) => ({
    path: f.path,
    ...(f.template !== undefined ? { template: f.template } : {}),
    ...(f.source !== undefined ? { source: f.source } : {}),
    ...(f.mode !== undefined ? { mode: parseInt(f.mode, 8) } : {}),
    ...(f.directory !== undefined ? { directory: f.directory } : {}),
  }));
}

// Control characters (tab and newline too) would reach the build context and the messages that name the file.
const PATH_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * A support file's path stays under its directory (relative, no `..`, no empty or `.` parts,
 * no control characters or backslashes, braces only in {arch}) and is not named like a
 * generated Dockerfile or its ignore file; it has exactly one of template and source; its
 * mode leaves it readable to its owner (generate compares it with what it would write); a
 * shared directory uses what the layout's `directory` may.
 */
function checkFile(report: Reporter, axes: Record<string, Axis>, at: SpecPath, f: FileTemplate, modeText: string | undefined): void {
  const p = f.path.replace(/\{arch\}/g, 'x');
  const parts = p.split('/');
  const bad = p.startsWith('/') || p.includes('\\') || PATH_CONTROL.test(p) || BIDI.test(p) || /[{}]/.test(p) || parts.some((s) => s === '' || s === '.' || s === '..');
  if (bad || (parts.length === 1 && p.startsWith('Dockerfile'))) {
    report.error([...at, 'path'], `file path ${JSON.stringify(f.path)} must be a plain file name or a relative path of names under its directory (no leading '/', no '..', '.' or empty parts, no backslashes or control characters, braces only in {arch}) and not start with "Dockerfile" (the generated Dockerfiles and their ignore files)`);
  }
  if ((f.template === undefined) === (f.source === undefined)) {
    report.error(at, f.template === undefined ? `file "${f.path}" needs a template (rendered) or a source (copied as it is)` : `file "${f.path}" has both a template and a source; give one`);
  }
  if (f.source !== undefined && (f.source.startsWith('/') || f.source.split(/[\\/]/).some((s) => s === '..' || s === '') || PATH_CONTROL.test(f.source) || BIDI.test(f.source))) {
    report.error([...at, 'source'], `file source "${f.source}" must be a relative path inside the distro template directory (no leading '/', no '..' or empty parts)`);
  }
  if (f.mode !== undefined && (f.mode & 0o400) === 0) {
    report.error([...at, 'mode'], `file mode "${modeText}" leaves the file unreadable to its owner; generate reads what it wrote`);
  }
  if (f.directory !== undefined) {
    checkDirectoryTemplate(f.directory, { axes }, (_path, message) => report.error([...at, 'directory'], `file ${message}`));
  }
}

function releaseCycles(releases: RawSpec['releases']): string[][] {
  const seen = new Set<string>();
  const cycles: string[][] = [];
  for (const start of Object.keys(releases)) {
    const chain: string[] = [];
    let cur: string | undefined = start;
    while (cur && releases[cur] && !chain.includes(cur)) {
      chain.push(cur);
      cur = releases[cur]!.parent ?? undefined;
    }
    if (cur && chain.includes(cur)) {
      const cyc = chain.slice(chain.indexOf(cur));
      const key = [...cyc].sort().join(',');
      if (!seen.has(key)) {
        seen.add(key);
        cycles.push(cyc.reverse());
      }
    }
  }
  return cycles;
}
