// What a generated Dockerfile builds FROM when built by hand, as the design notes' recipe does
// (`docker buildx build --build-arg PYTHON_VERSION=3.9 -t … debian11/base`, then the release
// on top): a root's distro image, a child's parent image in its published tag form. The tool
// itself always passes the exact image in the parent arg; this is the arg's default. Pure.
import { fixedAxes, fixedImage } from '../load/layout.ts';
import { publishRepositories } from '../load/repositories.ts';
import type { Distro, Spec } from '../load/spec.ts';
import { resolvePlaceholder } from '../load/placeholders.ts';

export interface FromDefault {
  /** The default of the parent arg, with `${ARG}` where a build arg supplies a value; null when none can be written. */
  value: string | null;
  /** Build args the default uses: to declare before FROM. */
  args: string[];
}

/**
 * The image of one directory's images, as a Dockerfile can name it: each placeholder becomes
 * the build arg that carries it (`${PYTHON_VERSION}`), or its value when it is the same for
 * every image of the directory (distro, version, a per-value axis). Undefined when some value
 * reaches the Dockerfile no other way.
 */
export function inDockerfile(spec: Spec, template: string, vars: Record<string, string | undefined>, axes: Record<string, string>, argFor: (axis: string) => string | undefined, data: Record<string, Record<string, unknown>>): FromDefault | undefined {
  const args: string[] = [];
  const fixed = new Set(fixedAxes(spec, axes).map(([a]) => a));
  let out = '';
  let last = 0;
  const re = /(?<!\$)\{([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\}/g;
  for (const m of template.matchAll(re)) {
    out += template.slice(last, m.index);
    last = m.index! + m[0].length;
    const ref = m[1]!;
    const head = ref.split('.')[0]!;
    if (Object.hasOwn(axes, head) && !fixed.has(head)) {
      const arg = argFor(head);
      if (!arg || ref !== head) return undefined;
      out += `\${${arg}}`;
      if (!args.includes(arg)) args.push(arg);
      continue;
    }
    const r = resolvePlaceholder(ref, { vars: { ...vars, ...axes }, data });
    if (!('value' in r)) return undefined;
    out += r.value;
  }
  out += template.slice(last);
  return { value: out, args };
}

/**
 * A child's parent-arg default: the parent release's first unconditional tag in the first
 * publish registry's repository (the package name when it publishes nowhere).
 */
export function parentDefault(spec: Spec, distro: Distro, release: string, axes: Record<string, string>, data: Record<string, Record<string, unknown>>, buildArgs: Record<string, string>): FromDefault {
  const parent = spec.releases[release]!.parent;
  if (!parent) return { value: null, args: [] };
  const tag = spec.releases[parent]!.tags.find((t) => !t.when && !t.shared);
  if (!tag) return { value: null, args: [] };
  const repo = publishRepositories(spec)[0]?.repository ?? spec.package;
  // An axis without a build arg of its own may still arrive in one the spec sets to exactly `{axis}`.
  const argFor = (axis: string) => spec.axes[axis]!.arg ?? Object.entries(buildArgs).find(([, v]) => v === `{${axis}}`)?.[0];
  const vars = { package: spec.package, version: spec.version, distro: distro.name, alias: distro.alias, family: distro.family, release: parent };
  const parentAxes = Object.fromEntries(spec.releases[parent]!.axes.map((a) => [a, axes[a]!]));
  const r = inDockerfile(spec, tag.template, vars, parentAxes, argFor, data);
  return r ? { value: `${repo}:${r.value}`, args: r.args } : { value: null, args: [] };
}

/** A root's parent-arg default: the distro image, `{python}` as `${PYTHON_VERSION}`. */
export function rootDefault(spec: Spec, distro: Distro, axes: Record<string, string>, data: Record<string, Record<string, unknown>>): FromDefault {
  const vars = { distro: distro.name, alias: distro.alias, family: distro.family, package: spec.package };
  // Validation allowed only placeholders a Dockerfile can carry, so this always has a value.
  const image = fixedImage(spec, distro.image, axes, data);
  return inDockerfile(spec, image, vars, axes, (a) => spec.axes[a]!.arg, data) ?? { value: image, args: [] };
}
