// Expands the spec's matrix into image variants: one per distro × release × python × axis
// values, each with its architectures, tags and build args. Pure.
import type { Diagnostic, SpecPath } from './diagnostics.ts';
import { formatPath } from './diagnostics.ts';
import { locate } from './source.ts';
import type { GitRef, Spec } from './spec.ts';
import { MissingVariable, TAG_RE, expandTemplate, tagApplies } from './tags.ts';

export interface Variant {
  /** `debian11/cudnn/py3.9/cuda11.6.2`: unique, stable, safe as a path. */
  key: string;
  distro: string;
  release: string;
  python: string;
  /** Axis values, in the release's axis order. */
  axes: Record<string, string>;
  arches: string[];
  /** Tags without registry, deduplicated, in template order. */
  tags: string[];
  /** Spec build args with variables expanded (PYTHON_VERSION included; the parent arg is not). */
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

export function variantKey(distro: string, release: string, python: string, axes: Record<string, string>): string {
  const axisPart = Object.entries(axes).map(([a, v]) => `/${a}${v}`).join('');
  return `${distro}/${release}/py${python}${axisPart}`;
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

  for (const distro of Object.values(spec.distros)) {
    for (const rname of spec.releaseOrder) {
      const dr = distro.releases[rname];
      if (!dr) continue;
      const rel = spec.releases[rname]!;
      const parentDR = rel.parent ? distro.releases[rel.parent] : undefined;
      if (parentDR) {
        for (const py of dr.python) {
          if (!parentDR.python.includes(py)) {
            error(['distros', distro.name, 'releases', rname, 'python'],
              `Python ${py} is not built for parent release "${rel.parent}" on ${distro.name} (${parentDR.python.join(', ')})`);
          }
        }
      }
      const axisChoices: [string, string[]][] = rel.axes.map((a) => [a, dr.axes[a] ?? Object.keys(spec.axes[a]!.values)]);
      for (const python of dr.python) {
        for (const axes of cartesian(axisChoices)) {
          let arches = dr.architectures.filter((arch) =>
            Object.entries(axes).every(([a, v]) => {
              const av = spec.axes[a]!.values[v]!;
              return !av.architectures || arch in av.architectures;
            }),
          );
          let parentKey: string | undefined;
          if (rel.parent) {
            const parentAxes = Object.fromEntries(spec.releases[rel.parent]!.axes.map((a) => [a, axes[a]!]));
            parentKey = variantKey(distro.name, rel.parent, python, parentAxes);
            const pv = byKey.get(parentKey);
            if (!pv) continue;
            arches = arches.filter((a) => pv.arches.includes(a));
          }
          if (arches.length === 0) continue;
          const key = variantKey(distro.name, rname, python, axes);
          const vars: Record<string, string | undefined> = {
            package: spec.package,
            version: spec.version,
            python,
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
          const buildArgs: Record<string, string> = { PYTHON_VERSION: python };
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
            try {
              buildArgs[k] = expandTemplate(v, vars);
              if (gitArgs[k]) gitArgs[k] = { url: gitArgs[k].url, ref: buildArgs[k] };
            } catch (e) {
              if (!(e instanceof MissingVariable)) throw e;
              const where: SpecPath = k in dr.buildArgs ? ['distros', distro.name, 'releases', rname, 'build_args', k]
                : k in distro.buildArgs ? ['distros', distro.name, 'build_args', k] : ['releases', rname, 'build_args', k];
              error(where, `build arg ${k} uses {${e.variable}}, which has no value here${e.variable === 'version' ? ' (set "version" or pass --target-version)' : ''}`);
            }
          }
          if (spec.build.parentArg in buildArgs) {
            error(['build', 'parent_arg'], `build arg ${spec.build.parentArg} is reserved for the parent image; rename it or set build.parent_arg`);
          }
          const v: Variant = {
            key,
            distro: distro.name,
            release: rname,
            python,
            axes,
            arches,
            tags,
            buildArgs,
            gitArgs,
            parent: parentKey,
            baseImage: parentKey ? undefined : distro.image.replaceAll('{python}', python),
            vars: Object.fromEntries(Object.entries(vars).filter(([, x]) => x !== undefined)) as Record<string, string>,
          };
          variants.push(v);
          byKey.set(key, v);
        }
      }
    }
  }
  return { variants, byKey, diagnostics };
}
