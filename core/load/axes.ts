// Axes: the matrix's dimensions. The top-level `python:` list is shorthand for one of them;
// every other axis is declared under `axes:` and named by the releases that expand over it.
// Distros and distro releases restrict an axis (a list, or {include, exclude}); children
// inherit what their parent builds. Part of loading the spec: pure, every problem reported.
import type { SpecPath } from '../base/diagnostics.ts';
import { dict } from '../base/dicts.ts';
import type { RawSpec } from './schema.ts';
import type { Axis, AxisArchVars, AxisVars, DistroRelease, ExcludeRule, Release, Vars } from './spec.ts';
import { templateVariables, tagVariables } from './placeholders.ts';

export interface Report {
  /** `about`: the axis the problem is only about, when there is one (quiet if that axis was set aside). */
  error(path: SpecPath, message: string, prefer?: 'key' | 'value', about?: string): void;
  warn(path: SpecPath, message: string, prefer?: 'key' | 'value'): void;
}

type Selection = string[] | { include?: string[]; exclude?: string[]; values?: Record<string, { vars?: Vars; architectures?: Record<string, Vars | null> }> };
type RawDistro = RawSpec['distros'][string];
type RawDistroRelease = NonNullable<Extract<RawDistro['releases'], Record<string, unknown>>[string]>;

/** Names an axis cannot take: they are variables every image already has, or argv/cache placeholders. */
const RESERVED = new Set([...tagVariables(), 'arch', 'platform', 'registry', 'repository']);

const uniq = <T>(xs: Iterable<T>): T[] => [...new Set(xs)];

/** How messages name a value: `Python 3.10`, `pg 16`. */
export function valueLabel(axis: string, value: string): string {
  return axis === 'python' ? `Python ${value}` : `${axis} ${value}`;
}

export function normalizeAxes(
  raw: Pick<RawSpec, 'python' | 'axes' | 'architectures'>,
  report: Report,
  gone: (collection: string, name: string) => boolean,
  archNames: string[],
  /** A map's keys in the order written (YAML maps iterate integer-like keys first). */
  written: (path: SpecPath, keys: string[]) => string[] = (_, keys) => keys,
): Record<string, Axis> {
  const axes: Record<string, Axis> = dict();
  if (raw.python) {
    if (raw.axes && Object.hasOwn(raw.axes, 'python')) {
      report.error(['axes', 'python'], 'axis "python" is defined twice: by the top-level `python:` list (its shorthand) and here; keep one', 'key');
    }
    const order = uniq(raw.python);
    duplicates(report, ['python'], raw.python);
    axes['python'] = { name: 'python', default: order[0]!, order, values: dict(order.map((v) => [v, { vars: {} }])), arg: 'PYTHON_VERSION', id: 'py', everywhere: true, render: 'shared' };
  }
  const args = new Map<string, string>(raw.python ? [['PYTHON_VERSION', 'python']] : []);
  for (const [name, a] of Object.entries(raw.axes ?? {})) {
    if (axes[name]) continue;
    if (RESERVED.has(name)) report.error(['axes', name], `axis name "${name}" is taken by the built-in variable {${name}}; rename the axis`, 'key');
    const map = Array.isArray(a.values) ? undefined : a.values;
    const entries: [string, NonNullable<Extract<typeof a.values, Record<string, unknown>>[string]> | null][] = map
      ? written(['axes', name, 'values'], Object.keys(map)).map((v) => [v, map[v] ?? null])
      : (a.values as string[]).map((v) => [v, null]);
    if (Array.isArray(a.values)) duplicates(report, ['axes', name, 'values'], a.values);
    const values: Axis['values'] = dict();
    for (const [v, def] of entries) {
      const archs = def?.architectures;
      for (const arch of Object.keys(archs ?? {})) {
        if (!Object.hasOwn(raw.architectures, arch) && !gone('architectures', arch)) {
          report.error(['axes', name, 'values', v, 'architectures', arch], `unknown architecture "${arch}" (known: ${archNames.join(', ')})`, 'key');
        }
      }
      values[v] = {
        vars: def?.vars ?? {},
        architectures: archs ? dict(Object.entries(archs).map(([k, x]) => [k, x ?? dict()])) : undefined,
      };
    }
    const order = uniq(entries.map(([v]) => v));
    const fallback = order[0]!;
    if (a.default !== undefined && !Object.hasOwn(values, a.default)) {
      report.error(['axes', name, 'default'], `default "${a.default}" is not one of the values (${order.join(', ')})`);
    }
    if (a.arg) {
      const other = args.get(a.arg);
      if (other) report.error(['axes', name, 'arg'], `build arg ${a.arg} already carries axis "${other}"; each axis needs its own`);
      args.set(a.arg, name);
    }
    axes[name] = { name, description: a.description, default: a.default ?? fallback, order, values, arg: a.arg, id: a.id ?? name, everywhere: false, render: a.render ?? 'shared' };
  }
  return axes;
}

