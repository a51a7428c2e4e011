// One run at a time per generated tree. A second run fails at once naming the holder, or
// waits with --wait-lock (up to a limit); a lock left by a process that is gone is taken over.
//
// Taking the lock is one atomic step: the holder's record is written to a private file first,
// then hard-linked to the lock's name, which fails if the name exists. So the lock is never
// seen half-written, and two starts can never both succeed. Breaking a stale lock takes a
// second, short-lived lock (`lock.break`), so two processes that both see the same dead holder
// cannot remove a live lock the other has just taken.
//
// "Gone" is judged on this host only, and more finely than "is the pid running": in a container
// every run is pid 7, and after a restart the old lock names a pid that runs again (ours). So
// the record carries a random token of the process that wrote it, the process's start time
// (/proc/<pid>/stat) and the boot id: a lock naming our own pid with another token, a pid that
// now belongs to a process started at another time, or a previous boot, is stale.
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { WorkError } from '../core/base/errors.ts';
import { alive, cleanStaleTemps } from './atomic.ts';
import { fsFailure } from './fs-error.ts';
import { isLink } from './links.ts';

export interface Holder {
  pid: number;
  host: string;
  command: string;
  since: string;
  user?: string;
  /** Random, one per process: tells this process from an earlier one that had the same pid. */
  token?: string;
  /** The process's start, in clock ticks after boot (/proc/<pid>/stat field 22), and that boot's id. */
  start?: number;
  boot?: string;
}

/** How long `--wait-lock` waits when given no number of seconds. */
export const DEFAULT_WAIT_SECONDS = 1800;

const TOKEN = randomBytes(8).toString('hex');

export function lockPath(packageDir: string): string {
  return join(packageDir, '.manager', 'lock');
}

/** When a process of this host started (clock ticks after boot); undefined where /proc does not say. */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isInteger(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

export function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    // A container's uid with no passwd entry.
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** What this host knows when judging a holder. */
export interface Here {
  host: string;
  pid: number;
  token: string;
  boot?: string;
  alive: (pid: number) => boolean;
  startOf: (pid: number) => number | undefined;
}

export type Judgement =
  | { kind: 'live' }
  | { kind: 'stale'; why: string }
  /** Another host's: this host cannot see its processes. */
  | { kind: 'foreign' };

/** Whether a holder is certainly gone; only a holder of this host can be. */
export function judge(h: Holder, here: Here): Judgement {
  if (h.host !== here.host) return { kind: 'foreign' };
  if (h.boot && here.boot && h.boot !== here.boot) return { kind: 'stale', why: 'the machine has restarted since' };
  if (h.pid === here.pid) {
    // Our own pid: either this very process holds it, or an earlier one that had our pid.
    return h.token === here.token ? { kind: 'live' } : { kind: 'stale', why: 'an earlier process with this run\'s own pid (a restarted container?)' };
  }
  if (!here.alive(h.pid)) return { kind: 'stale', why: 'its process is gone' };
  const now = here.startOf(h.pid);
  if (h.start !== undefined && now !== undefined && now !== h.start) return { kind: 'stale', why: 'its pid now belongs to another process' };
  return { kind: 'live' };
}

function here(): Here {
  return { host: hostname(), pid: process.pid, token: TOKEN, boot: bootId(), alive, startOf: processStart };
}

function readHolder(path: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Holder;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** How long ago, in the largest two units: `42s`, `5m 3s`, `2h 7m`, `3d 1h`. */
export function age(since: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(since)) / 1000));
  if (!Number.isFinite(s)) return 'unknown';
  const units: [string, number][] = [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]];
  const i = units.findIndex(([, n]) => s >= n);
  if (i < 0) return '0s';
  const [u, n] = units[i]!;
  const next = units[i + 1];
  const rest = next ? Math.floor((s % n) / next[1]) : 0;
  return `${Math.floor(s / n)}${u}${next && rest ? ` ${rest}${next[0]}` : ''}`;
}

/** The holder in one phrase: `pid 7 on ci@runner-3, \`manager build x\`, since … (2h 7m ago)`. */
export function describeHolder(h: Holder, now = Date.now()): string {
  return `pid ${h.pid} on ${h.user ? `${h.user}@` : ''}${h.host}, \`${h.command}\`, since ${h.since} (${age(h.since, now)} ago)`;
}

