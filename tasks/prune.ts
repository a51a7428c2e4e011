// `manager prune`, against the registry API: lists the staging repositories' tags, finds what
// public tags still reference, and deletes (with --yes) the rest that is older than the
// retention. A registry that refuses deletes through this API is reported, not worked around.
// What the package's publication summary names stays: a fresh runner skips on its word and
// builds FROM the staged images it lists.
import { parseImageRef } from '../core/base/image-ref.ts';
import { manifestInfo } from '../core/base/manifest.ts';
import { isStagingTag, planPrune, type PruneDecision, type StagedTag } from '../core/plan/prune.ts';
import { repositoryRef } from '../core/load/repositories.ts';
import { publicationTagOf } from '../core/plan/staging.ts';
import type { Spec } from '../core/load/spec.ts';
import type { RegistryClient } from '../registries/distribution.ts';
import { readSummary } from './summary.ts';

export interface PruneReport {
  repository: string;
  decisions: PruneDecision[];
  /** Digests deleted (with --yes). */
  deleted: string[];
  /** Why deleting stopped, when the registry does not allow it. */
  unsupported?: string;
}

/** Every staging repository of the package's registries, with the public repository beside it. */
export function stagingPairs(spec: Spec): { staging: string; public: string }[] {
  const seen = new Map<string, string>();
  for (const name of spec.publish) {
    const r = spec.registries[name]!;
    if (!seen.has(r.staging)) seen.set(r.staging, repositoryRef(r));
  }
  return [...seen].map(([staging, pub]) => ({ staging, public: pub }));
}

async function digestsOf(client: RegistryClient, host: string, repository: string, tag: string): Promise<{ digest: string; children: string[]; config?: string; created?: string } | undefined> {
  const m = await client.manifest({ host, repository, tag });
  if (!m) return undefined;
  const info = manifestInfo(m.digest, m.doc);
  // Publication records say when they were written in an annotation; images, in their config.
  return { digest: m.digest, children: Object.values(info.platforms ?? {}), config: info.config, created: m.doc.annotations?.['org.opencontainers.image.created'] };
}

async function createdOf(client: RegistryClient, host: string, repository: string, d: { children: string[]; config?: string; created?: string }): Promise<string | undefined> {
  if (d.created) return d.created;
  let config = d.config;
  if (!config && d.children[0]) {
    const child = await client.manifest({ host, repository, digest: d.children[0] });
    config = child ? manifestInfo(child.digest, child.doc).config : undefined;
  }
  return config ? (await client.config(host, repository, config)).created : undefined;
}

/**
 * The digests the package's summary names: each entry's staged images and published index, and
 * the per-image record of its hash. A summary that cannot be read stops the prune (it may name
 * anything); one that is missing or corrupt names nothing, and no runner believes it either.
 */
async function summaryNames(client: RegistryClient, stagingRepo: string, pkg: string, staged: StagedTag[]): Promise<Set<string>> {
  const found = await readSummary(client, stagingRepo, pkg);
  const names = new Set<string>();
  if (!found) return names;
  const byTag = new Map(staged.map((s) => [s.tag, s.digest]));
  for (const e of Object.values(found.summary.entries)) {
    for (const d of Object.values(e.builds)) names.add(d);
    names.add(e.published);
    const record = byTag.get(publicationTagOf(e.manifest));
    if (record) names.add(record);
  }
  return names;
}

export async function prune(spec: Spec, client: RegistryClient, o: { now: number; retentionMs: number; yes: boolean; current: Set<string> }): Promise<PruneReport[]> {
  const reports: PruneReport[] = [];
  for (const pair of stagingPairs(spec)) {
    const s = parseImageRef(pair.staging);
    const p = parseImageRef(pair.public);
    const tags = await client.tags(s.host, s.repository);
    const stagingTags = tags.filter(isStagingTag);
    const otherTags = tags.filter((t) => !isStagingTag(t));
    const staged: StagedTag[] = (
      await Promise.all(
        stagingTags.map(async (tag): Promise<StagedTag | undefined> => {
          const d = await digestsOf(client, s.host, s.repository, tag);
          return d ? { tag, digest: d.digest, children: d.children, created: await createdOf(client, s.host, s.repository, d) } : undefined;
        }),
      )
    ).filter((x): x is StagedTag => !!x);
    const sameRepo = s.host === p.host && s.repository === p.repository;
    const publicTags = sameRepo ? otherTags : await client.tags(p.host, p.repository);
    const referenced = new Set<string>();
    for (const d of await Promise.all(publicTags.map((tag) => digestsOf(client, p.host, p.repository, tag)))) {
      if (!d) continue;
      referenced.add(d.digest);
      for (const c of d.children) referenced.add(c);
    }
    const others = new Set<string>();
    if (!sameRepo) for (const d of await Promise.all(otherTags.map((tag) => digestsOf(client, s.host, s.repository, tag)))) if (d) others.add(d.digest);
    const decisions = planPrune(staged, referenced, others, o.now, o.retentionMs, o.current, await summaryNames(client, pair.staging, spec.package, staged));
    const report: PruneReport = { repository: pair.staging, decisions, deleted: [] };
    if (o.yes) {
      for (const d of decisions.filter((x) => x.delete)) {
        const r = await client.deleteManifest(s.host, s.repository, d.digest);
        if (r === 'unsupported') {
          report.unsupported = `${s.host} does not allow deleting manifests through the registry API (the distribution spec's DELETE); remove these tags in the registry's own interface`;
          break;
        }
        report.deleted.push(d.digest);
      }
    }
    reports.push(report);
  }
  return reports;
}