function duplicates(report: Report, at: SpecPath, values: string[]): void {
  values.forEach((v, i) => {
    if (values.indexOf(v) !== i) report.error([...at, i], `"${v}" is listed twice`);
  });
}

/**
 * Applies one restriction to the values inherited from above. A list replaces them (each must
 * be inherited: a child cannot build what its parent does not); {include, exclude} adjusts them.
 * Undefined when a value was refused: that error already says what is wrong.
 */
function restrict(report: Report, at: SpecPath, axis: Axis, inherited: string[], sel: Selection | undefined, from: string): string[] | undefined {
  if (sel === undefined) return inherited;
  let refused = false;
  const allowed = (v: string, path: SpecPath) => {
    if (!Object.hasOwn(axis.values, v)) {
      report.error(path, `"${v}" is not a value of axis "${axis.name}" (values: ${axis.order.join(', ')})`);
    } else if (!inherited.includes(v)) {
      report.error(path, `${valueLabel(axis.name, v)} is not built for ${from} (${inherited.join(', ') || 'nothing'})`);
    } else return true;
    refused = true;
    return false;
  };
  if (Array.isArray(sel)) {
    const kept = sel.filter((v, i) => allowed(v, [...at, i]));
    return refused ? undefined : uniq(kept);
  }
  for (const [i, v] of (sel.exclude ?? []).entries()) {
    if (!inherited.includes(v)) report.warn([...at, 'exclude', i], `${valueLabel(axis.name, v)} is not in the inherited list (${inherited.join(', ')}); nothing to exclude`);
  }
  const kept = inherited.filter((v) => !(sel.exclude ?? []).includes(v));
  const added = (sel.include ?? []).filter((v, i) => allowed(v, [...at, 'include', i]));
  return refused ? undefined : uniq([...kept, ...added]);
}

/** Where value data is written: the architectures built there, and what each name may be. */
export interface ArchScope {
  /** The architectures of the distro (or distro release) the data is written on. */
  built: string[];
  known: (arch: string) => boolean;
  gone: (collection: string, name: string) => boolean;
  archNames: string[];
}

/** Data a restriction adds for some of the values it keeps: value → vars, and value → arch → vars. */
function valueData(report: Report, at: SpecPath, axis: Axis, sel: Selection | undefined, built: string[], arch: ArchScope): { vars: Record<string, Vars>; archVars: Record<string, Record<string, Vars>> } {
  const vars: Record<string, Vars> = dict();
  const archVars: Record<string, Record<string, Vars>> = dict();
  if (!sel || Array.isArray(sel)) return { vars, archVars };
  for (const [v, data] of Object.entries(sel.values ?? {})) {
    if (!Object.hasOwn(axis.values, v)) report.error([...at, 'values', v], `"${v}" is not a value of axis "${axis.name}" (values: ${axis.order.join(', ')})`, 'key');
    else if (!built.includes(v)) report.error([...at, 'values', v], `${valueLabel(axis.name, v)} is not built here (${built.join(', ') || 'nothing'}); its data would never be used`, 'key');
    else {
      vars[v] = data.vars ?? {};
      const own = axis.values[v]!.architectures;
      for (const [a, x] of Object.entries(data.architectures ?? {})) {
        const where: SpecPath = [...at, 'values', v, 'architectures', a];
        // Data only: an architecture the image does not exist on would hold data nothing reads.
        if (!arch.known(a)) {
          if (!arch.gone('architectures', a)) report.error(where, `unknown architecture "${a}" (known: ${arch.archNames.join(', ')})`, 'key');
        } else if (!arch.built.includes(a)) report.error(where, `architecture "${a}" is not built here (${arch.built.join(', ') || 'none'}); its data would never be used`, 'key');
        else if (own && !Object.hasOwn(own, a)) report.error(where, `${valueLabel(axis.name, v)} exists only on ${Object.keys(own).join(', ')} (axes.${axis.name}.values.${v}.architectures); its data for "${a}" would never be used`, 'key');
        else (archVars[v] ??= dict())[a] = x ?? dict();
      }
    }
  }
  return { vars, archVars };
}

