// Expands the spec's matrix into image variants: one per distro × release × value of each of
// the release's axes, each with its architectures, tags and build args. Pure.
import type { Diagnostic, SpecPath } from '../base/diagnostics.ts';
import { formatPath } from '../base/diagnostics.ts';
import { locate } from '../load/source.ts';
import type { Distro, DistroRelease, GitRef, Release, Spec, Vars } from '../load/spec.ts';
import { MissingVariable, TAG_RE, expandTemplate, tagApplies, templatePlaceholders, templateVariables, type Defaults, type Scope } from '../load/placeholders.ts';
import { checkDirectories, dockerfileName, fixedImage, generatedDirectory } from '../load/layout.ts';

export interface Variant {
  /** `debian11/cudnn/py3.9/cuda11.6.2`: unique, stable, safe as a path. */
  key: string;
  distro: string;
  release: string;
  /** Axis values, in the release's axis order (python, when the spec has it, first). */
  axes: Record<string, string>;
  arches: string[];
  /** Tags without registry, deduplicated, in template order. */
  tags: string[];
  /** Tags this image carries together with others (`shared: true`), in template order. */
  sharedTags: string[];
  /** The generated directory of its Dockerfile, relative to the package's: `bookworm/runtime`, `3.14/bookworm`. */
  dir: string;
  /** The Dockerfile's name in dir: `Dockerfile`, or `Dockerfile-conda` for a per-file axis value. */
  dockerfile: string;
  /** Per axis, the data of the image's value: the axis's vars, then the distro's, then the distro release's. */
  data: Record<string, Vars>;
  /** Axis args (PYTHON_VERSION …) and the spec's build args, variables expanded; not the parent arg. */
  buildArgs: Record<string, string>;
  /** Build args that follow a git ref (ref expanded); the lock turns each into a commit. */
  gitArgs: Record<string, GitRef>;
  parent?: string;
  /** Roots only: the external image they build FROM (the distro's image, variables expanded). */
  baseImage?: string;
  /** Values the tag templates saw. */
  vars: Record<string, string>;
  /** The release's image tests with placeholders filled (in `output`, as literal text). */
  tests: { name: string; run: string | string[]; exitCode: number; output?: string; timeout?: number; entrypoint?: 'image' }[];
}

export interface Expansion {
  variants: Variant[];
  byKey: Map<string, Variant>;
  diagnostics: Diagnostic[];
  /** What is worth saying but stops nothing: what each `exclude:` rule removed, or that it removed nothing. */
  notes: Diagnostic[];
  /** Per `exclude:` rule, in spec order, the image platforms it removed. */
  excluded: Excluded[];
}

export interface Excluded {
  /** The rule's spec path, `exclude[0]`. */
  path: string;
  /** Image key and architecture of each platform not planned (an image with none left is not planned). */
  removed: { image: string; arch: string }[];
}

/**
 * `distro/release` and each axis value after its id, in the release's axis order. A per-file
 * axis at its default is left out, as its Dockerfile's name leaves it out: adding such an axis
 * renames no existing image or task.
 */
export function variantKey(spec: Pick<Spec, 'axes'>, distro: string, release: string, axes: Record<string, string>): string {
  const shown = Object.entries(axes).filter(([a, v]) => !(spec.axes[a]?.render === 'per-file' && spec.axes[a]!.default === v));
  const axisPart = shown.map(([a, v]) => `/${spec.axes[a]?.id ?? a}${v}`).join('');
  return `${distro}/${release}${axisPart}`;
}

function cartesian(axes: [string, string[]][]): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const [name, values] of axes) {
    const next: Record<string, string>[] = [];
    for (const o of out) for (const v of values) next.push({ ...o, [name]: v });
    out = next;
  }
  return out;
}

/** What expanding the whole matrix shares: the spec, the problems so far, and the images and tags made so far. */
interface Expanding {
  spec: Spec;
  /** Reports a problem once per `once` (its message unless given). */
  error: (path: SpecPath, message: string, once?: string) => void;
  variants: Variant[];
  byKey: Map<string, Variant>;
  tagOwner: Map<string, { variant: string; tagIndex: number; shared: boolean; at: SpecPath }>;
  axisDefaults: Record<string, string>;
  distroNames: string[];
  aliasOwner: Map<string, string>;
  /** Each placeholder of the cache locations, with the location it is in. */
  cacheVars: [string, 'ref' | 'scope' | 'dir'][];
  /** Per `exclude:` rule, what it removed so far. */
  excluded: Excluded['removed'][];
}

