// Where per-platform images wait before a manifest publishes them: a content-addressed tag
// (the build's hash) in the staging repository, so "is this build already done?" is one
// registry lookup and a child can always FROM its parent's exact image.
import type { Plan } from '../core/plan.ts';
import { publishRepositories } from '../core/refs.ts';
import type { BuildTask } from '../core/task.ts';

export function stagingRepository(plan: Plan, override?: string): string | undefined {
  if (override) return override;
  return publishRepositories(plan.spec)[0]?.repository;
}

/** A repository name only the local engine uses, for when nothing is pushed (`--load`). */
export function localRepository(plan: Plan): string {
  return `manager.local/${plan.spec.package}`;
}

export function stagingTag(b: BuildTask): string {
  // A tag holds at most 128 characters: a build of several platforms is `multi`, its hash says which.
  return `build-${b.arches.length === 1 ? b.arches[0] : 'multi'}-${b.hash.value.slice(0, 32)}`;
}

export function stagingRef(repo: string, b: BuildTask): string {
  return `${repo}:${stagingTag(b)}`;
}

export function logFileName(taskId: string): string {
  return `${taskId.replace(/[^A-Za-z0-9._-]+/g, '_')}.log`;
}
