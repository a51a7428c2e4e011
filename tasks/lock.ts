// One run at a time per generated tree. A second run fails at once naming the holder, or
// waits with --wait-lock; a lock left by a dead process is taken over.
//
// Taking the lock is one atomic step: the holder's record is written to a private file first,
// then hard-linked to the lock's name, which fails if the name exists. So the lock is never
// seen half-written, and two starts can never both succeed. Breaking a stale lock takes a
// second, short-lived lock (`lock.break`), so two processes that both see the same dead holder
// cannot remove a live lock the other has just taken.
import { closeSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { WorkError } from '../core/errors.ts';
import { alive, cleanStaleTemps } from './atomic.ts';

export interface Holder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export function lockPath(packageDir: string): string {
  return join(packageDir, '.manager', 'lock');
}

function readHolder(path: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Holder;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** Creates `path` holding `holder`, atomically; false when it exists already. */
function createExclusive(path: string, holder: Holder): boolean {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    writeSync(fd, JSON.stringify(holder));
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** A holder that is certainly gone: on this host, and its pid no longer runs. Another host's lock is never judged. */
function isStale(h: Holder | undefined, path: string): boolean {
  if (h) return h.host === hostname() && !alive(h.pid);
  // Unreadable: only a file old enough that no writer can still be between create and write.
  try {
    return Date.now() - statSync(path).mtimeMs > 10_000;
  } catch {
    return false;
  }
}

/**
 * Removes a stale lock, holding the breaker so no one else breaks (or re-takes) in between.
 * False when another process is breaking it right now.
 */
function breakStale(path: string, me: Holder, log?: (l: string) => void, packageDir?: string): boolean {
  const breaker = `${path}.break`;
  if (!createExclusive(breaker, me)) {
    // A breaker left by a process killed mid-break is itself stale: clear it and try again.
    if (isStale(readHolder(breaker), breaker)) unlinkQuiet(breaker);
    return false;
  }
  try {
    const h = readHolder(path);
    if (isStale(h, path)) {
      log?.(`taking over a stale lock${h ? ` left by pid ${h.pid}` : ''} on ${packageDir}`);
      unlinkQuiet(path);
    }
  } finally {
    unlinkQuiet(breaker);
  }
  return true;
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function unlinkQuiet(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}

export interface Lock {
  release(): void;
}

export async function acquireLock(packageDir: string, command: string, opts: { wait: boolean; pollMs?: number; log?: (l: string) => void }): Promise<Lock> {
  const path = lockPath(packageDir);
  // The lock, the state file and their temporaries live here: never through a link elsewhere.
  for (const d of [packageDir, dirname(path)]) {
    if (isLink(d)) throw new WorkError(`refusing to use ${d}: it is a symbolic link`);
  }
  mkdirSync(dirname(path), { recursive: true });
  cleanStaleTemps(dirname(path));
  const me: Holder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  let waited = false;
  for (;;) {
    if (createExclusive(path, me)) {
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        const h = readHolder(path);
        if (h?.pid === process.pid && h.host === me.host && h.since === me.since) unlinkQuiet(path);
      };
      process.once('exit', release);
      return { release };
    }
    const holder = readHolder(path);
    if (isStale(holder, path)) {
      if (!breakStale(path, me, opts.log, packageDir)) await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    if (!opts.wait) {
      const who = holder ? `pid ${holder.pid} on ${holder.host}, \`${holder.command}\`, since ${holder.since}` : 'a run that is just starting';
      throw new WorkError(`another manager run holds the lock on ${packageDir}: ${who}`, 'Wait for it to finish, or pass --wait-lock to wait here.');
    }
    if (!waited) opts.log?.(`waiting for ${holder ? `pid ${holder.pid}` : 'another run'} to release ${path}`);
    waited = true;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