/** One image being expanded: where it is in the spec, and what its templates see. */
interface Scoped {
  distro: Distro;
  rname: string;
  rel: Release;
  dr: DistroRelease;
  drAt: SpecPath;
  axes: Record<string, string>;
  scope: Scope;
}

export function expand(spec: Spec): Expansion {
  const diagnostics: Diagnostic[] = [];
  const reported = new Set<string>();
  const error = (path: SpecPath, message: string, once = message) => {
    if (reported.has(once)) return;
    reported.add(once);
    diagnostics.push({ severity: 'error', path: formatPath(path), message, ...(locate(spec.source.locations, path) ?? { file: spec.source.manifest, line: 1, column: 1 }) });
  };
  const aliasOwner = new Map<string, string>();
  for (const d of Object.values(spec.distros)) if (!aliasOwner.has(d.alias)) aliasOwner.set(d.alias, d.name);
  const cache = spec.build.cache;
  const ctx: Expanding = {
    spec,
    error,
    variants: [],
    byKey: new Map(),
    tagOwner: new Map(),
    axisDefaults: Object.fromEntries(Object.values(spec.axes).map((a) => [a.name, a.default])),
    distroNames: Object.keys(spec.distros),
    aliasOwner,
    cacheVars: (['ref', 'scope', 'dir'] as const).flatMap((k) => templateVariables(cache?.[k] ?? '').map((v): [string, 'ref' | 'scope' | 'dir'] => [v, k])),
    excluded: (spec.exclude ?? []).map(() => []),
  };

  for (const distro of Object.values(spec.distros)) {
    for (const rname of spec.releaseOrder) {
      const dr = distro.releases[rname];
      if (dr) expandDistroRelease(ctx, distro, rname, dr);
    }
  }
  checkSharedPlatforms(ctx);
  checkDirectories(ctx.variants, spec, (path, message) => error(path, message));
  const { notes, excluded } = excludeNotes(spec, ctx.excluded);
  return { variants: ctx.variants, byKey: ctx.byKey, diagnostics, notes, excluded };
}

/** One line per `exclude:` rule: the platforms it removed (info), or that it removed nothing (a warning: a stale rule or a typo'd combination). */
function excludeNotes(spec: Spec, removed: Excluded['removed'][]): { notes: Diagnostic[]; excluded: Excluded[] } {
  const notes: Diagnostic[] = [];
  const excluded: Excluded[] = [];
  (spec.exclude ?? []).forEach((rule, i) => {
    const at: SpecPath = ['exclude', rule.index];
    const gone = removed[i]!;
    const where = locate(spec.source.locations, at) ?? { file: spec.source.manifest, line: 1, column: 1 };
    excluded.push({ path: formatPath(at), removed: gone });
    const what = Object.entries(rule.match).map(([k, vs]) => `${k} ${vs.join('|')}`).join(', ');
    if (gone.length === 0) {
      notes.push({ severity: 'warning', path: formatPath(at), message: `exclude rule (${what}) removes nothing: no planned image matches it`, ...where });
      return;
    }
    const byImage = new Map<string, string[]>();
    for (const r of gone) byImage.set(r.image, [...(byImage.get(r.image) ?? []), r.arch]);
    const listed = [...byImage].map(([image, arches]) => `${image} (${arches.join(', ')})`);
    const shown = listed.length > 12 ? [...listed.slice(0, 12), `and ${listed.length - 12} more`] : listed;
    notes.push({ severity: 'info', path: formatPath(at), message: `exclude rule (${what}) removes ${gone.length} platform${gone.length === 1 ? '' : 's'} of ${byImage.size} image${byImage.size === 1 ? '' : 's'}: ${shown.join(', ')}`, ...where });
  });
  return { notes, excluded };
}

/** Whether a rule matches an image, arch aside: an axis the image does not have never matches. */
function ruleMatches(match: Record<string, string[]>, image: Record<string, string>): boolean {
  return Object.entries(match).every(([k, vs]) => k === 'arch' || (Object.hasOwn(image, k) && vs.includes(image[k]!)));
}

