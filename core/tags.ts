// Tag templates are plain strings with {variable} placeholders: small enough to read in a
// spec, strict enough to check before anything runs.
import type { TagTemplate } from './spec.ts';

/** `{name}`; `${name}` is shell or Dockerfile syntax and stays as written. */
const VAR_RE = /(?<!\$)\{([A-Za-z_][\w]*)\}/g;
/** Docker's tag grammar. */
export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Variables every image has; its axes (python among them, when the spec has it) are added per release. */
export function tagVariables(): string[] {
  return ['version', 'distro', 'alias', 'family', 'release', 'package'];
}

export function templateVariables(template: string): string[] {
  return [...template.matchAll(VAR_RE)].map((m) => m[1]!);
}

export function expandTemplate(template: string, vars: Record<string, string | undefined>): string {
  return template.replace(VAR_RE, (whole, name: string) => {
    const v = Object.hasOwn(vars, name) ? vars[name] : undefined;
    if (v === undefined) throw new MissingVariable(name, template);
    return v;
  });
}

export class MissingVariable extends Error {
  constructor(readonly variable: string, readonly template: string) {
    super(`{${variable}} has no value in "${template}"`);
  }
}

/**
 * Does a tag's `when` condition hold? Keys are tag variables or axis names; for an axis the
 * word `default` stands for its default value.
 */
export function tagApplies(tag: TagTemplate, vars: Record<string, string | undefined>, axisDefaults: Record<string, string>): boolean {
  if (!tag.when) return true;
  return Object.entries(tag.when).every(([name, wanted]) => {
    const v = Object.hasOwn(vars, name) ? vars[name] : undefined;
    return v !== undefined && wanted.some((w) => (w === 'default' && Object.hasOwn(axisDefaults, name) ? v === axisDefaults[name] : v === w));
  });
}
