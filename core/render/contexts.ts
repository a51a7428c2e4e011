// What templates see. Kept to the data a directory's files can depend on: adding an axis
// value or a registry does not change any Dockerfile's context, so it rebuilds nothing.
import type { Variant } from '../matrix/expand.ts';
import { parentDefault, rootDefault } from './from-default.ts';
import { fixedAxes, layoutScope } from '../load/layout.ts';
import { expandTemplate } from '../load/placeholders.ts';
import { dockerPlatformParts, publishRepositories } from '../load/repositories.ts';
import type { Spec, Vars } from '../load/spec.ts';

export interface DirectoryContext {
  /** The spec's `dockerfile.env`, as values and as one ENV instruction (absent without one). */
  env?: Record<string, string>;
  env_block?: string;
  package: { name: string; description?: string };
  distro: {
    name: string;
    alias: string;
    family: string;
    package_manager: string;
    /** The distro image for FROM lines: each {axis} as its build arg (${PYTHON_VERSION}), constants filled. */
    image: string;
  };
  release: { name: string; description?: string; parent: string | null };
  /** Build arg naming the parent image; null for root releases. */
  parent_arg: string | null;
  /**
   * What the Dockerfile builds FROM: the build arg the tool fills in (the parent's exact image,
   * or a root's base image pinned by the lock file) and, for roots, its default for manual builds.
   */
  from: {
    arg: string;
    /** Roots: the distro image; children: the parent's published tag. `${ARG}` where a build arg carries a value; null when none can be written. */
    default: string | null;
    /** Build args the default uses, to declare with ARG before FROM (`PYTHON_VERSION`). */
    args: string[];
  };
  /**
   * Per architecture, `axes`: per axis, per value built here that exists on it, its data there: the
   * value's vars, its own per-architecture data, then the distro's and the distro release's for it.
   */
  architectures: { name: string; platform: string; os: string; arch: string; variant?: string; axes: Record<string, Record<string, Vars>> }[];
  /** The release's axes: values built in this directory, the default, and the build arg carrying the value. */
  axes: Record<string, { default: string; values: string[]; arg: string | null }>;
  /**
   * Axes whose templates see the value (`render: per-value` or `per-file`): this Dockerfile's value and its
   * data (the axis's vars, then the distro's, then the distro release's). `it.values.python.vars.version`.
   */
  values: Record<string, { value: string; vars: Vars }>;
  /** Build args the axes set (PYTHON_VERSION …): a root declares them before FROM when its image uses them. */
  axis_args: string[];
  /** Other build args the Dockerfile should declare (axis args and the parent arg excluded). */
  build_args: string[];
  /**
   * Defaults for those of them that have one value across the directory's images (a version,
   * a branch), written ready for `ARG NAME=<default>` (quoted when needed): a build by hand,
   * as the design notes do it, then needs only the axis args.
   */
  build_arg_defaults: Record<string, string>;
  vars: Vars;
  /**
   * The support files, one per architecture where `path` has {arch}. `path` is relative to
   * `directory` when the file has one (resolved for this directory's images), else to the
   * image's directory; `mode` is octal text ("0755"), given only when the spec sets it.
   */
  files: SupportFile[];
  /** The distro's data template's output (core/plan/plan.ts renders it); absent without one. */
  computed?: Record<string, unknown>;
}

export interface SupportFile {
  path: string;
  template?: string;
  source?: string;
  arch?: string;
  mode?: string;
  directory?: string;
}

