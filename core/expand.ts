// Expands the spec's matrix into image variants: one per distro × release × value of each of
// the release's axes, each with its architectures, tags and build args. Pure.
import type { Diagnostic, SpecPath } from './diagnostics.ts';
import { formatPath } from './diagnostics.ts';
import { locate } from './source.ts';
import type { GitRef, Spec } from './spec.ts';
import { MissingVariable, TAG_RE, expandTemplate, tagApplies, templateVariables } from './tags.ts';

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
  /** Axis args (PYTHON_VERSION …) and the spec's build args, variables expanded; not the parent arg. */
  buildArgs: Record<string, string>;
  /** Build args that follow a git ref (ref expanded); the lock turns each into a commit. */
  gitArgs: Record<string, GitRef>;
  parent?: string;
  /** Roots only: the external image they build FROM (the distro's image, variables expanded). */
  baseImage?: string;
  /** Values the tag templates saw. */
  vars: Record<string, string>;
}

export interface Expansion {
  variants: Variant[];
  byKey: Map<string, Variant>;
  diagnostics: Diagnostic[];
}

/** `distro/release` and each axis value after its id, in the release's axis order. */
export function variantKey(spec: Pick<Spec, 'axes'>, distro: string, release: string, axes: Record<string, string>): string {
  const axisPart = Object.entries(axes).map(([a, v]) => `/${spec.axes[a]?.id ?? a}${v}`).join('');
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

export function expand(spec: Spec): Expansion {
  const diagnostics: Diagnostic[] = [];
  const reported = new Set<string>();
  const error = (path: SpecPath, message: string, once = message) => {
    if (reported.has(once)) return;
    reported.add(once);
    diagnostics.push({ severity: 'error', path: formatPath(path), message, ...(locate(spec.source.locations, path) ?? { file: spec.source.manifest, line: 1, column: 1 }) });
  };
  const variants: Variant[] = [];
  const byKey = new Map<string, Variant>();
  const tagOwner = new Map<string, { variant: string; tagIndex: number }>();
  const axisDefaults = Object.fromEntries(Object.values(spec.axes).map((a) => [a.name, a.default]));

  const cache = spec.build.cache;
  const cacheVars: [string, 'ref' | 'dir'][] = (['ref', 'dir'] as const).flatMap((k) => templateVariables(cache?.[k] ?? '').map((v): [string, 'ref' | 'dir'] => [v, k]));

  for (const distro of Object.values(spec.distros)) {
    for (const rname of spec.releaseOrder) {
      const dr = distro.releases[rname];
      if (!dr) continue;
      const rel = spec.releases[rname]!;
      const drAt: SpecPath = ['distros', distro.name, 'releases', rname];
      for (const [v, k] of cacheVars) {
        if (Object.hasOwn(spec.axes, v) && !rel.axes.includes(v)) {
          error(['build', 'cache', k], `cache ${k} uses {${v}}, but release "${rname}" does not expand over axis "${v}"`);
        }
      }
      const axisChoices: [string, string[]][] = rel.axes.map((a) => [a, dr.axes[a] ?? []]);
      let made = 0;
      for (const axes of cartesian(axisChoices)) {
        let arches = dr.architectures.filter((arch) =>
          Object.entries(axes).every(([a, v]) => {
            const av = spec.axes[a]!.values[v]!;
            return !av.architectures || Object.hasOwn(av.architectures, arch);
          }),
        );
        let parentKey: string | undefined;
        if (rel.parent) {
          const parentAxes = Object.fromEntries(spec.releases[rel.parent]!.axes.map((a) => [a, axes[a]!]));
          parentKey = variantKey(spec, distro.name, rel.parent, parentAxes);
          const pv = byKey.get(parentKey);
          if (!pv) continue;
          arches = arches.filter((a) => pv.arches.includes(a));
        }
        if (arches.length === 0) continue;
        made++;
        const key = variantKey(spec, distro.name, rname, axes);
        const vars: Record<string, string | undefined> = {
          package: spec.package,
          version: spec.version,
          distro: distro.name,
          alias: distro.alias,
          family: distro.family,
          release: rname,
          ...axes,
        };
        const tags: string[] = [];
        rel.tags.forEach((t, i) => {
          if (!tagApplies(t, vars, axisDefaults)) return;
          const at: SpecPath = ['releases', rname, 'tags', i];
          try {
            const tag = expandTemplate(t.template, vars);
            if (!TAG_RE.test(tag)) {
              error(at, `tag template "${t.template}" gives "${tag}", which is not a valid Docker tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`, `badtag:${rname}:${i}`);
              return;
            }
            const owner = tagOwner.get(tag);
            if (owner && owner.variant !== key) {
              error(at, `tag template "${t.template}" gives tag "${tag}" to both ${owner.variant} and ${key}; add a variable that tells them apart`, `dup:${rname}:${i}`);
              return;
            }
            tagOwner.set(tag, { variant: key, tagIndex: i });
            if (!tags.includes(tag)) tags.push(tag);
          } catch (e) {
            if (e instanceof MissingVariable && e.variable === 'version') {
              error(['version'], `tag template "${t.template}" of release ${rname} needs a version: set "version" in the spec or pass --target-version`, 'needs-version');
            } else throw e;
          }
        });
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
            buildArgs[k] = expandTemplate(v, vars);
            if (gitArgs[k]) gitArgs[k] = { url: gitArgs[k].url, ref: buildArgs[k] };
          } catch (e) {
            if (!(e instanceof MissingVariable)) throw e;
            error(where, `build arg ${k} uses {${e.variable}}, which has no value here${e.variable === 'version' ? ' (set "version" or pass --target-version)' : ''}`);
          }
        }
        if (spec.build.parentArg in buildArgs) {
          error(['build', 'parent_arg'], `build arg ${spec.build.parentArg} is reserved for the parent image; rename it or set build.parent_arg`);
        }
        let baseImage: string | undefined;
        if (!parentKey) {
          try {
            baseImage = expandTemplate(distro.image, vars);
          } catch (e) {
            if (!(e instanceof MissingVariable)) throw e;
            // Validation names the variable; nothing more to say per image.
          }
        }
        const v: Variant = {
          key,
          distro: distro.name,
          release: rname,
          axes,
          arches,
          tags,
          buildArgs,
          gitArgs,
          parent: parentKey,
          baseImage,
          vars: Object.fromEntries(Object.entries(vars).filter(([, x]) => x !== undefined)) as Record<string, string>,
        };
        variants.push(v);
        byKey.set(key, v);
      }
      if (made === 0 && rel.axes.every((a) => (dr.axes[a] ?? []).length > 0)) {
        // Restrictions that empty an axis are reported where they are written; this is the rest.
        const parentHas = !rel.parent || variants.some((x) => x.distro === distro.name && x.release === rel.parent);
        error(drAt, parentHas
          ? `release "${rname}" on distro ${distro.name} has no image: no combination of ${rel.axes.map((a) => `${a} (${dr.axes[a]!.join(', ')})`).join(', ') || 'its values'} exists on its architectures (${dr.architectures.join(', ')})${rel.parent ? ` that parent release "${rel.parent}" also builds` : ''}`
          : `release "${rname}" on distro ${distro.name} has no image, because its parent release "${rel.parent}" has none there`);
      }
    }
  }
  return { variants, byKey, diagnostics };
}
