// Where each generated Dockerfile goes. One directory per distro × release, and per value of
// each axis whose templates see the value (`render: per-value`): `bookworm/runtime`, or
// `3.14/bookworm` as docker-library lays out the official images with `directory:
// "{python}/{distro}"`. Pure.
import type { SpecPath } from '../base/diagnostics.ts';
import type { Distro, Release, Spec } from './spec.ts';
import { expandTemplate, templatePlaceholders, type Scope } from './placeholders.ts';

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

/**
 * What a layout pattern (`directory`, a release's `path`, a support file's `directory`) resolves
 * against for one image: the distro's names, the release and its path, the package and the
 * per-value axes. The release's path is resolved first, as it may use the others.
 */
export function layoutScope(spec: Pick<Spec, 'axes' | 'package'>, distro: Pick<Distro, 'name' | 'alias' | 'family'>, release: Pick<Release, 'name' | 'path'>, axes: Record<string, string>): Scope {
  const vars = { distro: distro.name, alias: distro.alias, family: distro.family, release: release.name, package: spec.package, ...Object.fromEntries(perValueAxes(spec, axes)) };
  return { vars, data: { release: { path: expandTemplate(release.path, { vars }) } } };
}

/** The generated directory of one image, relative to the package's generated directory. */
export function generatedDirectory(spec: Pick<Spec, 'axes' | 'directory' | 'package'>, distro: Pick<Distro, 'name' | 'alias' | 'family'>, release: Pick<Release, 'name' | 'path'>, axes: Record<string, string>): string {
  const scope = layoutScope(spec, distro, release, axes);
  const own = perValueAxes(spec, axes);
  if (!spec.directory) return [distro.name, scope.data!.release!.path as string, ...own.map(([a, v]) => `${spec.axes[a]!.id}${v}`)].join('/');
  return expandTemplate(spec.directory, scope);
}

/** Files the package directory holds beside the generated directories. */
export const GENERATED_FILES = new Set(['readme.md', 'versions', 'dockerfiles.json', 'images.json']);

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * What a `directory` template may use: the distro's names, the release and its `path`, the
 * package, and axes whose templates see the value (any other axis shares one Dockerfile across
 * its values, so it cannot name a directory). A release's `path` may use the same but the
 * release itself.
 */
export function checkDirectoryTemplate(template: string, spec: Pick<Spec, 'axes'>, error: (path: SpecPath, message: string, about?: string) => void, at: { path: SpecPath; what: 'directory' | 'path' } = { path: ['directory'], what: 'directory' }): void {
  const ofRelease = at.what === 'path';
  const fixed = ofRelease ? ['distro', 'alias', 'family', 'package'] : ['distro', 'alias', 'family', 'release', 'package'];
  const { what } = at;
  for (const ref of templatePlaceholders(template)) {
    if (ref === 'release.path' && !ofRelease) continue;
    if (ofRelease && (ref === 'release' || ref.startsWith('release.'))) error(at.path, `path uses {${ref}}: a release's path names its directory itself`);
    else if (ref.includes('.')) error(at.path, `${what} uses {${ref}}: only whole names ({distro}, {release}, {release.path}, a per-value axis) name directories`);
    else if (spec.axes[ref]?.render === 'per-file') error(at.path, `${what} uses {${ref}}, but axis "${ref}" puts its values' Dockerfiles in one directory (render: per-file); use render: per-value to give each value a directory`);
    else if (fixed.includes(ref)) continue;
    else if (Object.hasOwn(spec.axes, ref)) {
      if (spec.axes[ref]!.render !== 'per-value') error(at.path, `${what} uses {${ref}}, but axis "${ref}" shares one Dockerfile across its values; set axes.${ref}.render: per-value`);
    } else error(at.path, `${what} uses unknown variable {${ref}} (known: ${[...fixed, ...(ofRelease ? [] : ['release.path']), ...Object.values(spec.axes).filter((a) => a.render === 'per-value').map((a) => a.name)].map((k) => `{${k}}`).join(', ')})`, ref);
  }
  const literal = template.replace(/\{[^}]*\}/g, 'x');
  if (literal.startsWith('/') || literal.split('/').some((s) => !SEGMENT.test(s))) {
    error(at.path, `${what} "${template}" must be a relative path of names (letters, digits, . _ -), without empty or '..' parts`);
  }
}

/**
 * The directories inside `dir`, of those given, that its build context must leave out: each
 * nested image directory that no other nested one holds (leaving that out leaves out the rest).
 * Relative to `dir`, sorted.
 */
export function nestedDirectories(dir: string, dirs: Iterable<string>): string[] {
  const inside = [...new Set(dirs)].filter((d) => d.startsWith(`${dir}/`)).sort();
  return inside.filter((d) => !inside.some((o) => d.startsWith(`${o}/`))).map((d) => d.slice(dir.length + 1));
}

/**
 * The ignore file of a directory that holds other image directories (NVIDIA's `runtime/` and
 * `runtime/cudnn/`): its build context leaves them out, so its hash, which covers only its own
 * files, covers everything its build sees. `base` is what the file says already, if anything
 * (a per-file directory's `Dockerfile*`, or a `.dockerignore` the spec writes itself).
 */
export function nestedIgnore(nested: string[], base = ''): string {
  if (!nested.length) return base;
  const lead = base === '' ? '' : base.endsWith('\n') ? base : `${base}\n`;
  return `${lead}# Generated: the image directories inside this one stay out of its build context.\n${nested.map((d) => `/${d}\n`).join('')}`;
}

/**
 * Every image of one directory must share what the directory's files depend on (distro,
 * release, per-value axis values); none may be a generated file's name. A directory may lie
 * inside another: the outer one's ignore file (nestedIgnore) keeps it out of that build context.
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
  for (const d of [...owner.keys()].sort()) {
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
