// What templates see. Kept to the data a directory's files can depend on: adding a Python
// version or a registry does not change any Dockerfile's context, so it rebuilds nothing.
import type { Variant } from './expand.ts';
import { dockerPlatformParts, publishRepositories } from './refs.ts';
import type { Spec, Vars } from './spec.ts';

export interface DirectoryContext {
  package: { name: string; description?: string };
  distro: {
    name: string;
    alias: string;
    family: string;
    package_manager: string;
    /** The distro image with {python} turned into ${PYTHON_VERSION}, for FROM lines. */
    image: string;
  };
  release: { name: string; description?: string; parent: string | null };
  /** Build arg naming the parent image; null for root releases. */
  parent_arg: string | null;
  /**
   * What the Dockerfile builds FROM: the build arg the tool fills in (the parent's exact image,
   * or a root's base image pinned by the lock file) and, for roots, its default for manual builds.
   */
  from: { arg: string; default: string | null };
  architectures: { name: string; platform: string; os: string; arch: string; variant?: string; axes: Record<string, Record<string, Vars>> }[];
  axes: Record<string, { default: string; values: string[] }>;
  /** Build args the Dockerfile should declare (PYTHON_VERSION and the parent arg excluded). */
  build_args: string[];
  vars: Vars;
  files: { path: string; template: string; arch?: string }[];
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
    rel.axes.map((a) => [a, { default: spec.axes[a]!.default, values: [...(axisValues[a] ?? [])] }]),
  );
  const architectures = archNames.map((name) => {
    const platform = spec.architectures[name]!;
    const perAxis: Record<string, Record<string, Vars>> = {};
    for (const a of rel.axes) {
      perAxis[a] = {};
      for (const val of axes[a]!.values) {
        const av = spec.axes[a]!.values[val]!;
        if (!av.architectures || name in av.architectures) {
          perAxis[a]![val] = { ...av.vars, ...(av.architectures?.[name] ?? {}) };
        }
      }
    }
    return { name, platform, ...dockerPlatformParts(platform), axes: perAxis };
  });
  const buildArgNames = new Set<string>();
  for (const v of variants) for (const k of Object.keys(v.buildArgs)) if (k !== 'PYTHON_VERSION') buildArgNames.add(k);
  const files = [...rel.files, ...dr.files].flatMap((f) =>
    f.path.includes('{arch}')
      ? archNames.map((arch) => ({ path: f.path.replaceAll('{arch}', arch), template: f.template, arch }))
      : [{ path: f.path, template: f.template }],
  );
  return {
    package: { name: spec.package, description: spec.description },
    distro: {
      name: distro.name,
      alias: distro.alias,
      family: distro.family,
      package_manager: distro.packageManager,
      image: distro.image.replaceAll('{python}', '${PYTHON_VERSION}'),
    },
    release: { name: rel.name, description: rel.description, parent: rel.parent ?? null },
    parent_arg: rel.parent ? spec.build.parentArg : null,
    from: { arg: spec.build.parentArg, default: rel.parent ? null : distro.image.replaceAll('{python}', '${PYTHON_VERSION}') },
    architectures,
    axes,
    build_args: [...buildArgNames].sort(),
    vars: { ...spec.vars, ...distro.vars, ...rel.vars, ...dr.vars },
    files,
  };
}

export interface DocsContext {
  package: { name: string; description?: string; version?: string };
  registries: { name: string; kind: string; repository: string }[];
  releases: { name: string; description?: string; parent: string | null }[];
  distros: { name: string; alias: string; architectures: string[] }[];
  parent_arg: string;
  images: {
    key: string;
    distro: string;
    release: string;
    python: string;
    axes: Record<string, string>;
    platforms: string[];
    tags: string[];
    build_args: Record<string, string>;
    context: string;
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
    images: variants.map((v) => ({
      key: v.key,
      distro: v.distro,
      release: v.release,
      python: v.python,
      axes: v.axes,
      platforms: v.arches.map((a) => spec.architectures[a]!),
      tags: v.tags,
      build_args: v.buildArgs,
      context: `${v.distro}/${v.release}`,
    })),
  };
}
