// One run at a time per generated tree: exactly one of many concurrent starts proceeds, the
// others fail naming it (or wait); a lock left by a dead process is taken over, never a live one.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WorkError } from '../../core/base/errors.ts';
import { acquireLock, bootId, lockPath, processStart } from '../../tasks/lock.ts';
import { cli } from '../helpers/cli.ts';
import { REPO, miniSpec, tempDir } from '../helpers/spec.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function sleeper(): ChildProcess {
  const c = spawn('sleep', ['30']);
  children.push(c);
  return c;
}

function holdLock(dir: string, pid: number, host = hostname(), extra: Record<string, unknown> = {}): void {
  mkdirSync(join(dir, '.manager'), { recursive: true });
  writeFileSync(lockPath(dir), JSON.stringify({ pid, host, command: 'manager build x', since: '2026-01-01T00:00:00Z', ...extra }));
}

/** The lock module bundled into one plain script, so 50 processes start in milliseconds each. */
let driver: string;
beforeAll(async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'driver.ts'), `
    import { acquireLock } from ${JSON.stringify(join(REPO, 'tasks', 'lock.ts'))};
    const [dir, holdMs] = process.argv.slice(2);
    try {
      const lock = await acquireLock(dir, 'contender ' + process.pid, { wait: false });
      process.stdout.write('acquired ' + process.pid + '\\n');
      // Held until told to let go (SIGTERM), or for holdMs: never less than the others take to start.
      const alive = setInterval(() => {}, 1 << 30);
      await new Promise((r) => { process.once('SIGTERM', r); if (Number(holdMs) > 0) setTimeout(r, Number(holdMs)); });
      clearInterval(alive);
      lock.release();
    } catch (e) {
      process.stdout.write('refused ' + e.message + '\\n');
      process.exitCode = 1;
    }
  `);
  driver = join(dir, 'driver.mjs');
  await build({ entryPoints: [join(dir, 'driver.ts')], bundle: true, platform: 'node', format: 'esm', outfile: driver, logLevel: 'error' });
});

function contender(dir: string, holdMs: number, onAcquired?: (c: ChildProcess) => void): Promise<{ code: number | null; out: string; pid: number }> {
  const c = spawn(process.execPath, [driver, dir, String(holdMs)]);
  children.push(c);
  let out = '';
  c.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('acquired')) onAcquired?.(c);
  });
  // 'close', not 'exit': only then has all of the child's output been read.
  return new Promise((r) => c.on('close', (code) => r({ code, out, pid: c.pid! })));
}

