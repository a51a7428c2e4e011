// Which builds the registry does not have yet: a staging tag whose image carries our hash
// label is done, on any machine. Read-only; a few lookups at a time.
import type { Plan } from '../core/plan.ts';
import type { BuildTask } from '../core/task.ts';
import { HASH_LABEL, imagetoolsInspectArgv, parseImageLabels } from './buildx.ts';
import { run } from './runner.ts';
import { stagingRef } from './staging.ts';

export async function changedBuilds(plan: Plan, selected: Set<string>, stagingRepo: string, opts: { builder?: string; concurrency?: number } = {}): Promise<Set<string>> {
  const builds = [...selected].map((id) => plan.tasks.get(id)!).filter((t): t is BuildTask => t.kind === 'build');
  const changed = new Set<string>();
  let next = 0;
  const worker = async () => {
    while (next < builds.length) {
      const b = builds[next++]!;
      const r = await run(imagetoolsInspectArgv(stagingRef(stagingRepo, b), 'image', opts.builder));
      const labels = r.exitCode === 0 ? parseImageLabels(r.stdout) : undefined;
      if (labels?.[HASH_LABEL] !== b.hash.value) changed.add(b.id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, builds.length) }, worker));
  return changed;
}
