// The golden files: a few generated bento-server files, checked in and compared byte for byte.
import { join } from 'node:path';
import { sha256 } from '../../core/base/hash.ts';
import type { Plan } from '../../core/plan/plan.ts';
import { REPO } from './spec.ts';

export const GOLDEN_DIR = join(REPO, 'test', 'golden', 'bento-server');
export const GOLDEN_FILES = ['debian11/base/Dockerfile', 'debian11/devel-trt/Dockerfile', 'ubi8/cudnn/Dockerfile', 'ubi8/cudnn/cuda.repo-arm64v8', 'amazonlinux2/base/Dockerfile', 'alpine3.14/runtime/Dockerfile', 'debian11/cudnn/Dockerfile', 'debian11/base/Dockerfile-conda'];

/** The whole bento-server tree and tag list, as one checked-in digest each (see treeDigest). */
export const TREE_DIGEST_FILE = join(REPO, 'test', 'golden', 'bento-server.digests.json');

/** A digest of every generated file (path and content) and one of every image's tags. */
export function treeDigests(plan: Plan): { files: number; tree: string; images: number; tags: string } {
  const files = [...plan.tasks.values()].flatMap((t) => (t.kind === 'render' ? t.files.map((f) => `${f.path}\n${f.sha256}`) : [])).sort();
  const tags = plan.variants.map((v) => `${v.key}: ${v.tags.join(' ')}`).sort();
  return { files: files.length, tree: sha256(files.join('\n')), images: tags.length, tags: sha256(tags.join('\n')) };
}
