// `--set` in bake's spirit: `release.args.NAME=value`, `pkg:release@distro.vars.NAME=value`,
// `*.platforms=linux/amd64`. Build args and vars land in the spec before planning, so they are
// inputs like any other (a changed arg rebuilds what it reaches); platforms narrow the
// selection. Pure: parse, then apply to a spec copy, every error found in one pass.
import type { Spec } from './spec.ts';

export interface SetOverride {
  text: string;
  /** `*`: every release. */
  release: string;
  distro?: string;
  field: 'args' | 'vars' | 'platforms';
  key?: string;
  value: string;
}

const SET_RE = /^(?:(?<pkg>[A-Za-z0-9][\w.-]*):)?(?<release>\*|[A-Za-z0-9][\w.-]*)(?:@(?<distro>[A-Za-z0-9][\w.-]*))?\.(?<field>args|vars|platforms)(?:\.(?<key>[A-Za-z_][\w]*))?=(?<value>.*)$/s;

/** Parses every `--set`; those for another package are left out (a run may name several). */
export function parseSets(texts: readonly string[], pkg: string): { sets: SetOverride[]; errors: string[] } {
  const sets: SetOverride[] = [];
  const errors: string[] = [];
  for (const text of texts) {
    const m = SET_RE.exec(text);
    if (!m?.groups) {
      errors.push(`--set "${text}": expected TARGET.FIELD=VALUE, TARGET one of *, release, package:release, release@distro; FIELD args.NAME, vars.NAME or platforms`);
      continue;
    }
    const g = m.groups;
    if (g['pkg'] !== undefined && g['pkg'] !== pkg) continue;
    const field = g['field'] as SetOverride['field'];
    if (field === 'platforms' ? g['key'] !== undefined : g['key'] === undefined) {
      errors.push(`--set "${text}": ${field === 'platforms' ? 'platforms takes no name' : `${field} needs a name: ${g['release']}.${field}.NAME=VALUE`}`);
      continue;
    }
    sets.push({ text, release: g['release']!, ...(g['distro'] ? { distro: g['distro'] } : {}), field, ...(g['key'] ? { key: g['key'] } : {}), value: g['value']! });
  }
  return { sets, errors };
}

/**
 * `build --registry NAME|HOST,…`: publish to these of the spec's registries only. Readme tasks
 * and staging follow (the first one stages). Every unknown name is listed at once.
 */
export function onlyRegistries(spec: Spec, names: readonly string[]): { spec: Spec; errors: string[] } {
  const errors: string[] = [];
  const chosen: string[] = [];
  for (const n of names) {
    const hit = spec.publish.find((p) => p === n || spec.registries[p]!.host === n);
    if (hit === undefined) errors.push(`--registry ${n}: not a registry this package publishes to (${spec.publish.map((p) => `${p} (${spec.registries[p]!.host})`).join(', ') || 'none'})`);
    else if (!chosen.includes(hit)) chosen.push(hit);
  }
  return { spec: errors.length ? spec : { ...spec, publish: spec.publish.filter((p) => chosen.includes(p)) }, errors };
}

/**
 * The spec with the overrides applied (over every level of the spec: a set arg wins over the
 * release's, the distro's and the distro release's), and the platforms to select, if any.
 */
export function applySets(spec: Spec, sets: readonly SetOverride[]): { spec: Spec; platforms?: string[]; errors: string[] } {
  const errors: string[] = [];
  let platforms: string[] | undefined;
  const releases = structuredClone(spec.releases);
  const distros = structuredClone(spec.distros);
  const known = new Set(Object.values(spec.architectures));
  for (const s of sets) {
    if (s.release !== '*' && !Object.hasOwn(releases, s.release)) {
      errors.push(`--set "${s.text}": no release "${s.release}" (releases: ${Object.keys(releases).join(', ')})`);
      continue;
    }
    if (s.distro !== undefined && !Object.hasOwn(distros, s.distro)) {
      errors.push(`--set "${s.text}": no distro "${s.distro}" (distros: ${Object.keys(distros).join(', ')})`);
      continue;
    }
    if (s.field === 'platforms') {
      if (s.release !== '*' || s.distro !== undefined) {
        errors.push(`--set "${s.text}": platforms can be set for every image only (*.platforms=…), as the images a release builds FROM must have them too; select with --platforms`);
        continue;
      }
      const list = s.value.split(',').map((p) => p.trim()).filter(Boolean);
      const unknown = list.filter((p) => !known.has(p));
      if (!list.length || unknown.length) {
        errors.push(`--set "${s.text}": ${list.length ? `unknown platform ${unknown.join(', ')}` : 'no platform'} (the spec's: ${[...known].join(', ')})`);
        continue;
      }
      platforms = list;
      continue;
    }
    const names = s.release === '*' ? Object.keys(releases) : [s.release];
    for (const rname of names) {
      for (const d of Object.values(distros)) {
        if (s.distro !== undefined && d.name !== s.distro) continue;
        const dr = Object.hasOwn(d.releases, rname) ? d.releases[rname]! : undefined;
        if (!dr) continue;
        // On the distro release: the most specific level, so the set value wins everywhere.
        if (s.field === 'args') {
          dr.buildArgs[s.key!] = s.value;
          delete dr.gitArgs[s.key!];
        } else dr.vars = { ...dr.vars, [s.key!]: s.value };
      }
    }
  }
  return { spec: { ...spec, releases, distros }, ...(platforms ? { platforms } : {}), errors };
}
