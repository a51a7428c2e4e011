// Floating inputs: what a build takes from outside the spec that can move upstream under the
// same name (a base image tag, a git branch). The lock file pins each; here the plan asks
// what to build FROM and what to hash. Pure.
import type { Variant } from './expand.ts';
import { normalizePlatform } from '../base/manifest.ts';
import { pinned } from '../base/image-ref.ts';
import { isDigest } from '../base/image-ref.ts';
import type { LockFile } from '../load/lock-file.ts';
import type { Spec } from '../load/spec.ts';

export interface FloatingInputs {
  /** External base image → the platforms builds need of it. */
  images: Map<string, Set<string>>;
  /** Git repository URL → refs used. */
  git: Map<string, Set<string>>;
}

/** Every floating input of these variants (already-pinned `image@sha256:` references excluded). */
export function floatingInputs(spec: Spec, variants: Variant[]): FloatingInputs {
  const images = new Map<string, Set<string>>();
  const git = new Map<string, Set<string>>();
  for (const v of variants) {
    if (v.baseImage && !v.baseImage.includes('@')) {
      const set = images.get(v.baseImage) ?? new Set<string>();
      for (const a of v.arches) set.add(normalizePlatform(spec.architectures[a]!));
      images.set(v.baseImage, set);
    }
    for (const g of Object.values(v.gitArgs)) {
      const set = git.get(g.url) ?? new Set<string>();
      set.add(g.ref);
      git.set(g.url, set);
    }
  }
  return { images, git };
}

/**
 * The reference a root build uses for these platforms: pinned to the platform's image digest
 * (one platform), or to the index digest (several, one build), when the lock has them.
 */
export function pinBase(lock: LockFile | undefined, image: string, platforms: string[]): { ref: string; pinned: boolean } {
  if (image.includes('@')) return { ref: image, pinned: true };
  const l = lock && Object.hasOwn(lock.images, image) ? lock.images[image]! : undefined;
  if (!l) return { ref: image, pinned: false };
  const digests = platforms.map((p) => (Object.hasOwn(l.platforms, normalizePlatform(p)) ? l.platforms[normalizePlatform(p)] : undefined));
  if (digests.some((d) => !d || !isDigest(d))) return { ref: image, pinned: false };
  return { ref: pinned(image, platforms.length === 1 ? digests[0]! : l.digest), pinned: true };
}

/** The commit a floating git arg is locked to, if it is. */
export function pinGit(lock: LockFile | undefined, url: string, ref: string): string | undefined {
  const refs = lock && Object.hasOwn(lock.git, url) ? lock.git[url]! : undefined;
  return refs && Object.hasOwn(refs, ref) ? refs[ref] : undefined;
}

/**
 * The commit a ref points at, from `git ls-remote` output: a branch, then a tag (an annotated
 * tag's peeled commit), then a full ref name.
 */
export function commitFor(lsRemote: string, ref: string): string | undefined {
  const refs = new Map<string, string>();
  for (const line of lsRemote.split('\n')) {
    const m = /^([0-9a-f]{40}(?:[0-9a-f]{24})?)\t(\S+)$/.exec(line.trim());
    if (m) refs.set(m[2]!, m[1]!);
  }
  return refs.get(`refs/heads/${ref}`) ?? refs.get(`refs/tags/${ref}^{}`) ?? refs.get(`refs/tags/${ref}`) ?? refs.get(ref);
}