/** `python:` beside `axes:` is the shorthand's restriction; both at once is an error. */
function selections(report: Report, at: SpecPath, holder: { python?: Selection; axes?: Record<string, Selection> }): [string, Selection, SpecPath][] {
  const out: [string, Selection, SpecPath][] = Object.entries(holder.axes ?? {}).map(([ax, sel]) => [ax, sel, [...at, 'axes', ax]]);
  if (holder.python !== undefined) {
    if (holder.axes && Object.hasOwn(holder.axes, 'python')) report.error([...at, 'python'], 'python is restricted twice here: by `python:` and by `axes: { python: … }`; keep one', 'key');
    else out.push(['python', holder.python, [...at, 'python']]);
  }
  return out;
}

function unknownAxis(report: Report, axes: Record<string, Axis>, ax: string, at: SpecPath): void {
  report.error(at, ax === 'python'
    ? 'restricts the python axis, which this spec does not have (add a top-level `python:` list or an axis named python)'
    : `unknown axis "${ax}" (axes: ${Object.keys(axes).join(', ') || 'none defined'})`, 'key');
}

/** The values a distro builds, per axis: every value unless the distro restricts it; and data it adds per value. */
export function restrictDistroAxes(
  report: Report,
  axes: Record<string, Axis>,
  distro: string,
  d: Pick<RawDistro, 'python' | 'axes'>,
  releases: Release[],
  gone: (collection: string, name: string) => boolean,
  arch: ArchScope,
): { axes: Record<string, string[]>; axisVars: AxisVars; axisArchVars: AxisArchVars } {
  const out: Record<string, string[]> = dict(Object.values(axes).map((a) => [a.name, a.order]));
  const axisVars: AxisVars = dict();
  const axisArchVars: AxisArchVars = dict();
  for (const [ax, sel, at] of selections(report, ['distros', distro], d)) {
    const axis = axes[ax];
    if (!axis) {
      if (!gone('axes', ax)) unknownAxis(report, axes, ax, at);
      continue;
    }
    if (!releases.some((r) => r.axes.includes(ax))) {
      report.error(at, `no release of distro ${distro} expands over axis "${ax}" (its releases: ${releases.map((r) => r.name).join(', ')})`, 'key');
      continue;
    }
    const values = restrict(report, at, axis, axis.order, sel, 'this axis');
    if (values?.length === 0) report.error(at, `leaves axis "${ax}" with no value on distro ${distro}, so none of its releases would have an image`, 'key');
    out[ax] = values ?? [];
    ({ vars: axisVars[ax], archVars: axisArchVars[ax] } = valueData(report, at, axis, sel, out[ax], arch));
  }
  return { axes: out, axisVars, axisArchVars };
}

export interface ReleaseScope {
  distro: string;
  release: Release;
  /** Where the distro lists the release. */
  at: SpecPath;
  over: Pick<RawDistroRelease, 'python' | 'axes'> | null;
  parentDR?: DistroRelease;
  distroAxes: Record<string, string[]>;
  /** The release's architectures on the distro, and what an architecture name may be. */
  arch: ArchScope;
}

/** The values one distro release builds, for every axis of the release, and data it adds per value. */
export function restrictReleaseAxes(
  report: Report,
  axes: Record<string, Axis>,
  releases: Record<string, Release>,
  s: ReleaseScope,
  gone: (collection: string, name: string) => boolean,
): { axes: Record<string, string[]>; axisVars: AxisVars; axisArchVars: AxisArchVars } {
  const rel = s.release;
  const given = new Map<string, [Selection, SpecPath]>();
  for (const [ax, sel, at] of selections(report, s.at, s.over ?? {})) {
    if (!axes[ax]) {
      if (!gone('axes', ax)) unknownAxis(report, axes, ax, at);
    } else if (!rel.axes.includes(ax)) {
      report.error(at, `release "${rel.name}" does not expand over axis "${ax}" (its axes: ${rel.axes.join(', ') || 'none'})`, 'key');
    } else given.set(ax, [sel, at]);
  }
  const out: Record<string, string[]> = dict();
  const axisVars: AxisVars = dict();
  const axisArchVars: AxisArchVars = dict();
  for (const ax of rel.axes) {
    const axis = axes[ax];
    if (!axis) continue;
    const fromParent = Boolean(s.parentDR && rel.parent && releases[rel.parent]?.axes.includes(ax));
    const inherited = fromParent ? s.parentDR!.axes[ax] ?? [] : s.distroAxes[ax] ?? axis.order;
    const [sel, at] = given.get(ax) ?? [undefined, s.at];
    const from = fromParent ? `parent release "${rel.parent}" on ${s.distro}` : `distro ${s.distro}`;
    const values = restrict(report, at, axis, inherited, sel, from);
    // An empty inheritance was reported where it emptied; here only a new emptying is.
    if (values?.length === 0 && inherited.length > 0) {
      report.error(at, `leaves release "${rel.name}" on distro ${s.distro} with no value of axis "${ax}", so it (and every release building on it) would have no image`, 'key');
    }
    out[ax] = values ?? [];
    ({ vars: axisVars[ax], archVars: axisArchVars[ax] } = valueData(report, at, axis, sel, out[ax], s.arch));
  }
  return { axes: out, axisVars, axisArchVars };
}

