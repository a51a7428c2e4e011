// What the registry already has: a staging tag whose image carries our hash label is a build
// that is done, on any machine. Read-only.
import type { Plan } from '../core/plan.ts';
import type { BuildTask } from '../core/task.ts';
import { HASH_LABEL, imagetoolsInspectArgv, parseImageLabels, parseInspectAll, type ManifestInfo } from './buildx.ts';
import { run } from './runner.ts';
import { stagingRef } from './staging.ts';

type LookupOptions = { builder?: string; signal?: AbortSignal };

/** Every platform's image carries the hash (an index with no platform image carries nothing). */
const carries = (labels: Record<string, string>[] | undefined, hash: string) => !!labels?.length && labels.every((l) => l[HASH_LABEL] === hash);

export async function hasHashLabel(ref: string, hash: string, opts: LookupOptions = {}): Promise<boolean> {
  const r = await run(imagetoolsInspectArgv(ref, 'image', opts.builder), { signal: opts.signal });
  return r.exitCode === 0 && carries(parseImageLabels(r.stdout), hash);
}

/** The staged manifest at `ref` if its images carry the hash: the label and the digest in one lookup. */
export async function stagedWithHash(ref: string, hash: string, opts: LookupOptions = {}): Promise<ManifestInfo | undefined> {
  const r = await run(imagetoolsInspectArgv(ref, 'all', opts.builder), { signal: opts.signal });
  const all = r.exitCode === 0 ? parseInspectAll(r.stdout) : undefined;
  return all && carries(all.labels, hash) ? all.manifest : undefined;
}

/** Builds of the selection the registry does not have yet, a few lookups at a time. */
export async function changedBuilds(plan: Plan, selected: Set<string>, stagingRepo: string, opts: { builder?: string; concurrency?: number } = {}): Promise<Set<string>> {
  const builds = [...selected].map((id) => plan.tasks.get(id)!).filter((t): t is BuildTask => t.kind === 'build');
  const changed = new Set<string>();
  let next = 0;
  const worker = async () => {
    while (next < builds.length) {
      const b = builds[next++]!;
      if (!(await hasHashLabel(stagingRef(stagingRepo, b), b.hash.value, opts))) changed.add(b.id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, builds.length) }, worker));
  return changed;
}
