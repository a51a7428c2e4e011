// Which staging tags `manager prune` may remove: tags this tool wrote (build-…, test-…) whose
// images no public tag references and that are older than the retention. Deleting goes by
// manifest digest, which removes every tag on it, so a digest goes only when all its tags may. Pure.
import { STAGING_TAG_RE } from './staging.ts';

export interface StagedTag {
  tag: string;
  digest: string;
  /** Platform image digests inside it, when it is an index. */
  children: string[];
  /** The image's creation time (ISO), from its config; undefined when unknown. */
  created?: string;
}

export interface PruneDecision {
  digest: string;
  tags: string[];
  created?: string;
  delete: boolean;
  why: string;
}

export function isStagingTag(tag: string): boolean {
  return STAGING_TAG_RE.test(tag);
}

/** `14d`, `12h`, `30m`, `0s` → milliseconds. */
export function parseRetention(text: string): number | undefined {
  const m = /^(\d+)([dhms])$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[m[2] as 'd' | 'h' | 'm' | 's'];
}

/**
 * One decision per digest. `current` are the staging tags the spec as it is now would use
 * (children and reruns build FROM them, whether published or not); `others` are the non-staging tags' digests in the same repository
 * (a digest that also carries one is never deleted); `referenced` are the digests public tags
 * point at, their indexes' children included; `recorded` are the digests the package's
 * publication summary names (a fresh runner would build FROM them and skip on their word).
 */
export function planPrune(staged: StagedTag[], referenced: Set<string>, others: Set<string>, now: number, retentionMs: number, current: Set<string> = new Set(), recorded: Set<string> = new Set()): PruneDecision[] {
  const byDigest = new Map<string, StagedTag[]>();
  for (const s of staged) byDigest.set(s.digest, [...(byDigest.get(s.digest) ?? []), s]);
  const out: PruneDecision[] = [];
  for (const [digest, tags] of [...byDigest].sort(([a], [b]) => a.localeCompare(b))) {
    const names = tags.map((t) => t.tag).sort();
    const created = tags.map((t) => t.created).find(Boolean);
    const children = tags.flatMap((t) => t.children);
    const base = { digest, tags: names, created };
    if (referenced.has(digest) || children.some((c) => referenced.has(c))) out.push({ ...base, delete: false, why: 'a public tag points at it' });
    else if (names.some((n) => current.has(n))) out.push({ ...base, delete: false, why: 'the spec as it is now builds it' });
    else if (recorded.has(digest)) out.push({ ...base, delete: false, why: 'the publication summary names it' });
    else if (others.has(digest)) out.push({ ...base, delete: false, why: 'another tag in the repository points at it' });
    else if (!created || Number.isNaN(Date.parse(created))) out.push({ ...base, delete: false, why: 'its age is unknown' });
    else if (now - Date.parse(created) < retentionMs) out.push({ ...base, delete: false, why: 'younger than the retention' });
    else out.push({ ...base, delete: true, why: 'unreferenced and older than the retention' });
  }
  return out;
}
