// What `ci matrix` fans out: the selected builds the registry does not have yet. CI runners
// keep no state, so the registry is the only record; each build is decided by the same rule
// as a run (decideTask), and a lookup that fails is an error, never "changed".
import { DEFAULT_DECIDE } from '../core/plan/decide.ts';
import type { Plan } from '../core/plan/plan.ts';
import type { BuildTask } from '../core/plan/task.ts';
import type { RegistryClient } from '../registries/distribution.ts';
import { decideTask, FactFinder } from './facts.ts';

export interface ChangedBuilds {
  changed: Set<string>;
  /** Builds whose lookup failed: id → why. */
  failed: Map<string, string>;
  /** Builds whose lookup failed that `assumeMissing` counted as changed: id → why. */
  assumed: Map<string, string>;
}

export async function changedBuilds(plan: Plan, selected: Set<string>, stagingRepo: string, client: RegistryClient, o: { assumeMissing?: boolean } = {}): Promise<ChangedBuilds> {
  const builds = [...selected].map((id) => plan.tasks.get(id)!).filter((t): t is BuildTask => t.kind === 'build');
  const finder = new FactFinder(plan, { version: 1, tasks: {} }, '', { client, stagingRepo });
  const out: ChangedBuilds = { changed: new Set(), failed: new Map(), assumed: new Map() };
  // The client bounds concurrency itself; every lookup is started at once.
  await Promise.all(
    builds.map(async (b) => {
      const { decision, facts } = await decideTask(b, finder, { ...DEFAULT_DECIDE, assumeMissing: Boolean(o.assumeMissing) }, () => undefined);
      if (decision.action === 'fail') out.failed.set(b.id, decision.reason);
      else if (decision.action === 'run') out.changed.add(b.id);
      if (decision.action === 'run' && facts.registry?.state === 'error') out.assumed.set(b.id, facts.registry.error);
    }),
  );
  return out;
}
