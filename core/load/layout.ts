// Where each generated Dockerfile goes. One directory per distro × release, and per value of
// each axis whose templates see the value (`render: per-value`): `bookworm/runtime`, or
// `3.14/bookworm` as docker-library lays out the official images with `directory:
// "{python}/{distro}"`. Pure.
import type { SpecPath } from '../base/diagnostics.ts';
import type { Distro, Spec } from './spec.ts';
import { expandTemplate, templatePlaceholders } from './placeholders.ts';

/** Axes whose values each get their own directory, in the release's order. */
export function perValueAxes(spec: Pick<Spec, 'axes'>, axes: Record<string, string>): [string, string][] {
  return Object.entries(axes).filter(([a]) => spec.axes[a]?.render === 'per-value');
}

/** Axes each of whose values has its own Dockerfile in the shared directory. */
export function perFileAxes(spec: Pick<Spec, 'axes'>, axes: Record<string, string>): [string, string][] {
  return Object.entries(axes).filter(([a]) => spec.axes[a]?.render === 'per-file');
}

/** Axes whose value is fixed for one Dockerfile, so its templates (and FROM line) see it. */
export function fixedAxes(spec: Pick<Spec, 'axes'>, axes: Record<string, string>): [string, string][] {
  return Object.entries(axes).filter(([a]) => spec.axes[a]?.render === 'per-value' || spec.axes[a]?.render === 'per-file');
}

/**
 * A distro image whose choice depends on a value fixed per Dockerfile: `{python_env.image}`,
 * where each value's data holds an image template (`docker.io/library/python:{python}-slim`
 * for one, `docker.io/library/debian:bullseye-slim` for another). The data's text replaces the
 * placeholder, once, and the result is read as the image template; nothing nests further.
 */
export function fixedImage(spec: Pick<Spec, 'axes'>, image: string, axes: Record<string, string>, data: Record<string, Record<string, unknown>>): string {
  const fixed = new Set(fixedAxes(spec, axes).map(([a]) => a));
  return image.replace(/(?<!\$)\{([A-Za-z_]\w*)\.([A-Za-z_]\w*)\}/g, (whole, axis: string, key: string) => {
    const v = fixed.has(axis) && Object.hasOwn(data, axis) && Object.hasOwn(data[axis]!, key) ? data[axis]![key] : undefined;
    return typeof v === 'string' && !/\{[A-Za-z_]\w*\.[^}]*\}/.test(v) ? v : whole;
  });
}

/**
 * The Dockerfile's name in its directory: `Dockerfile`, or with each per-file axis's value
 * that is not the axis default appended: `Dockerfile-conda`.
 */
export function dockerfileName(spec: Pick<Spec, 'axes'>, axes: Record<string, string>): string {
  const own = perFileAxes(spec, axes).filter(([a, v]) => spec.axes[a]!.default !== v).map(([, v]) => v);
  return ['Dockerfile', ...own].join('-');
}

/** The generated directory of one image, relative to the package's generated directory. */
export function generatedDirectory(spec: Pick<Spec, 'axes' | 'directory' | 'package'>, distro: Pick<Distro, 'name' | 'alias' | 'family'>, release: string, axes: Record<string, string>): string {
  const own = perValueAxes(spec, axes);
  if (!spec.directory) return [distro.name, release, ...own.map(([a, v]) => `${spec.axes[a]!.id}${v}`)].join('/');
  return expandTemplate(spec.directory, {
    vars: { distro: distro.name, alias: distro.alias, family: distro.family, release, package: spec.package, ...Object.fromEntries(own) },
  });
}

/** Files the package directory holds beside the generated directories. */
export const GENERATED_FILES = new Set(['readme.md', 'versions', 'dockerfiles.json', 'images.json']);

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * What a `directory` template may use: the distro's names, the release, the package, and axes
 * whose templates see the value (any other axis shares one Dockerfile across its values, so
 * it cannot name a directory).
 */