/** Every image of one release on one distro: one per combination of its axis values that has a platform. */
function expandDistroRelease(ctx: Expanding, distro: Distro, rname: string, dr: DistroRelease): void {
  const { spec, error } = ctx;
  const rel = spec.releases[rname]!;
  const drAt: SpecPath = ['distros', distro.name, 'releases', rname];
  for (const [v, k] of ctx.cacheVars) {
    if (Object.hasOwn(spec.axes, v) && !rel.axes.includes(v)) {
      error(['build', 'cache', k], `cache ${k} uses {${v}}, but release "${rname}" does not expand over axis "${v}"`);
    }
  }
  const axisChoices: [string, string[]][] = rel.axes.map((a) => [a, dr.axes[a] ?? []]);
  const excludedBefore = ctx.excluded.map((r) => r.length);
  let made = 0;
  for (const axes of cartesian(axisChoices)) {
    const v = expandVariant(ctx, distro, rname, rel, dr, drAt, axes);
    if (!v) continue;
    made++;
    ctx.variants.push(v);
    ctx.byKey.set(v.key, v);
  }
  if (made === 0 && rel.axes.every((a) => (dr.axes[a] ?? []).length > 0)) {
    // Restrictions that empty an axis are reported where they are written; this is the rest.
    const parentHas = !rel.parent || ctx.variants.some((x) => x.distro === distro.name && x.release === rel.parent);
    const rules = (spec.exclude ?? []).filter((_, i) => ctx.excluded[i]!.length > excludedBefore[i]!).map((r) => `exclude[${r.index}]`);
    if (parentHas && rules.length) error(drAt, `release "${rname}" on distro ${distro.name} has no image: ${rules.join(', ')} remove${rules.length === 1 ? 's' : ''} every one; stop listing the release on this distro instead`);
    else error(drAt, parentHas
      ? `release "${rname}" on distro ${distro.name} has no image: no combination of ${rel.axes.map((a) => `${a} (${dr.axes[a]!.join(', ')})`).join(', ') || 'its values'} exists on its architectures (${dr.architectures.join(', ')})${rel.parent ? ` that parent release "${rel.parent}" also builds` : ''}`
      : `release "${rname}" on distro ${distro.name} has no image, because its parent release "${rel.parent}" has none there`);
  }
}

/** One image, or undefined when no platform is left for it (or its parent has no image). */
function expandVariant(ctx: Expanding, distro: Distro, rname: string, rel: Release, dr: DistroRelease, drAt: SpecPath, axes: Record<string, string>): Variant | undefined {
  const { spec, error } = ctx;
  let arches = dr.architectures.filter((arch) =>
    Object.entries(axes).every(([a, v]) => {
      const av = spec.axes[a]!.values[v]!;
      return !av.architectures || Object.hasOwn(av.architectures, arch);
    }),
  );
  const key = variantKey(spec, distro.name, rname, axes);
  (spec.exclude ?? []).forEach((rule, i) => {
    if (!ruleMatches(rule.match, { distro: distro.name, release: rname, ...axes })) return;
    const out = rule.match['arch'] ? arches.filter((a) => rule.match['arch']!.includes(a)) : arches;
    for (const arch of out) ctx.excluded[i]!.push({ image: key, arch });
    arches = arches.filter((a) => !out.includes(a));
  });
  let parentKey: string | undefined;
  if (rel.parent) {
    const parentAxes = Object.fromEntries(spec.releases[rel.parent]!.axes.map((a) => [a, axes[a]!]));
    parentKey = variantKey(spec, distro.name, rel.parent, parentAxes);
    const pv = ctx.byKey.get(parentKey);
    if (!pv) return undefined;
    arches = arches.filter((a) => pv.arches.includes(a));
  }
  if (arches.length === 0) return undefined;
  const vars: Record<string, string | undefined> = {
    package: spec.package,
    version: spec.version,
    sha: spec.run?.sha,
    date: spec.run?.date,
    distro: distro.name,
    alias: distro.alias,
    family: distro.family,
    release: rname,
    ...axes,
  };
  const data: Record<string, Vars> = {};
  for (const [a, val] of Object.entries(axes)) {
    data[a] = { ...spec.axes[a]!.values[val]!.vars, ...distro.axisVars[a]?.[val], ...dr.axisVars[a]?.[val] };
  }
  const scoped: Scoped = { distro, rname, rel, dr, drAt, axes, scope: { vars, data } };
  const { tags, sharedTags } = expandTags(ctx, scoped, key);
  const { buildArgs, gitArgs } = expandBuildArgs(ctx, scoped);
  let baseImage: string | undefined;
  if (!parentKey) {
    try {
      baseImage = expandTemplate(fixedImage(spec, distro.image, axes, data), scoped.scope);
    } catch (e) {
      if (!(e instanceof MissingVariable)) throw e;
      // Validation names the variable; nothing more to say per image.
    }
  }
  const tests = expandTests(ctx, scoped);
  let dir: string;
  try {
    dir = generatedDirectory(spec, distro, rel, axes);
  } catch (e) {
    if (!(e instanceof MissingVariable)) throw e;
    const inPath = rel.path !== rname && templatePlaceholders(rel.path).includes(e.variable);
    error(inPath ? ['releases', rname, 'path'] : ['directory'], `${inPath ? 'path' : 'directory'} uses {${e.variable}}, but release "${rname}" does not expand over axis "${e.variable}"`);
    dir = key;
  }
  return {
    key,
    distro: distro.name,
    release: rname,
    axes,
    arches,
    tags,
    sharedTags,
    dir,
    dockerfile: dockerfileName(spec, axes),
    data,
    buildArgs,
    gitArgs,
    parent: parentKey,
    baseImage,
    vars: Object.fromEntries(Object.entries(vars).filter(([, x]) => x !== undefined)) as Record<string, string>,
    tests,
  };
}

