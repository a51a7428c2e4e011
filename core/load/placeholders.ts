// Placeholders: `{name}` in tags, build args, test commands, images and cache locations; small
// enough to read in a spec, strict enough to check before anything runs. An axis's data and
// version parts are reached with dots: `{python.version}` (a var of the value),
// `{python.major}` (3 of 3.14), `{python.version.minor}` (3.14 of 3.14.6). Pure.
import type { TagTemplate, Vars } from './spec.ts';

/** `{name}` or `{name.part…}`; `${name}` is shell or Dockerfile syntax and stays as written. */
const VAR_RE = /(?<!\$)\{([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\}/g;
/** Docker's tag grammar. */
export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Parts derived from a version-like value (3.14.6): its major (3), major.minor (3.14), all of it. */
export const VERSION_PARTS = ['major', 'minor', 'full'] as const;

/** Variables every image has; its axes (python among them, when the spec has it) are added per release. */
export function tagVariables(): string[] {
  return ['version', 'distro', 'alias', 'family', 'release', 'package', ...RUN_VARIABLES];
}

/**
 * What the run, not the spec, says: `{sha}` (the commit, 7 characters) and `{date}` (UTC
 * YYYYMMDD of SOURCE_DATE_EPOCH, else of the run) as metadata-action's sha and date tags. A tag
 * using them changes with each commit or day: its manifest is merged again, no image rebuilt.
 */
export const RUN_VARIABLES = ['sha', 'date'] as const;

/** The run's values of RUN_VARIABLES. */
export function runVariables(sha: string | undefined, epoch: string | undefined, now: Date): { sha?: string; date: string } {
  const when = epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : now;
  return { ...(sha && /^[0-9a-f]{7,64}$/.test(sha) ? { sha: sha.slice(0, 7) } : {}), date: when.toISOString().slice(0, 10).replace(/-/g, '') };
}

/** The variable each placeholder starts with: `python` for `{python.version.major}`. */
export function templateVariables(template: string): string[] {
  return templatePlaceholders(template).map((p) => p.split('.')[0]!);
}

/** Every placeholder, whole: `python.version.major`. */
export function templatePlaceholders(template: string): string[] {
  return [...template.matchAll(VAR_RE)].map((m) => m[1]!);
}

/** What placeholders resolve against: plain values, and per axis its value's data. */
export interface Scope {
  vars: Record<string, string | undefined>;
  /** Axis → the vars of the image's value of it (axis, distro and distro-release data merged). */
  data?: Record<string, Vars>;
}

/** `3.14.6` → {major: 3, minor: 3.14, full: 3.14.6}; undefined when the text is not a version. */
export function versionParts(text: string): Record<(typeof VERSION_PARTS)[number], string> | undefined {
  const m = /^(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return { major: m[1]!, minor: m[2] === undefined ? m[1]! : `${m[1]}.${m[2]}`, full: text };
}

/** The value of one placeholder, or an error saying why there is none. */
export function resolvePlaceholder(ref: string, scope: Scope): { value: string } | { missing: string; why?: string } {
  const [head, ...rest] = ref.split('.');
  let value = Object.hasOwn(scope.vars, head!) ? scope.vars[head!] : undefined;
  if (value === undefined) return { missing: head! };
  if (!rest.length) return { value };
  let i = 0;
  // A var of the axis value comes first: explicit data beats a derived part of the same name.
  const data = scope.data && Object.hasOwn(scope.data, head!) ? scope.data[head!]! : undefined;
  if (data && Object.hasOwn(data, rest[0]!)) {
    const v = data[rest[0]!];
    if (typeof v !== 'string' && typeof v !== 'number') return { missing: ref, why: `${head}.${rest[0]} is not a string or number` };
    value = String(v);
    i = 1;
  }
  for (; i < rest.length; i++) {
    const part = rest[i]!;
    if (!(VERSION_PARTS as readonly string[]).includes(part)) {
      return { missing: ref, why: data ? `the ${head} value ${scope.vars[head!]} has no var "${part}", and it is not one of ${VERSION_PARTS.join(', ')}` : `"${part}" is not one of ${VERSION_PARTS.join(', ')}` };
    }
    const parts = versionParts(value);
    if (!parts) return { missing: ref, why: `"${value}" is not a version, so it has no ${part}` };
    value = parts[part as (typeof VERSION_PARTS)[number]];
  }
  return { value };
}

/** `escape` is applied to each value put in (a regular expression's, say). */
export function expandTemplate(template: string, scope: Scope, escape: (value: string) => string = (x) => x): string {
  return template.replace(VAR_RE, (_whole, ref: string) => {
    const r = resolvePlaceholder(ref, scope);
    if ('value' in r) return escape(r.value);
    throw new MissingVariable(r.missing, template, r.why);
  });
}

export class MissingVariable extends Error {
  constructor(readonly variable: string, readonly template: string, readonly why?: string) {
    super(why ? `{${variable}} in "${template}": ${why}` : `{${variable}} has no value in "${template}"`);
  }
}

/** What `default` means in a tag's `when`, for the image being tagged. */
export interface Defaults {
  /** Axis → its default value. */
  axes: Record<string, string>;
  /** Whether the image's distro is the spec's first distro. */
  firstDistro: boolean;
  /** Whether the image's distro is the first distro with its alias. */
  firstOfAlias: boolean;
}

/**
 * Does a tag's `when` condition hold? Keys are axes or tag variables. `default` stands for an
 * axis's default value, the first distro (`distro: default`), or the first distro carrying
 * its alias (`alias: default`: the one `-slim` or `-alpine` tags belong to).
 */
export function tagApplies(tag: TagTemplate, vars: Record<string, string | undefined>, defaults: Defaults): boolean {
  if (!tag.when) return true;
  return Object.entries(tag.when).every(([name, wanted]) => {
    const v = Object.hasOwn(vars, name) ? vars[name] : undefined;
    if (v === undefined) return false;
    return wanted.some((w) => {
      if (w !== 'default') return v === w;
      if (Object.hasOwn(defaults.axes, name)) return v === defaults.axes[name];
      if (name === 'distro') return defaults.firstDistro;
      if (name === 'alias') return defaults.firstOfAlias;
      return v === w;
    });
  });
}
