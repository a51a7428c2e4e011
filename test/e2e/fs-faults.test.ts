// File systems that refuse writes, for real (small tmpfs mounts; the tests run as root, so a
// read-only directory has to be a read-only mount): a full disk, no inodes left, a read-only
// file system. Each is one line naming the path and the cause, exit 1, no stack trace, and
// nothing half-written: no lock temporary, no staging directory, the tree as it was.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { e2eEnv } from '../helpers/e2e.ts';
import { miniSpec, tempDir } from '../helpers/spec.ts';

e2eEnv();

const mounts: string[] = [];
afterEach(() => {
  for (const m of mounts.splice(0)) {
    spawnSync('umount', ['-l', m]);
    rmSync(dirname(m), { recursive: true, force: true });
  }
});

function tmpfs(options: string): string {
  const mnt = join(tempDir('manager-fs-'), 'mnt');
  mkdirSync(mnt);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mnt], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  mounts.push(mnt);
  return mnt;
}

/** Writes until the file system says no. */
function fill(dir: string, what: 'space' | 'inodes'): void {
  for (let i = 0; ; i++) {
    try {
      if (what === 'space') appendFileSync(join(dir, 'filler'), Buffer.alloc(16 * 1024));
      else writeFileSync(join(dir, `f${i}`), '');
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
      return;
    }
  }
}

const oneLine = (stderr: string, re: RegExp) => {
  expect(stderr).toMatch(re);
  expect(stderr).not.toMatch(/internal error|^\s+at .*:\d+:\d+\)?$/m);
};
const leftovers = (dir: string) => readdirSync(dir).filter((f) => /\.tmp|staging/.test(f));

describe('file systems that refuse writes', () => {
  it('a full disk where the lock goes: one line naming the lock, exit 1, no lock temporary left', () => {
    const { manifest } = miniSpec();
    const mnt = tmpfs('size=64k');
    const state = join(mnt, 'mini', '.manager');
    mkdirSync(state, { recursive: true });
    fill(mnt, 'space');
    const r = cli(['generate', manifest, '--output', mnt]);
    expect(r.code, r.stderr).toBe(1);
    oneLine(r.stderr, /error: could not take the lock .*\.manager\/lock: no space left on the device \(ENOSPC\)/);
    expect(leftovers(state)).toEqual([]);
  });

  it('no inodes left: the same, whatever space is free', () => {
    const { manifest } = miniSpec();
    const mnt = tmpfs('size=8m,nr_inodes=64');
    const state = join(mnt, 'mini', '.manager');
    mkdirSync(state, { recursive: true });
    fill(mnt, 'inodes');
    const r = cli(['generate', manifest, '--output', mnt]);
    expect(r.code, r.stderr).toBe(1);
    oneLine(r.stderr, /error: could not .*: no space left on the device \(ENOSPC\)/);
    expect(leftovers(state)).toEqual([]);
  });

  it('a read-only file system: one line, exit 1, the tree as it was', () => {
    const { dir, manifest } = miniSpec();
    const mnt = tmpfs('size=1m');
    expect(cli(['generate', manifest, '--output', mnt]).code).toBe(0);
    const df = join(mnt, 'mini', 'deb', 'base', 'Dockerfile');
    const before = readFileSync(df, 'utf8');
    expect(spawnSync('mount', ['-o', 'remount,ro', mnt]).status).toBe(0);
    appendFileSync(join(dir, 'templates', 'debian', 'base.Dockerfile.eta'), 'RUN echo changed\n');
    for (const args of [['generate', manifest, '--output', mnt], ['build', manifest, '--all', '--output', mnt, '--load']]) {
      const r = cli(args);
      expect(r.code, r.stderr).toBe(1);
      oneLine(r.stderr, /error: could not .*: read-only file system \(EROFS\)/);
    }
    expect(readFileSync(df, 'utf8')).toBe(before);
    rmSync(dir, { recursive: true, force: true });
  });
});