/** The image's tags (its own, and those it shares), each claimed for it in `tagOwner`. */
function expandTags(ctx: Expanding, { distro, rname, rel, scope }: Scoped, key: string): { tags: string[]; sharedTags: string[] } {
  const { error, tagOwner } = ctx;
  const defaults: Defaults = { axes: ctx.axisDefaults, firstDistro: ctx.distroNames[0] === distro.name, firstOfAlias: ctx.aliasOwner.get(distro.alias) === distro.name };
  const tags: string[] = [];
  const sharedTags: string[] = [];
  rel.tags.forEach((t, i) => {
    if (!tagApplies(t, scope.vars, defaults)) return;
    const at: SpecPath = ['releases', rname, 'tags', i];
    try {
      const tag = expandTemplate(t.template, scope);
      if (!TAG_RE.test(tag)) {
        error(at, `tag template "${t.template}" gives "${tag}", which is not a valid Docker tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`, `badtag:${rname}:${i}`);
        return;
      }
      const shared = Boolean(t.shared);
      const owner = tagOwner.get(tag);
      // A shared tag may go to several images (their platforms are checked when planning).
      if (owner && owner.variant !== key && !(shared && owner.shared)) {
        error(at, `tag template "${t.template}" gives tag "${tag}" to both ${owner.variant} and ${key}; add a variable that tells them apart${shared !== owner.shared ? ' (a tag is shared by every image that carries it, or by none)' : ''}`, `dup:${rname}:${i}`);
        return;
      }
      if (!owner) tagOwner.set(tag, { variant: key, tagIndex: i, shared, at });
      const list = shared ? sharedTags : tags;
      if (!list.includes(tag) && !(shared ? tags : sharedTags).includes(tag)) list.push(tag);
    } catch (e) {
      if (!(e instanceof MissingVariable)) throw e;
      if (e.variable === 'version') {
        error(['version'], `tag template "${t.template}" of release ${rname} needs a version: set "version" in the spec or pass --target-version`, 'needs-version');
      } else if (e.variable === 'sha' || e.variable === 'date') {
        error(at, `tag template "${t.template}" needs the ${e.variable === 'sha' ? 'commit: run it in a git repository, or set GITHUB_SHA' : 'run\'s date'}`, `needs-${e.variable}:${rname}:${i}`);
      } else error(at, missing(e, `tag template "${t.template}"`));
    }
  });
  return { tags, sharedTags };
}