/** Variables a distro image may use besides axes: fixed per distro, written into FROM as text. */
export const IMAGE_CONSTANTS = ['distro', 'alias', 'family', 'package'] as const;

/**
 * A distro image is the FROM of its root releases, in the Dockerfile (where an axis value can
 * only arrive through a build arg) and in the build. Each placeholder must be an axis of every
 * root release the distro builds, with a build arg, or one of the distro's constants.
 */
export function checkDistroImage(report: Report, axes: Record<string, Axis>, distro: string, image: string, roots: Release[]): void {
  const at: SpecPath = ['distros', distro, 'image'];
  for (const v of uniq(templateVariables(image))) {
    if ((IMAGE_CONSTANTS as readonly string[]).includes(v)) continue;
    const axis = axes[v];
    if (!axis) {
      report.error(at, `image uses unknown variable {${v}} (known here: ${[...IMAGE_CONSTANTS, ...Object.keys(axes)].map((k) => `{${k}}`).join(', ')})`, 'value', v);
      continue;
    }
    // A per-value axis is written into its own Dockerfile; any other needs its build arg.
    if (!axis.arg && axis.render === 'shared') {
      report.error(at, `image uses {${v}}, but axis "${v}" has no build arg to carry its value into the Dockerfile's FROM line; set axes.${v}.arg (or render: per-value or per-file)`);
      continue;
    }
    const without = roots.filter((r) => !r.axes.includes(v));
    if (without.length) report.error(at, `image uses {${v}}, but root release${without.length === 1 ? '' : 's'} ${without.map((r) => `"${r.name}"`).join(', ')} of distro ${distro} do${without.length === 1 ? 'es' : ''} not expand over axis "${v}"`);
  }
}

/** What an `exclude:` rule may name besides axes. */
const EXCLUDE_KEYS = ['distro', 'release', 'arch'] as const;

/**
 * The `exclude:` rules, each name checked: a rule naming a distro, release, architecture, axis
 * or value the spec does not have would remove nothing, silently. Whether a rule removes
 * anything is known only once the matrix is expanded (core/matrix/expand.ts says so there).
 */
export function normalizeExcludes(
  report: Report,
  rules: Record<string, string | string[]>[] | undefined,
  axes: Record<string, Axis>,
  names: { distros: string[]; releases: string[]; architectures: string[] },
  gone: (collection: string, name: string) => boolean,
): ExcludeRule[] {
  const out: ExcludeRule[] = [];
  const known: Record<(typeof EXCLUDE_KEYS)[number], [string, string[]]> = {
    distro: ['distros', names.distros],
    release: ['releases', names.releases],
    arch: ['architectures', names.architectures],
  };
  for (const [index, rule] of (rules ?? []).entries()) {
    const at: SpecPath = ['exclude', index];
    if (Object.keys(rule).length === 0) {
      report.error(at, 'an empty rule would exclude every image; name at least one of distro, release, arch or an axis');
      continue;
    }
    const match: Record<string, string[]> = dict();
    let ok = true;
    for (const [key, given] of Object.entries(rule)) {
      const values = typeof given === 'string' ? [given] : given;
      const where = (i: number): SpecPath => (typeof given === 'string' ? [...at, key] : [...at, key, i]);
      if ((EXCLUDE_KEYS as readonly string[]).includes(key)) {
        const [collection, list] = known[key as (typeof EXCLUDE_KEYS)[number]];
        values.forEach((v, i) => {
          if (list.includes(v)) return;
          ok = false;
          if (!gone(collection, v)) report.error(where(i), `unknown ${key === 'arch' ? 'architecture' : key} "${v}" (known: ${list.join(', ') || 'none'})`);
        });
      } else if (axes[key]) {
        const axis = axes[key];
        values.forEach((v, i) => {
          if (Object.hasOwn(axis.values, v)) return;
          ok = false;
          report.error(where(i), `"${v}" is not a value of axis "${key}" (values: ${axis.order.join(', ')})`, 'value', key);
        });
      } else {
        ok = false;
        if (!gone('axes', key)) report.error([...at, key], `an exclude rule matches on distro, release, arch or an axis (${Object.keys(axes).join(', ') || 'none defined'}); not "${key}"`, 'key', key);
      }
      match[key] = uniq(values);
    }
    if (ok) out.push({ index, match });
  }
  return out;
}
