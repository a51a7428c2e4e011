// The commit of a generated tree: all or nothing against any filesystem failure. New content
// is staged inside the tree (same filesystem, so every later step is a rename); then, with
// signals held, what is replaced or removed is moved aside into the staging directory and the
// new files are renamed in. A failure at any step undoes the steps before it, in reverse.
import { chmodSync, mkdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { WorkError } from '../core/base/errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { lstatOrNone } from './links.ts';
import { DEFAULT_MODE, type FileBody } from './owned.ts';
import { withSignalsDeferred } from './signals.ts';

/** The filesystem steps of a commit; tests swap one for a step that fails. */
export interface CommitFs {
  /** Writes the file with exactly `mode` (default 0644), whatever the umask: a build context carries it. */
  write(path: string, data: string | Buffer, mode?: number): void;
  mkdir(dir: string): void;
  rename(from: string, to: string): void;
  rmdir(dir: string): void;
}

export const realFs: CommitFs = {
  write: (p, d, mode = DEFAULT_MODE) => {
    writeFileAtomic(p, d, mode);
    chmodSync(p, mode);
  },
  mkdir: (d) => mkdirSync(d),
  rename: (a, b) => renameSync(a, b),
  rmdir: (d) => rmdirSync(d),
};

export const STAGING_PREFIX = '.staging-';

/**
 * Writes `writes` (path relative to dir → content, or content and mode) and removes `removes`
 * under dir, or changes nothing and throws a WorkError: afterwards the old tree is whole and
 * no staging directory is left. Paths are files; their parents are created as needed. A file
 * is staged with its mode, so the rename that puts it in place changes bytes and mode at once.
 */
export function commitTree(dir: string, writes: Map<string, string | FileBody>, removes: string[] = [], fs: CommitFs = realFs): void {
  if (!writes.size && !removes.length) return;
  const made: string[] = [];
  const staging = join(dir, `${STAGING_PREFIX}${process.pid}`);
  const fresh = join(staging, 'new');
  const aside = join(staging, 'old');
  const fail = (what: string, e: unknown): never => {
    rmSync(staging, { recursive: true, force: true });
    removeMade(made, fs);
    throw new WorkError(`${what} under ${dir}: ${(e as Error).message}`);
  };
  try {
    mkdirs(dir, fs, (d) => made.push(d));
    rmSync(staging, { recursive: true, force: true });
    for (const [p, c] of writes) {
      if (typeof c === 'string') fs.write(join(fresh, p), c);
      else fs.write(join(fresh, p), c.content, c.mode ?? DEFAULT_MODE);
    }
  } catch (e) {
    fail('could not write generated files', e);
  }
  withSignalsDeferred(() => {
    const undo: (() => void)[] = [];
    try {
      for (const p of new Set([...removes, ...writes.keys()])) {
        const target = join(dir, p);
        if (!lstatOrNone(target)) continue;
        mkdirs(dirname(join(aside, p)), fs, () => {});
        fs.rename(target, join(aside, p));
        undo.push(() => fs.rename(join(aside, p), target));
      }
      for (const p of writes.keys()) {
        const target = join(dir, p);
        mkdirs(dirname(target), fs, (d) => undo.push(() => fs.rmdir(d)));
        fs.rename(join(fresh, p), target);
        undo.push(() => fs.rename(target, join(fresh, p)));
      }
    } catch (e) {
      for (const u of undo.reverse()) {
        try {
          u();
        } catch {
          // Renames back within one filesystem need no space; keep undoing the rest.
        }
      }
      fail('could not commit generated files (the tree is as it was)', e);
    }
    // Committed: what follows only tidies up, and a failure there changes no file.
    rmSync(staging, { recursive: true, force: true });
    pruneEmptyParents(dir, removes);
  });
}

/** Creates dir and its missing parents, telling each one created (outermost first) as it is. */
function mkdirs(dir: string, fs: CommitFs, made: (d: string) => void): void {
  const missing: string[] = [];
  for (let d = dir; !lstatOrNone(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    fs.mkdir(d);
    made(d);
  }
}

function removeMade(made: string[], fs: CommitFs): void {
  for (const d of [...made].reverse()) {
    try {
      fs.rmdir(d);
    } catch {
      // not empty (someone else's files) or already gone: leave it
    }
  }
}

/** Removes the directories a removal left empty, up to (not including) root. */
function pruneEmptyParents(root: string, removed: string[]): void {
  for (const p of removed) {
    const parts = relative(root, join(root, p)).split(sep);
    for (let i = parts.length - 1; i > 0; i--) {
      try {
        rmdirSync(join(root, ...parts.slice(0, i)));
      } catch {
        break;
      }
    }
  }
}
