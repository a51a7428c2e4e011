// What `build --load` left in the local engine. The classic image store holds one platform per
// tag, so a multi-platform image loads only this host's platform (or its only one): a user who
// asked for two platforms must be told which one they can run and which they cannot. Pure.
import { localSource } from '../buildx/steps.ts';
import type { Plan } from '../plan/plan.ts';
import type { BuildTask } from '../plan/task.ts';
import type { TaskResult } from './result.ts';

export interface Loaded {
  /** Platforms whose images are tagged in the local engine. */
  loaded: string[];
  /** Platforms built (or found built) whose images no public tag in the engine names. */
  notLoaded: string[];
}

export function loadedPlatforms(plan: Plan, results: readonly TaskResult[], hostArch: string): Loaded | undefined {
  const byId = new Map(results.map((r) => [r.id, r]));
  const loaded = new Set<string>();
  const notLoaded = new Set<string>();
  for (const r of results) {
    const m = plan.tasks.get(r.id);
    if (m?.kind !== 'manifest' || r.status !== 'ran') continue;
    const src = localSource(m, plan, hostArch);
    for (const id of m.builds) {
      const b = plan.tasks.get(id) as BuildTask;
      const done = byId.get(id);
      if (!done || !['built', 'skipped', 'ran'].includes(done.status)) continue;
      for (const p of b.platforms) (b === src ? loaded : notLoaded).add(p);
    }
  }
  for (const p of loaded) notLoaded.delete(p);
  if (!loaded.size && !notLoaded.size) return undefined;
  return { loaded: [...loaded].sort(), notLoaded: [...notLoaded].sort() };
}

/** The line after a `--load` run's table. */
export function loadedLine(l: Loaded): string {
  const kept = `--load: ${l.loaded.length ? `${l.loaded.join(', ')} loaded into the local engine` : 'no platform loaded into the local engine'}`;
  return l.notLoaded.length
    ? `${kept}; ${l.notLoaded.join(', ')} built and tested but not loaded (the engine's image store keeps one platform per tag: push to a registry, or use an engine with the containerd image store, to keep them all)`
    : kept;
}
