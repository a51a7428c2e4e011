// Writes that never leave a half-written file: write a sibling temp file, then rename.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

const TEMP_RE = /^\..+\.tmp-(\d+)-[a-z0-9]+$|^.+\.(\d+)\.[a-z0-9]+\.tmp$/;

/**
 * Removes temporaries (`.name.tmp-PID-…`, `name.PID.….tmp`) that a process killed mid-write
 * left in a directory; those of a live process are left alone.
 */
export function cleanStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = TEMP_RE.exec(n);
    const pid = Number(m?.[1] ?? m?.[2]);
    if (!m || alive(pid)) continue;
    rmSync(join(dir, n), { force: true });
  }
}

/** Whether a process of this host still runs (EPERM: it does, as another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the file already holds exactly this text or these bytes, and, when `mode` is given,
 * has exactly those permission bits (then it is left alone: same inode, same mtime).
 */
export function hasContent(path: string, content: string | Buffer, mode?: number): boolean {
  if (!existsSync(path)) return false;
  if (mode !== undefined && (statSync(path).mode & 0o777) !== mode) return false;
  return typeof content === 'string' ? readFileSync(path, 'utf8') === content : readFileSync(path).equals(content);
}
