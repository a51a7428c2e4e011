// One run at a time per generated tree: exactly one of many concurrent starts proceeds, the
// others fail naming it (or wait); a lock left by a dead process is taken over, never a live one.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WorkError } from '../../core/errors.ts';
import { acquireLock, lockPath } from '../../tasks/lock.ts';
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

function holdLock(dir: string, pid: number, host = hostname()): void {
  mkdirSync(join(dir, '.manager'), { recursive: true });
  writeFileSync(lockPath(dir), JSON.stringify({ pid, host, command: 'manager build x', since: '2026-01-01T00:00:00Z' }));
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
      expect(l.out).toMatch(new RegExp(`^refused another manager run holds the lock on .*: pid ${winners[0]!.pid} on ${hostname()}, \`contender ${winners[0]!.pid}\``));
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
