// The lock file: what the spec's floating inputs (external base images, git refs) resolved to,
// written by `manager lock` next to the manifest and meant to be committed. Sorted and free of
// timestamps, so a rerun against an unchanged upstream rewrites the same bytes. Pure.
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import type { Diagnostic } from '../base/diagnostics.ts';
import { isDigest } from '../base/image-ref.ts';
import { locate, readSpecFile } from './source.ts';

export const LOCK_VERSION = 1;

export interface LockedImage {
  /** The tag's own digest: an index, or the single image. */
  digest: string;
  /** Platform (`linux/arm64`) → that platform's image digest. */
  platforms: Record<string, string>;
}

export interface LockFile {
  file: string;
  /** Image reference as the spec expands it → what it resolved to. */
  images: Record<string, LockedImage>;
  /** Git repository URL → ref → commit. */
  git: Record<string, Record<string, string>>;
}

/** `<dir>/<name>.lock.<ext>` beside the manifest: `manifest.yaml` → `manifest.lock.yaml`. */
export function lockPath(manifest: string): string {
  const ext = extname(manifest) || '.yaml';
  return join(dirname(manifest), `${basename(manifest, extname(manifest))}.lock${ext}`);
}

const digest = z.string().refine(isDigest, 'expected a sha256 digest');
const lockSchema = z.strictObject({
  lockVersion: z.literal(LOCK_VERSION),
  images: z.record(z.string().min(1), z.strictObject({ digest, platforms: z.record(z.string().regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/), digest) })).optional(),
  git: z.record(z.string().min(1), z.record(z.string().min(1), z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'expected a full commit id'))).optional(),
});

/** Reads the lock file beside a manifest, if there is one; problems are spec diagnostics with positions. */
export function readLockFile(manifest: string): { lock?: LockFile; diagnostics: Diagnostic[] } {
  const file = lockPath(manifest);
  if (!existsSync(file)) return { diagnostics: [] };
  const src = readSpecFile(file);
  if (src.value === undefined) return { diagnostics: src.diagnostics };
  const parsed = lockSchema.safeParse(src.value);
  if (!parsed.success) {
    return {
      diagnostics: parsed.error.issues.map((i) => {
        const path = i.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
        return { severity: 'error' as const, path: path.join('.'), message: `lock file: ${i.message} (rerun \`manager lock\`)`, ...(locate(src.locations, path) ?? { file, line: 1, column: 1 }) };
      }),
    };
  }
  return { lock: { file, images: parsed.data.images ?? {}, git: parsed.data.git ?? {} }, diagnostics: src.diagnostics };
}

const sortedObject = <T>(o: Record<string, T>, each: (v: T) => unknown = (v) => v) =>
  Object.fromEntries(Object.keys(o).sort().map((k) => [k, each(o[k]!)]));

export function formatLockFile(lock: Omit<LockFile, 'file'>): string {
  const doc = {
    lockVersion: LOCK_VERSION,
    images: sortedObject(lock.images, (i) => ({ digest: i.digest, platforms: sortedObject(i.platforms) })),
    git: sortedObject(lock.git, (refs) => sortedObject(refs)),
  };
  return [
    '# Written by `manager lock`: the digests and commits this package\'s floating inputs resolved to.',
    '# Commit it. `manager outdated` says when upstream moved; `manager build --refresh` updates it.',
    stringify(doc, { lineWidth: 0, sortMapEntries: false }),
  ].join('\n');
}

export interface LockChange {
  kind: 'image' | 'git';
  /** `image@platform` or `url#ref`. */
  input: string;
  before?: string;
  after?: string;
}

/** Every input whose resolution differs between two locks (new inputs included). */
export function lockChanges(before: Omit<LockFile, 'file'> | undefined, after: Omit<LockFile, 'file'>): LockChange[] {
  const out: LockChange[] = [];
  for (const [image, a] of Object.entries(after.images).sort(([x], [y]) => x.localeCompare(y))) {
    const b = before?.images[image];
    for (const [platform, d] of Object.entries(a.platforms).sort(([x], [y]) => x.localeCompare(y))) {
      const was = b && Object.hasOwn(b.platforms, platform) ? b.platforms[platform] : undefined;
      if (was !== d) out.push({ kind: 'image', input: `${image} ${platform}`, before: was, after: d });
    }
  }
  for (const [url, refs] of Object.entries(after.git).sort(([x], [y]) => x.localeCompare(y))) {
    for (const [ref, commit] of Object.entries(refs).sort(([x], [y]) => x.localeCompare(y))) {
      const was = before?.git[url] && Object.hasOwn(before.git[url]!, ref) ? before.git[url]![ref] : undefined;
      if (was !== commit) out.push({ kind: 'git', input: `${url}#${ref}`, before: was, after: commit });
    }
  }
  return out;
}
