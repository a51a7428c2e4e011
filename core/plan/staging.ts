// Where per-platform images wait before a manifest publishes them: a content-addressed tag
// (the build's hash) in the staging repository, so "is this build already done?" is one
// registry lookup and a child can always FROM its parent's exact image. Passed image tests
// leave a tag there too, so a fresh machine knows they passed. Pure.
import { sha256 } from '../base/hash.ts';
import type { Plan } from './plan.ts';
import { publishRepositories } from '../load/repositories.ts';
import type { BuildTask, ManifestTask, TestTask } from './task.ts';

/** The staging repository of the first registry the package publishes to, unless overridden. */
export function stagingRepository(plan: Plan, override?: string): string | undefined {
  if (override) return override;
  return publishRepositories(plan.spec)[0]?.registry.staging;
}

/** A repository name only the local engine uses, for when nothing is pushed (`--load`). */
export function localRepository(plan: Plan): string {
  return `manager.local/${plan.spec.package}`;
}

/** Tags this tool writes into a staging repository (and `manager prune` may remove): builds, test passes, publication records. */
export const STAGING_TAG_RE = /^(build|test|pub)-[A-Za-z0-9_.-]*[0-9a-f]{32}$/;

export function stagingTag(b: BuildTask): string {
  // A tag holds at most 128 characters: a build of several platforms is `multi`, its hash says which.
  return `build-${b.arches.length === 1 ? b.arches[0] : 'multi'}-${b.hash.value.slice(0, 32)}`;
}

export function stagingRef(repo: string, b: BuildTask): string {
  return `${repo}:${stagingTag(b)}`;
}

/** The tag that records a passed test task: the tested image under the test's hash. */
export function testRecordTag(t: TestTask): string {
  return `test-${t.hash.value.slice(0, 32)}`;
}

export function testRecordRef(repo: string, t: TestTask): string {
  return `${repo}:${testRecordTag(t)}`;
}

/** The tag of a manifest task's publication record (core/plan/publication.ts). */
export function publicationTag(m: ManifestTask): string {
  return publicationTagOf(m.hash.value);
}

/** The same, from the manifest hash a record names. */
export function publicationTagOf(manifestHash: string): string {
  return `pub-${manifestHash.slice(0, 32)}`;
}

/**
 * The tag of a package's publication summary (core/plan/publication.ts): one per package, so
 * packages sharing a staging repository keep theirs apart. Not a staging tag: prune keeps it.
 */
export function summaryTag(pkg: string): string {
  const tag = `publications-${pkg}`;
  return tag.length <= 128 ? tag : `publications-${pkg.slice(0, 96)}-${sha256(pkg).slice(0, 16)}`;
}

export function logFileName(taskId: string): string {
  return `${taskId.replace(/[^A-Za-z0-9._-]+/g, '_')}.log`;
}
