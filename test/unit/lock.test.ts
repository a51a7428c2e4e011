// Two runs on the same generated tree: the second fails at once naming the holder, or waits.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkError } from '../../core/errors.ts';
import { acquireLock, lockPath } from '../../tasks/lock.ts';
import { cli } from '../helpers/cli.ts';
import { miniSpec, tempDir } from '../helpers/spec.ts';

function holdLock(dir: string, pid: number): void {
  mkdirSync(join(dir, '.manager'), { recursive: true });
  writeFileSync(lockPath(dir), JSON.stringify({ pid, host: hostname(), command: 'manager build x', since: '2026-01-01T00:00:00Z' }));
}

describe('lock', () => {
  it('a second run fails at once with the holder\'s pid', async () => {
    const dir = tempDir();
    const sleeper = spawn('sleep', ['30']);
    try {
      holdLock(dir, sleeper.pid!);
      const started = Date.now();
      await expect(acquireLock(dir, 'manager generate', { wait: false })).rejects.toThrow(WorkError);
      await expect(acquireLock(dir, 'manager generate', { wait: false })).rejects.toThrow(new RegExp(`pid ${sleeper.pid} on `));
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      sleeper.kill();
    }
  });

  it('takes over a stale lock from a dead process', async () => {
    const dir = tempDir();
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    holdLock(dir, dead.pid!);
    const logs: string[] = [];
    const lock = await acquireLock(dir, 'manager generate', { wait: false, log: (l) => logs.push(l) });
    expect(logs[0]).toMatch(new RegExp(`taking over a stale lock left by pid ${dead.pid}`));
    expect(JSON.parse(readFileSync(lockPath(dir), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(lockPath(dir))).toBe(false);
  });

  it('--wait-lock waits for the holder to finish', async () => {
    const dir = tempDir();
    const sleeper = spawn('sleep', ['30']);
    holdLock(dir, sleeper.pid!);
    setTimeout(() => rmSync(lockPath(dir)), 300);
    const lock = await acquireLock(dir, 'manager generate', { wait: true, pollMs: 50 });
    sleeper.kill();
    lock.release();
  });

  it('generate through the CLI refuses a held lock with exit 1 and writes nothing', () => {
    const { dir, manifest } = miniSpec();
    const pkgDir = join(dir, 'gen', 'mini');
    const sleeper = spawn('sleep', ['30']);
    try {
      holdLock(pkgDir, sleeper.pid!);
      const r = cli(['generate', manifest, '--output', join(dir, 'gen')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`another manager run holds the lock on .*: pid ${sleeper.pid}`));
      expect(existsSync(join(pkgDir, 'deb'))).toBe(false);
    } finally {
      sleeper.kill();
    }
  });
});
