// The OCI labels and index annotations users know from docker/metadata-action: title,
// description, source, url, revision, version, licenses, created. Pure: what the repository
// says (revision, remote, commit time) is asked at the edge and passed in.
import type { Spec } from '../load/spec.ts';

export interface VcsInfo {
  /** Commit of the spec ($GITHUB_SHA under Actions). */
  revision?: string;
  /** Where the source lives, as a browsable https URL. */
  source?: string;
  /** RFC 3339: from SOURCE_DATE_EPOCH when set, else the commit's time (never "now", so reruns agree). */
  created?: string;
}

const OCI = 'org.opencontainers.image';

/** `git@github.com:o/r.git`, `https://x@github.com/o/r.git` → `https://github.com/o/r`; undefined when not a web address. */
export function browsableUrl(remote: string): string | undefined {
  const r = remote.trim();
  const scp = /^[\w.-]+@([\w.-]+):([\w./-]+?)(?:\.git)?$/.exec(r);
  if (scp) return `https://${scp[1]}/${scp[2]}`;
  try {
    const u = new URL(r);
    if (u.protocol !== 'https:' && u.protocol !== 'http:' && u.protocol !== 'ssh:') return undefined;
    return `https://${u.hostname}${u.pathname.replace(/\.git$/, '').replace(/\/$/, '')}`;
  } catch {
    return undefined;
  }
}

/** SOURCE_DATE_EPOCH (seconds) as RFC 3339; undefined when unset or not a number. */
export function epochToIso(epoch: string | undefined): string | undefined {
  if (!epoch || !/^\d+$/.test(epoch)) return undefined;
  return new Date(Number(epoch) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * The OCI labels of every image of the spec: defaults from the spec and repository, then the
 * spec's own `labels:` over them (an empty value removes one).
 */
export function ociLabels(spec: Pick<Spec, 'package' | 'description' | 'version' | 'labels'>, vcs: VcsInfo = {}): Record<string, string> {
  const out: Record<string, string> = { [`${OCI}.title`]: spec.package };
  if (spec.description) out[`${OCI}.description`] = spec.description;
  if (vcs.source) {
    out[`${OCI}.source`] = vcs.source;
    out[`${OCI}.url`] = vcs.source;
  }
  if (spec.version) out[`${OCI}.version`] = spec.version;
  if (vcs.revision) out[`${OCI}.revision`] = vcs.revision;
  if (vcs.created) out[`${OCI}.created`] = vcs.created;
  for (const [k, v] of Object.entries(spec.labels ?? {})) {
    if (v === '') delete out[k];
    else out[k] = v;
  }
  return out;
}

/** The OCI labels an index carries as its own annotations, sorted by key: both merge paths use these. */
export function indexAnnotationMap(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(labels)
      .filter(([k]) => k.startsWith(`${OCI}.`))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** The same, as `imagetools create --annotation index:…` entries, so registries' pages show them on the index. */
export function indexAnnotations(labels: Record<string, string>): string[] {
  return Object.entries(indexAnnotationMap(labels)).map(([k, v]) => `index:${k}=${v}`);
}