/** Axis args, then the release's, distro's and distro release's build args, variables expanded. */
function expandBuildArgs({ spec, error }: Expanding, { distro, rname, rel, dr, drAt, axes, scope }: Scoped): { buildArgs: Record<string, string>; gitArgs: Record<string, GitRef> } {
  // Axis values reach the Dockerfile through the args their axes declare.
  const buildArgs: Record<string, string> = {};
  const axisOfArg = new Map<string, string>();
  for (const [a, v] of Object.entries(axes)) {
    const arg = spec.axes[a]!.arg;
    if (!arg) continue;
    buildArgs[arg] = v;
    axisOfArg.set(arg, a);
  }
  const merged = { ...rel.buildArgs, ...distro.buildArgs, ...dr.buildArgs };
  // The last level that writes an arg decides whether it floats.
  const gitArgs: Record<string, GitRef> = {};
  for (const level of [rel, distro, dr]) {
    for (const k of Object.keys(level.buildArgs)) {
      if (Object.hasOwn(level.gitArgs, k)) gitArgs[k] = level.gitArgs[k]!;
      else delete gitArgs[k];
    }
  }
  for (const [k, v] of Object.entries(merged)) {
    const where: SpecPath = Object.hasOwn(dr.buildArgs, k) ? [...drAt, 'build_args', k]
      : Object.hasOwn(distro.buildArgs, k) ? ['distros', distro.name, 'build_args', k] : ['releases', rname, 'build_args', k];
    if (axisOfArg.has(k)) {
      error(where, `build arg ${k} is set by axis "${axisOfArg.get(k)}"; use {${axisOfArg.get(k)}} elsewhere, or give the axis another arg`);
      continue;
    }
    try {
      buildArgs[k] = expandTemplate(v, scope);
      if (gitArgs[k]) gitArgs[k] = { url: gitArgs[k].url, ref: buildArgs[k] };
    } catch (e) {
      if (!(e instanceof MissingVariable)) throw e;
      error(where, missing(e, `build arg ${k}`));
    }
  }
  if (spec.build.parentArg in buildArgs) {
    error(['build', 'parent_arg'], `build arg ${spec.build.parentArg} is reserved for the parent image; rename it or set build.parent_arg`);
  }
  return { buildArgs, gitArgs };
}

/** The release's tests with the image's placeholders filled (as literal text in an expected output). */
function expandTests({ error }: Expanding, { rname, rel, scope }: Scoped): Variant['tests'] {
  const fill = (text: string, at: SpecPath, what: string, escape?: (x: string) => string): string => {
    try {
      return expandTemplate(text, scope, escape);
    } catch (e) {
      if (!(e instanceof MissingVariable)) throw e;
      error(at, missing(e, what));
      return text;
    }
  };
  return rel.tests.map((t, i) => {
    const at: SpecPath = ['releases', rname, 'tests', i];
    return {
      name: t.name,
      run: typeof t.run === 'string' ? fill(t.run, [...at, 'run'], 'test command') : t.run.map((a, j) => fill(a, [...at, 'run', j], 'test command')),
      exitCode: t.expect.exitCode,
      output: t.expect.output === undefined ? undefined : fill(t.expect.output, [...at, 'expect', 'output'], 'expected output', escapeRegExp),
      timeout: t.timeout,
      ...(t.entrypoint ? { entrypoint: t.entrypoint } : {}),
    };
  });
}

/** A shared tag is one index: two images in it must not both have a platform. */
function checkSharedPlatforms({ spec, error, variants, tagOwner }: Expanding): void {
  const platformOwner = new Map<string, string>();
  for (const v of variants) {
    for (const tag of v.sharedTags) {
      for (const arch of v.arches) {
        const k = `${tag} ${spec.architectures[arch]}`;
        const other = platformOwner.get(k);
        if (other && other !== v.key) error(tagOwner.get(tag)!.at, `shared tag "${tag}" would hold ${spec.architectures[arch]} of both ${other} and ${v.key}; the images sharing a tag must have different platforms`, `shared:${tag}`);
        else platformOwner.set(k, v.key);
      }
    }
  }
}

function missing(e: MissingVariable, what: string): string {
  return e.why ? `${what} uses {${e.variable}}: ${e.why}` : `${what} uses {${e.variable}}, which has no value here${e.variable === 'version' ? ' (set "version" or pass --target-version)' : ''}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
