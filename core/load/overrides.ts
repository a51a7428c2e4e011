// `--set` in bake's spirit: `release.args.NAME=value`, `pkg:release@distro.vars.NAME=value`,
// `*.platforms=linux/amd64`. Build args and vars land in the spec before planning, so they are
// inputs like any other (a changed arg rebuilds what it reaches); platforms narrow the
// selection. Pure: parse, then apply to a spec copy, every error found in one pass.
import { ENTITLEMENTS, type Entitlement, type Spec } from './spec.ts';
import { parseSecret, parseSsh, shownSecret } from './build-inputs.ts';

export interface SetOverride {
  text: string;
  /** `*`: every release. */
  release: string;
  distro?: string;
  field: 'args' | 'vars' | 'platforms' | 'tags' | 'secrets' | 'ssh' | 'entitlements';
  key?: string;
  value: string;
}

const SET_RE = /^(?:(?<pkg>[A-Za-z0-9][\w.-]*):)?(?<release>\*|[A-Za-z0-9][\w.-]*)(?:@(?<distro>[A-Za-z0-9][\w.-]*))?\.(?<field>args|vars|platforms|tags|secrets|ssh|entitlements)(?:\.(?<key>[A-Za-z_][\w]*))?=(?<value>.*)$/s;

/** Parses every `--set`; those for another package are left out (a run may name several). */
export function parseSets(texts: readonly string[], pkg: string): { sets: SetOverride[]; errors: string[] } {
  const sets: SetOverride[] = [];
  const errors: string[] = [];
  for (const text of texts) {
    const m = SET_RE.exec(text);
    if (!m?.groups) {
      errors.push(`--set "${text}": expected TARGET.FIELD=VALUE, TARGET one of *, release, package:release, release@distro; FIELD args.NAME, vars.NAME, platforms, tags, secrets, ssh or entitlements`);
      continue;
    }
    const g = m.groups;
    if (g['pkg'] !== undefined && g['pkg'] !== pkg) continue;
    const field = g['field'] as SetOverride['field'];
    const named = field === 'args' || field === 'vars';
    if (named ? g['key'] === undefined : g['key'] !== undefined) {
      errors.push(`--set "${text}": ${named ? `${field} needs a name: ${g['release']}.${field}.NAME=VALUE` : `${field} takes no name`}`);
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
    if (s.field === 'tags' || s.field === 'secrets' || s.field === 'ssh' || s.field === 'entitlements') {
      const problem = releaseField(s, releases, s.release === '*' ? Object.keys(releases) : [s.release]);
      if (problem) errors.push(`--set "${s.field === 'secrets' ? `${s.text.slice(0, s.text.length - s.value.length)}${shownSecret(s.value)}` : s.text}": ${problem}`);
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

/**
 * The release-level fields bake's `--set` also reaches: `tags` (the release's tag templates,
 * comma-separated, replacing its own), `secrets` (one `id=ID,env=VAR` or `id=ID,src=FILE`, added),
 * `ssh` (`default` or `ID=PATH,…`, added) and `entitlements` (comma-separated, added). They land
 * in the spec, so they are inputs as written there would be. An error, or undefined.
 */
function releaseField(s: SetOverride, releases: Spec['releases'], names: string[]): string | undefined {
  if (s.distro !== undefined) return `${s.field} belong to a release, not to a release on one distro: ${s.release}.${s.field}=…`;
  if (s.field === 'tags') {
    if (s.release === '*') return 'tags name one release\'s images: set them per release (RELEASE.tags=…), or every image would carry the same tags';
    const tags = s.value.split(',').map((t) => t.trim()).filter(Boolean);
    if (!tags.length) return 'no tag';
    releases[s.release]!.tags = tags.map((template) => ({ template }));
    return undefined;
  }
  if (s.field === 'entitlements') {
    const list = s.value.split(',').map((e) => e.trim()).filter(Boolean);
    const bad = list.filter((e) => !(ENTITLEMENTS as readonly string[]).includes(e));
    if (!list.length || bad.length) return `${list.length ? `not an entitlement: ${bad.join(', ')}` : 'no entitlement'} (${ENTITLEMENTS.join(', ')})`;
    for (const n of names) releases[n]!.entitlements = [...new Set([...releases[n]!.entitlements, ...(list as Entitlement[])])];
    return undefined;
  }
  if (s.field === 'ssh') {
    const p = parseSsh(s.value);
    if ('error' in p) return p.error;
    for (const n of names) releases[n]!.ssh = [...releases[n]!.ssh.filter((x) => x.id !== p.value.id), p.value];
    return undefined;
  }
  const p = parseSecret(s.value);
  if ('error' in p) return `expected one secret, id=ID,env=VARIABLE or id=ID,src=FILE: ${p.error}`;
  const secret = p.value;
  for (const n of names) releases[n]!.secrets = [...releases[n]!.secrets.filter((x) => x.id !== secret.id), secret];
  return undefined;
}