export function directoryContext(spec: Spec, distroName: string, releaseName: string, variants: Variant[]): DirectoryContext {
  const distro = spec.distros[distroName]!;
  const rel = spec.releases[releaseName]!;
  const dr = distro.releases[releaseName]!;
  const archNames = [...new Set(variants.flatMap((v) => v.arches))].sort(
    (a, b) => distro.architectures.indexOf(a) - distro.architectures.indexOf(b),
  );
  const axisValues: Record<string, Set<string>> = {};
  for (const v of variants) for (const [a, val] of Object.entries(v.axes)) (axisValues[a] ??= new Set()).add(val);
  const axes = Object.fromEntries(
    rel.axes.map((a) => [a, { default: spec.axes[a]!.default, values: [...(axisValues[a] ?? [])], arg: spec.axes[a]!.arg ?? null }]),
  );
  const axisArgs = rel.axes.flatMap((a) => (spec.axes[a]!.arg ? [spec.axes[a]!.arg!] : []));
  // Every image of a Dockerfile has the same per-value and per-file axis values (core/load/layout.ts checks it).
  const first = variants[0]!;
  const values = Object.fromEntries(fixedAxes(spec, first.axes).map(([a, v]) => [a, { value: v, vars: first.data[a] ?? {} }]));
  const from = rel.parent
    ? parentDefault(spec, distro, releaseName, first.axes, first.data, { ...rel.buildArgs, ...distro.buildArgs, ...dr.buildArgs })
    : rootDefault(spec, distro, first.axes, first.data);
  const architectures = archNames.map((name) => {
    const platform = spec.architectures[name]!;
    const perAxis: Record<string, Record<string, Vars>> = {};
    for (const a of rel.axes) {
      perAxis[a] = {};
      for (const val of axes[a]!.values) {
        const av = spec.axes[a]!.values[val]!;
        if (!av.architectures || name in av.architectures) {
          // Like an image's data: the axis value's, then the distro's, then the distro release's.
          perAxis[a]![val] = { ...av.vars, ...(av.architectures?.[name] ?? {}), ...distro.axisArchVars[a]?.[val]?.[name], ...dr.axisArchVars[a]?.[val]?.[name] };
        }
      }
    }
    return { name, platform, ...dockerPlatformParts(platform), axes: perAxis };
  });
  const buildArgNames = new Set<string>();
  for (const v of variants) for (const k of Object.keys(v.buildArgs)) if (!axisArgs.includes(k)) buildArgNames.add(k);
  const buildArgDefaults: Record<string, string> = {};
  for (const k of buildArgNames) {
    const values = new Set(variants.map((v) => v.buildArgs[k]));
    const [only] = values;
    if (values.size === 1 && only !== undefined) buildArgDefaults[k] = /^[A-Za-z0-9._:/@+=,-]*$/.test(only) ? only : JSON.stringify(only);
  }
  // Keys a file does not set stay out, so a spec without them renders (and hashes) as before.
  const files = [...rel.files, ...dr.files].flatMap((f) => {
    const common: Omit<SupportFile, 'path'> = {
      ...(f.template !== undefined ? { template: f.template } : {}),
      ...(f.source !== undefined ? { source: f.source } : {}),
      ...(f.mode !== undefined ? { mode: f.mode.toString(8).padStart(4, '0') } : {}),
      ...(f.directory !== undefined ? { directory: expandTemplate(f.directory, layoutScope(spec, distro, rel, first.axes)) } : {}),
    };
    return f.path.includes('{arch}')
      ? archNames.map((arch) => ({ path: f.path.replaceAll('{arch}', arch), ...common, arch }))
      : [{ path: f.path, ...common }];
  });
  return {
    package: { name: spec.package, description: spec.description },
    distro: {
      name: distro.name,
      alias: distro.alias,
      family: distro.family,
      package_manager: distro.packageManager,
      image: rootDefault(spec, distro, first.axes, first.data).value!,
    },
    release: { name: rel.name, description: rel.description, parent: rel.parent ?? null },
    parent_arg: rel.parent ? spec.build.parentArg : null,
    from: { arg: spec.build.parentArg, default: from.value, args: from.args },
    architectures,
    axes,
    values,
    axis_args: axisArgs,
    build_args: [...buildArgNames].sort(),
    build_arg_defaults: buildArgDefaults,
    vars: { ...spec.vars, ...distro.vars, ...rel.vars, ...dr.vars },
    files,
    // Only when the spec has one, so specs without it render (and hash) as before.
    ...(spec.dockerfile && Object.keys(spec.dockerfile.env).length ? { env: spec.dockerfile.env, env_block: envBlock(spec.dockerfile.env) } : {}),
  };
}

/** `ENV A="1" \\n    B="2"`: one instruction, each value quoted as a Dockerfile reads it. */
export function envBlock(env: Record<string, string>): string {
  const quote = (v: string) => `"${v.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
  return `ENV ${Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`).join(' \\\n    ')}`;
}

export interface DocsContext {
  package: { name: string; description?: string; version?: string };
  registries: { name: string; kind: string; repository: string }[];
  releases: { name: string; description?: string; parent: string | null }[];
  distros: { name: string; alias: string; architectures: string[] }[];
  parent_arg: string;
  /** The axes of the images, in spec order; `column` when every image has the axis (a table column). */
  axes: { name: string; description?: string; column: boolean }[];
  images: {
    key: string;
    distro: string;
    release: string;
    /** The key of the image it builds FROM, or null for a root. */
    parent: string | null;
    axes: Record<string, string>;
    platforms: string[];
    tags: string[];
    /** Tags the image carries together with other images (`shared: true`). */
    shared_tags: string[];
    build_args: Record<string, string>;
    context: string;
    /** The Dockerfile's name in context (`Dockerfile`, or a per-file axis value's). */
    dockerfile: string;
  }[];
}

export function docsContext(spec: Spec, variants: Variant[]): DocsContext {
  return {
    package: { name: spec.package, description: spec.description, version: spec.version },
    registries: publishRepositories(spec).map(({ registry, repository }) => ({ name: registry.name, kind: registry.kind, repository })),
    releases: spec.releaseOrder.map((r) => ({
      name: r,
      description: spec.releases[r]!.description,
      parent: spec.releases[r]!.parent ?? null,
    })),
    distros: Object.values(spec.distros).map((d) => ({ name: d.name, alias: d.alias, architectures: d.architectures })),
    parent_arg: spec.build.parentArg,
    axes: Object.values(spec.axes)
      .filter((a) => variants.some((v) => Object.hasOwn(v.axes, a.name)))
      .map((a) => ({ name: a.name, description: a.description, column: variants.every((v) => Object.hasOwn(v.axes, a.name)) })),
    images: variants.map((v) => ({
      key: v.key,
      distro: v.distro,
      release: v.release,
      parent: v.parent ?? null,
      axes: v.axes,
      platforms: v.arches.map((a) => spec.architectures[a]!),
      tags: v.tags,
      shared_tags: v.sharedTags,
      build_args: v.buildArgs,
      context: v.dir,
      dockerfile: v.dockerfile,
    })),
  };
}