export function checkDirectoryTemplate(template: string, spec: Pick<Spec, 'axes'>, error: (path: SpecPath, message: string, about?: string) => void): void {
  const fixed = ['distro', 'alias', 'family', 'release', 'package'];
  for (const ref of templatePlaceholders(template)) {
    if (ref.includes('.')) error(['directory'], `directory uses {${ref}}: only whole names ({distro}, {release}, a per-value axis) name directories`);
    else if (spec.axes[ref]?.render === 'per-file') error(['directory'], `directory uses {${ref}}, but axis "${ref}" puts its values' Dockerfiles in one directory (render: per-file); use render: per-value to give each value a directory`);
    else if (fixed.includes(ref)) continue;
    else if (Object.hasOwn(spec.axes, ref)) {
      if (spec.axes[ref]!.render !== 'per-value') error(['directory'], `directory uses {${ref}}, but axis "${ref}" shares one Dockerfile across its values; set axes.${ref}.render: per-value`);
    } else error(['directory'], `directory uses unknown variable {${ref}} (known: ${[...fixed, ...Object.values(spec.axes).filter((a) => a.render === 'per-value').map((a) => a.name)].map((k) => `{${k}}`).join(', ')})`, ref);
  }
  const literal = template.replace(/\{[^}]*\}/g, 'x');
  if (literal.startsWith('/') || literal.split('/').some((s) => !SEGMENT.test(s))) {
    error(['directory'], `directory "${template}" must be a relative path of names (letters, digits, . _ -), without empty or '..' parts`);
  }
}

/**
 * Every image of one directory must share what the directory's files depend on (distro,
 * release, per-value axis values); no directory may be inside another (its build context would
 * hold the other's files, which its hash does not cover); none may be a generated file's name.
 */
export function checkDirectories(
  images: { key: string; distro: string; release: string; dir: string; axes: Record<string, string> }[],
  spec: Pick<Spec, 'axes'>,
  error: (path: SpecPath, message: string) => void,
): void {
  const owner = new Map<string, { signature: string; key: string }>();
  for (const v of images) {
    const signature = [v.distro, v.release, ...perValueAxes(spec, v.axes).map(([a, x]) => `${a}=${x}`)].join(' ');
    if (v.dir.split('/').some((s) => !SEGMENT.test(s) || s.includes('..'))) {
      error(['directory'], `directory gives "${v.dir}" to ${v.key}, which is not a relative path of names`);
      continue;
    }
    const o = owner.get(v.dir);
    if (!o) owner.set(v.dir, { signature, key: v.key });
    else if (o.signature !== signature) {
      error(['directory'], `directory gives "${v.dir}" to both ${o.key} and ${v.key}, whose Dockerfiles differ; add a variable that tells them apart`);
    }
  }
  const dirs = [...owner.keys()].sort();
  for (const d of dirs) {
    const parts = d.split('/');
    for (let n = 1; n < parts.length; n++) {
      const outer = parts.slice(0, n).join('/');
      if (owner.has(outer)) error(['directory'], `directory "${d}" is inside "${outer}": its files would be in the other's build context`);
    }
    if (GENERATED_FILES.has(d.split('/')[0]!.toLowerCase())) error(['directory'], `directory "${d}" is the name of a file generate writes beside the directories`);
    // render:<package>/docs is the README's task.
    if (d === 'docs') error(['directory'], 'directory "docs" is taken by the package docs (README.md, versions); name it otherwise');
  }
}

/**
 * The package's generated directory, relative to the generated root: `output.directory` with
 * `{package}` expanded, '' for the root itself; the package name when the spec sets none.
 */
export function packageDirectory(spec: Pick<Spec, 'package' | 'output'>): string {
  const template = spec.output?.directory;
  if (template === undefined) return spec.package;
  const dir = template.split('{package}').join(spec.package);
  return dir.split('/').filter((s) => s !== '.' && s !== '').join('/');
}

/** `output.directory`: `.` or a relative path of names, where only `{package}` expands. */
export function checkPackageDirectory(template: string, error: (message: string) => void): void {
  const other = templatePlaceholders(template).filter((r) => r !== 'package');
  if (other.length) error(`output.directory uses {${other[0]}}: only {package} expands in the package's directory`);
  const literal = template.split('{package}').join('x');
  if (literal === '.' || literal === './') return;
  if (literal.startsWith('/') || literal.replace(/\/$/, '').split('/').some((s) => !SEGMENT.test(s))) {
    error(`output.directory "${template}" must be "." (the generated root itself) or a relative path of names (letters, digits, . _ -), without empty or '..' parts`);
  }
}
