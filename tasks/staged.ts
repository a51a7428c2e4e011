// What the registry already has: a staging tag whose image carries our hash label is a build
// that is done, on any machine. Read-only.
import type { Plan } from '../core/plan.ts';
import type { BuildTask } from '../core/task.ts';
import { HASH_LABEL, imagetoolsInspectArgv, parseImageLabels } from './buildx.ts';
import { run } from './runner.ts';
import { stagingRef } from './staging.ts';

export async function hasHashLabel(ref: string, hash: string, opts: { builder?: string; signal?: AbortSignal } = {}): Promise<boolean> {
  const r = await run(imagetoolsInspectArgv(ref, 'image', opts.builder), { signal: opts.signal });
  const labels = r.exitCode === 0 ? parseImageLabels(r.stdout) : undefined;
  return !!labels?.length && labels.every((l) => l[HASH_LABEL] === hash);
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
