// Paths the generated tree is written through. A cloned repository decides what its files
// are, links included: a link on the way would let it make a run write or delete elsewhere.
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { join, relative, resolve, sep, isAbsolute } from 'node:path';
import { WorkError } from '../core/base/errors.ts';

/** lstat, or undefined when nothing is there (a dangling link is there). */
export function lstatOrNone(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** Whether a link stands at `p` (dangling or not); anything that cannot be looked at is not one. */
export function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function inside(base: string, p: string): boolean {
  const rel = relative(base, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Checks every directory from `base` (the spec root, or `--output` when given) down to
 * `dir`: a link whose target leaves `base` is refused, and so is a file where a directory
 * goes. Links above `base` are the user's own choice and are left alone.
 */
export function checkOutputPath(base: string, dir: string): void {
  const top = resolve(base);
  const target = resolve(dir);
  const baseStat = lstatOrNone(top);
  if (baseStat && !baseStat.isSymbolicLink() && !baseStat.isDirectory()) throw new WorkError(`cannot generate into ${target}: ${top} is a file, not a directory`);
  if (!inside(top, target)) return;
  const realBase = baseStat ? realpathSync(top) : top;
  let p = top;
  for (const part of relative(top, target).split(sep).filter(Boolean)) {
    p = join(p, part);
    const st = lstatOrNone(p);
    if (!st) return;
    if (st.isSymbolicLink()) {
      let real: string | undefined;
      try {
        real = realpathSync(p);
      } catch {
        real = undefined;
      }
      if (!real || !inside(realBase, real)) throw new WorkError(`refusing to generate into ${target}: ${p} is a symbolic link out of ${top}`);
      if (!lstatSync(real).isDirectory()) throw new WorkError(`cannot generate into ${target}: ${p} is not a directory`);
      continue;
    }
    if (!st.isDirectory()) throw new WorkError(`cannot generate into ${target}: ${p} is a file, not a directory`);
  }
}