/** Creates `path` holding `holder`, atomically; false when it exists already. Never leaves its temporary. */
function createExclusive(path: string, holder: Holder): boolean {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeSync(fd, JSON.stringify(holder));
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST' && (e as NodeJS.ErrnoException).syscall === 'link') return false;
    throw fsFailure(e, 'take the lock', path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Why a lock may be removed now, or undefined when it may not. */
type Breakable = (h: Holder | undefined, path: string) => string | undefined;

/** A stale holder of this host, or an unreadable file old enough that no writer is still between create and write. */
const staleOnly: Breakable = (h, path) => {
  if (h) {
    const j = judge(h, here());
    return j.kind === 'stale' ? j.why : undefined;
  }
  try {
    return Date.now() - statSync(path).mtimeMs > 10_000 ? 'it is unreadable' : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Removes a lock `may` allows, holding the breaker so no one else breaks (or re-takes) in
 * between. False when another process is breaking it right now.
 */
function breakHeld(path: string, me: Holder, may: Breakable, say: (h: Holder | undefined, why: string) => void): boolean {
  const breaker = `${path}.break`;
  if (!createExclusive(breaker, me)) {
    // A breaker left by a process killed mid-break is itself stale: clear it and try again.
    if (staleOnly(readHolder(breaker), breaker)) unlinkQuiet(breaker);
    return false;
  }
  try {
    const h = readHolder(path);
    const why = may(h, path);
    if (why) {
      say(h, why);
      unlinkQuiet(path);
    }
  } finally {
    unlinkQuiet(breaker);
  }
  return true;
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

export interface LockOptions {
  /** false: fail at once; true: wait up to DEFAULT_WAIT_SECONDS; a number: up to that many seconds. */
  wait: boolean | number;
  /** Remove a lock no live process of this host holds (another host's, an unreadable one). */
  breakLock?: boolean;
  pollMs?: number;
  log?: (l: string) => void;
}

export async function acquireLock(packageDir: string, command: string, opts: LockOptions): Promise<Lock> {
  const path = lockPath(packageDir);
  // The lock, the state file and their temporaries live here: never through a link elsewhere.
  for (const d of [packageDir, dirname(path)]) {
    if (isLink(d)) throw new WorkError(`refusing to use ${d}: it is a symbolic link`);
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw fsFailure(e, 'create the lock\'s directory', dirname(path));
  }
  cleanStaleTemps(dirname(path));
  const h0 = here();
  const me: Holder = { pid: process.pid, host: h0.host, user: userName(), command, since: new Date().toISOString(), token: TOKEN, start: processStart(process.pid), boot: h0.boot };
  const waitSeconds = opts.wait === true ? DEFAULT_WAIT_SECONDS : opts.wait === false ? 0 : opts.wait;
  const started = Date.now();
  let waited = false;
  let broken = false;
  for (;;) {
    if (createExclusive(path, me)) {
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        const h = readHolder(path);
        if (h?.pid === process.pid && h.host === me.host && h.token === me.token) unlinkQuiet(path);
      };
      process.once('exit', release);
      return { release };
    }
    const holder = readHolder(path);
    const stale = staleOnly(holder, path);
    if (stale) {
      const took = breakHeld(path, me, staleOnly, (h, why) => opts.log?.(`taking over a stale lock${h ? ` left by pid ${h.pid}` : ''} on ${packageDir} (${why})`));
      if (!took) await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const j = holder ? judge(holder, h0) : undefined;
    if (opts.breakLock && !broken) {
      if (j?.kind === 'live') {
        throw new WorkError(
          `not breaking the lock ${path}: ${describeHolder(holder!)} is still running on this host`,
          `Wait for it (--wait-lock), or stop it (kill ${holder!.pid}); a lock whose process is gone is taken over without --break-lock.`,
        );
      }
      // Another host's, or unreadable: the user has said that run is gone.
      broken = true;
      const took = breakHeld(path, me, (h) => (!h || judge(h, here()).kind !== 'live' ? 'broken by --break-lock' : undefined), (h) =>
        opts.log?.(`breaking the lock ${path}${h ? ` held by ${describeHolder(h)}` : ' (unreadable)'} (--break-lock)`));
      if (!took) broken = false;
      continue;
    }
    const who = holder ? describeHolder(holder) : 'a run that is just starting';
    const foreign = j?.kind === 'foreign';
    const howToBreak = `If that run is gone, pass --break-lock to remove the lock (or delete ${path}).`;
    if (Date.now() - started >= waitSeconds * 1000) {
      if (waited) {
        throw new WorkError(
          `gave up waiting for the lock ${path} after ${waitSeconds}s: still held by ${who}`,
          `Pass --wait-lock=SECONDS to wait longer.${foreign ? ` That lock is another host's, which this host cannot check. ${howToBreak}` : ''}`,
        );
      }
      if (foreign) {
        throw new WorkError(
          `the lock ${path} is held by a run on another host: ${who}`,
          `This host cannot tell whether that run is still alive. ${howToBreak} Or pass --wait-lock to wait for it.`,
        );
      }
      throw new WorkError(`another manager run holds the lock on ${packageDir}: ${who}`, `Lock file: ${path}. Wait for it to finish, or pass --wait-lock[=SECONDS] to wait here (default ${DEFAULT_WAIT_SECONDS}s).`);
    }
    if (!waited) opts.log?.(`waiting up to ${waitSeconds}s for ${holder ? `pid ${holder.pid} on ${holder.host}` : 'another run'} to release ${path}`);
    waited = true;
    await new Promise((r) => setTimeout(r, Math.min(opts.pollMs ?? 500, Math.max(1, waitSeconds * 1000 - (Date.now() - started)))));
  }
}