describe('lock', () => {
  it('50 concurrent starts: exactly one proceeds, the others fail at once naming it', async () => {
    const dir = tempDir();
    // The winner holds the lock until every other contender has finished, however slow the machine.
    let winner: ChildProcess | undefined;
    let finished = 0;
    const all = Array.from({ length: 50 }, () => contender(dir, 0, (c) => (winner = c)).then((r) => {
      if (++finished === 49) winner?.kill('SIGTERM');
      return r;
    }));
    const results = await Promise.all(all);
    const winners = results.filter((r) => r.out.startsWith('acquired'));
    expect(winners).toHaveLength(1);
    const losers = results.filter((r) => r !== winners[0]);
    for (const l of losers) {
      expect(l.code).toBe(1);
      expect(l.out).toMatch(new RegExp(`^refused another manager run holds the lock on .*: pid ${winners[0]!.pid} on [^@ ]+@${hostname()}, \`contender ${winners[0]!.pid}\`, since \\S+ \\(\\d+s ago\\)`));
    }
    expect(existsSync(lockPath(dir))).toBe(false);
  });

  it('many starts against one stale lock: exactly one takes it over', async () => {
    const dir = tempDir();
    const dead = spawnSync('true');
    holdLock(dir, dead.pid!);
    let winner: ChildProcess | undefined;
    let finished = 0;
    const results = await Promise.all(Array.from({ length: 20 }, () => contender(dir, 0, (c) => (winner = c)).then((r) => {
      if (++finished === 19) winner?.kill('SIGTERM');
      return r;
    })));
    expect(results.filter((r) => r.out.startsWith('acquired'))).toHaveLength(1);
  });

  it('a second run fails at once with the holder\'s pid', async () => {
    const dir = tempDir();
    const s = sleeper();
    holdLock(dir, s.pid!);
    const started = Date.now();
    await expect(acquireLock(dir, 'manager generate', { wait: false })).rejects.toThrow(WorkError);
    await expect(acquireLock(dir, 'manager generate', { wait: false })).rejects.toThrow(new RegExp(`pid ${s.pid} on `));
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('never takes over a live lock of another host, nor a fresh unreadable one', async () => {
    const dir = tempDir();
    holdLock(dir, 1, 'another-host');
    await expect(acquireLock(dir, 'm', { wait: false })).rejects.toThrow(/pid 1 on another-host/);
    writeFileSync(lockPath(dir), JSON.stringify({ pid: 1, host: 'another-host', command: 'manager build x', since: '2026-01-01T00:00:00Z' }));
    writeFileSync(lockPath(dir), '');
    await expect(acquireLock(dir, 'm', { wait: false })).rejects.toThrow(/a run that is just starting/);
  });

  it('takes over a stale lock from a dead process', async () => {
    const dir = tempDir();
    const dead = spawnSync('true');
    holdLock(dir, dead.pid!);
    const logs: string[] = [];
    const lock = await acquireLock(dir, 'manager generate', { wait: false, log: (l) => logs.push(l) });
    expect(logs[0]).toMatch(new RegExp(`taking over a stale lock left by pid ${dead.pid}`));
    expect(JSON.parse(readFileSync(lockPath(dir), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(lockPath(dir))).toBe(false);
  });

  it('--wait-lock waits for the holder to finish, then holds the lock itself', async () => {
    const dir = tempDir();
    const s = sleeper();
    holdLock(dir, s.pid!);
    const started = Date.now();
    setTimeout(() => s.kill('SIGKILL'), 300);
    const lock = await acquireLock(dir, 'manager generate', { wait: true, pollMs: 50 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(JSON.parse(readFileSync(lockPath(dir), 'utf8'))).toMatchObject({ pid: process.pid, command: 'manager generate' });
    lock.release();
    expect(existsSync(lockPath(dir))).toBe(false);
  });

  it('generate through the CLI refuses a held lock with exit 1 and writes nothing', () => {
    const { dir, manifest } = miniSpec();
    const pkgDir = join(dir, 'gen', 'mini');
    const s = sleeper();
    holdLock(pkgDir, s.pid!);
    const r = cli(['generate', manifest, '--output', join(dir, 'gen')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`another manager run holds the lock on .*: pid ${s.pid}`));
    expect(existsSync(join(pkgDir, 'deb'))).toBe(false);
  });
});

describe('lock: who is gone, and how to break and wait', () => {
  it('a lock naming this run\'s own pid, written by an earlier process (a restarted container), is taken over', async () => {
    const dir = tempDir();
    holdLock(dir, process.pid, hostname(), { token: 'an-earlier-process' });
    const logs: string[] = [];
    const lock = await acquireLock(dir, 'manager generate', { wait: false, log: (l) => logs.push(l) });
    expect(logs[0]).toMatch(new RegExp(`taking over a stale lock left by pid ${process.pid} .*earlier process with this run's own pid`));
    lock.release();
  });

  it('an old-format lock with our own pid and no token is taken over too; our own live lock is not', async () => {
    const dir = tempDir();
    holdLock(dir, process.pid);
    const lock = await acquireLock(dir, 'manager generate', { wait: false });
    // This very process holds it now: a second take (same pid, same token) is refused.
    await expect(acquireLock(dir, 'again', { wait: false })).rejects.toThrow(new RegExp(`pid ${process.pid} on `));
    lock.release();
  });

  it('a recycled pid (live, but started at another time) and a lock from before a reboot are stale; a matching start is live', async () => {
    const s = sleeper();
    await new Promise((r) => setTimeout(r, 50));
    const start = processStart(s.pid!);
    expect(start).toBeTypeOf('number');
    const recycled = tempDir();
    holdLock(recycled, s.pid!, hostname(), { start: start! - 1 });
    const logs: string[] = [];
    (await acquireLock(recycled, 'm', { wait: false, log: (l) => logs.push(l) })).release();
    expect(logs[0]).toMatch(/its pid now belongs to another process/);
    const rebooted = tempDir();
    holdLock(rebooted, s.pid!, hostname(), { start, boot: 'a-previous-boot' });
    (await acquireLock(rebooted, 'm', { wait: false, log: (l) => logs.push(l) })).release();
    expect(logs[1]).toMatch(/the machine has restarted since/);
    const live = tempDir();
    holdLock(live, s.pid!, hostname(), { start, boot: bootId() });
    await expect(acquireLock(live, 'm', { wait: false })).rejects.toThrow(new RegExp(`pid ${s.pid} on `));
  });

  it('another host\'s lock: the message names the file, its age, the owner and how to break it', async () => {
    const dir = tempDir();
    const since = new Date(Date.now() - (2 * 3600 + 7 * 60) * 1000).toISOString();
    holdLock(dir, 7, 'runner-3', { user: 'ci', since });
    const err = await acquireLock(dir, 'm', { wait: false }).catch((e: WorkError) => e);
    expect(err).toBeInstanceOf(WorkError);
    expect((err as WorkError).message).toBe(`the lock ${lockPath(dir)} is held by a run on another host: pid 7 on ci@runner-3, \`manager build x\`, since ${since} (2h 7m ago)`);
    expect((err as WorkError).details).toMatch(new RegExp(`--break-lock .*delete ${lockPath(dir).replace(/[.]/g, '\\.')}`));
  });

  it('--break-lock removes another host\'s lock or an unreadable one, saying whose; never a live local one', async () => {
    const dir = tempDir();
    holdLock(dir, 7, 'runner-3', { user: 'ci' });
    const logs: string[] = [];
    const lock = await acquireLock(dir, 'm', { wait: false, breakLock: true, log: (l) => logs.push(l) });
    expect(logs[0]).toMatch(/breaking the lock .* held by pid 7 on ci@runner-3/);
    expect(JSON.parse(readFileSync(lockPath(dir), 'utf8')).pid).toBe(process.pid);
    lock.release();
    writeFileSync(lockPath(dir), '');
    (await acquireLock(dir, 'm', { wait: false, breakLock: true })).release();
    const s = sleeper();
    holdLock(dir, s.pid!);
    await expect(acquireLock(dir, 'm', { wait: false, breakLock: true })).rejects.toThrow(new RegExp(`not breaking the lock .*: pid ${s.pid} .* is still running on this host`));
    expect(JSON.parse(readFileSync(lockPath(dir), 'utf8')).pid).toBe(s.pid);
  });

  it('--wait-lock gives up at its limit, saying what it waited for', async () => {
    const dir = tempDir();
    const s = sleeper();
    holdLock(dir, s.pid!);
    const started = Date.now();
    await expect(acquireLock(dir, 'm', { wait: 1, pollMs: 50 })).rejects.toThrow(new RegExp(`gave up waiting for the lock ${lockPath(dir)} after 1s: still held by pid ${s.pid} `));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('through the CLI: a bare --wait-lock before the package is still a flag; --wait-lock=1 gives up with exit 1; a bad value is a usage error', () => {
    const { dir, manifest } = miniSpec();
    const gen = join(dir, 'gen');
    expect(cli(['generate', '--wait-lock', manifest, '--output', gen]).code).toBe(0);
    const s = sleeper();
    holdLock(join(gen, 'mini'), s.pid!);
    const r = cli(['generate', manifest, '--wait-lock=1', '--output', gen]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/gave up waiting for the lock .* after 1s/);
    expect(cli(['generate', manifest, '--wait-lock=soon', '--output', gen]).code).toBe(2);
  });

  it('an output directory that is a file: exit 1, one line naming it, no stack trace', () => {
    const { dir, manifest } = miniSpec();
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    for (const args of [['generate', manifest, '--output', file], ['build', manifest, '--all', '--multi-platform', 'split', '--output', file]]) {
      const r = cli(args);
      expect(r.code, r.stderr).toBe(1);
      // Said where it is first seen: generate checks the output path, build takes the lock first.
      expect(r.stderr).toMatch(new RegExp(`error: (cannot generate into ${join(file, 'mini')}|could not create the lock's directory ${join(file, 'mini', '.manager')}): ${file} is a file, not a directory`.replace(/[/.]/g, '\\$&')));
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }
  });
});
