// One run at a time per generated tree. A second run fails at once naming the holder, or
// waits with --wait-lock; a lock left by a dead process is taken over.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { WorkError } from '../core/errors.ts';

interface Holder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export function lockPath(packageDir: string): string {
  return join(packageDir, '.manager', 'lock');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

export interface Lock {
  release(): void;
}

export async function acquireLock(packageDir: string, command: string, opts: { wait: boolean; pollMs?: number; log?: (l: string) => void }): Promise<Lock> {
  const path = lockPath(packageDir);
  mkdirSync(dirname(path), { recursive: true });
  let waited = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      const me: Holder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
      };
      process.once('exit', release);
      return { release };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readHolder(path);
    if (!holder || (holder.host === hostname() && !alive(holder.pid))) {
      opts.log?.(`taking over a stale lock${holder ? ` left by pid ${holder.pid}` : ''} on ${packageDir}`);
      rmSync(path, { force: true });
      continue;
    }
    if (!opts.wait) {
      throw new WorkError(
        `another manager run holds the lock on ${packageDir}: pid ${holder.pid} on ${holder.host}, \`${holder.command}\`, since ${holder.since}`,
        'Wait for it to finish, or pass --wait-lock to wait here.',
      );
    }
    if (!waited) opts.log?.(`waiting for pid ${holder.pid} to release ${path}`);
    waited = true;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
