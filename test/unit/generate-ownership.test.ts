// generate owns only what it wrote: the tree's record (.manager/files.json) names every file
// with its sha256; only those are ever replaced or removed, a foreign file in the way is an
// error naming it (or adopted with --adopt), links out of the spec root are refused, and the
// commit is all or nothing, also when a rename in the middle of it fails.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { realFs, commitTree, type CommitFs } from '../../tasks/commit.ts';
import { OWNED_PATH } from '../../tasks/owned.ts';
import { cli } from '../helpers/cli.ts';
import { miniSpec, REPO, tempDir, writeTree } from '../helpers/spec.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function spec() {
  const s = miniSpec();
  dirs.push(s.dir);
  return { ...s, out: join(s.dir, 'generated'), pkg: join(s.dir, 'generated', 'mini') };
}
const gen = (s: ReturnType<typeof spec>, ...extra: string[]) => cli(['generate', s.manifest, '--output', s.out, ...extra]);

/** Every file under a directory with its bytes (the record included), for before/after comparisons. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'latin1');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

describe('generate owns only what it wrote', () => {
  it('records every file it wrote with its sha256', () => {
    const s = spec();
    expect(gen(s).code).toBe(0);
    const rec = JSON.parse(readFileSync(join(s.pkg, OWNED_PATH), 'utf8')) as { files: Record<string, string> };
    expect(Object.keys(rec.files).sort()).toEqual(['README.md', 'deb/base/Dockerfile', 'deb/runtime/Dockerfile', 'versions']);
    for (const [p, h] of Object.entries(rec.files)) expect(h).toBe(createHash('sha256').update(readFileSync(join(s.pkg, p))).digest('hex'));
  });

  it('hand-written files beside the tree are left alone, also by --overwrite and when a release goes', () => {
    const s = spec();
    mkdirSync(join(s.pkg, 'other-platform'), { recursive: true });
    writeFileSync(join(s.pkg, 'other-platform', 'Dockerfile'), 'FROM scratch\n');
    writeFileSync(join(s.pkg, 'NOTES.md'), 'mine\n');
    mkdirSync(join(s.pkg, 'deb', 'runtime'), { recursive: true });
    writeFileSync(join(s.pkg, 'deb', 'runtime', 'notes.txt'), 'also mine\n');
    const first = gen(s);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/0 removed/);
    expect(gen(s, '--overwrite').code).toBe(0);
    // The runtime release leaves the spec: its Dockerfile goes, the hand-written file beside it stays.
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replace('releases: [base, runtime]', 'releases: [base]').replace(/  runtime:\n    parent: base\n    tags: \[.*\]\n/, ''));
    const after = gen(s);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/1 removed/);
    expect(existsSync(join(s.pkg, 'deb', 'runtime', 'Dockerfile'))).toBe(false);
    for (const f of ['other-platform/Dockerfile', 'NOTES.md', 'deb/runtime/notes.txt']) expect(existsSync(join(s.pkg, f)), f).toBe(true);
  });

  it('a file it did not write, where it writes: exit 2 naming it, nothing written; --adopt replaces and owns it', () => {
    const s = spec();
    mkdirSync(s.pkg, { recursive: true });
    writeFileSync(join(s.pkg, 'README.md'), '# our own README\n');
    const r = gen(s);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/README\.md is not written by manager .* pass --adopt/);
    // Only the lock's directory (the run took the lock first), and nothing generated.
    expect(readdirSync(s.pkg).filter((f) => f !== '.manager')).toEqual(['README.md']);
    expect(existsSync(join(s.pkg, OWNED_PATH))).toBe(false);
    expect(readFileSync(join(s.pkg, 'README.md'), 'utf8')).toBe('# our own README\n');
    const adopted = gen(s, '--adopt');
    expect(adopted.code, adopted.stderr).toBe(0);
    expect(readFileSync(join(s.pkg, 'README.md'), 'utf8')).not.toBe('# our own README\n');
    expect(JSON.parse(readFileSync(join(s.pkg, OWNED_PATH), 'utf8')).files['README.md']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a file that already holds exactly what it would write is taken over silently', () => {
    const s = spec();
    expect(gen(s).code).toBe(0);
    const readme = readFileSync(join(s.pkg, 'README.md'), 'utf8');
    rmSync(join(s.pkg, '.manager'), { recursive: true });
    writeFileSync(join(s.pkg, 'README.md'), readme);
    const r = gen(s);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(s.pkg, OWNED_PATH))).toBe(true);
  });

  it('a tree from before the record: the files its state file says it rendered are its own; nothing else is', () => {
    const s = spec();
    expect(gen(s).code).toBe(0);
    rmSync(join(s.pkg, OWNED_PATH));
    writeFileSync(join(s.pkg, 'NOTES.md'), 'mine\n');
    writeFileSync(join(s.pkg, 'deb', 'base', 'Dockerfile'), 'FROM edited-by-hand\n');
    const r = gen(s);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(s.pkg, 'deb', 'base', 'Dockerfile'), 'utf8')).not.toContain('edited-by-hand');
    expect(existsSync(join(s.pkg, 'NOTES.md'))).toBe(true);
  });

  it('a generated root that is a link out of the spec root is refused before anything is written or removed', () => {
    const s = spec();
    const outside = tempDir();
    dirs.push(outside);
    writeFileSync(join(outside, 'precious'), 'x');
    symlinkSync(outside, join(s.dir, 'generated'));
    const r = cli(['--spec-dir', s.dir, 'generate', s.manifest]);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/symbolic link out of/);
    expect(readdirSync(outside)).toEqual(['precious']);
    // A link to a place inside the spec root is the repository's own business.
    rmSync(join(s.dir, 'generated'));
    mkdirSync(join(s.dir, 'real-out'));
    symlinkSync(join(s.dir, 'real-out'), join(s.dir, 'generated'));
    expect(cli(['--spec-dir', s.dir, 'generate', s.manifest]).code).toBe(0);
    expect(existsSync(join(s.dir, 'real-out', 'mini', 'README.md'))).toBe(true);
  });
});

describe('the commit is all or nothing', () => {
  it('a rename that fails at any point of the loop leaves the old tree whole and no staging directory', () => {
    const base = writeTree({ 'a/Dockerfile': 'old a\n', 'b/Dockerfile': 'old b\n', 'gone/Dockerfile': 'old gone\n', 'README.md': 'old readme\n', 'mine.txt': 'foreign\n' });
    dirs.push(base);
    const before = snapshot(base);
    const writes = new Map([['a/Dockerfile', 'new a\n'], ['b/Dockerfile', 'new b\n'], ['c/Dockerfile', 'new c\n'], ['README.md', 'new readme\n']]);
    let failures = 0;
    for (let n = 1; n < 20; n++) {
      let renames = 0;
      const fs: CommitFs = { ...realFs, rename: (a, b) => {
        if (++renames === n) throw Object.assign(new Error(`injected failure at rename ${n}`), { code: 'EIO' });
        realFs.rename(a, b);
      } };
      try {
        commitTree(base, writes, ['gone/Dockerfile'], fs);
      } catch (e) {
        failures++;
        expect((e as Error).message).toMatch(/the tree is as it was|could not/);
        expect(snapshot(base)).toEqual(before);
        expect(readdirSync(base).filter((f) => f.startsWith('.staging'))).toEqual([]);
        continue;
      }
      // Past the last rename: the commit went through whole.
      expect(readFileSync(join(base, 'a', 'Dockerfile'), 'utf8')).toBe('new a\n');
      expect(existsSync(join(base, 'gone', 'Dockerfile'))).toBe(false);
      expect(readFileSync(join(base, 'mine.txt'), 'utf8')).toBe('foreign\n');
      break;
    }
    expect(failures).toBeGreaterThanOrEqual(8);
  });

  it('a file where a directory goes fails before any rename: the tree as it was', () => {
    const base = writeTree({ 'a': 'a file\n', 'README.md': 'old\n' });
    dirs.push(base);
    const before = snapshot(base);
    expect(() => commitTree(base, new Map([['a/Dockerfile', 'x\n'], ['README.md', 'new\n']]), [])).toThrow();
    expect(snapshot(base)).toEqual(before);
    expect(statSync(join(base, 'a')).isFile()).toBe(true);
  });

  it('a SIGTERM that arrives during the commit is delivered after it: the commit is whole and the process ends by the signal', () => {
    const dir = tempDir();
    dirs.push(dir);
    const script = `
      import { commitTree } from ${JSON.stringify(join(REPO, 'tasks', 'commit.ts'))};
      const fs = { write: (await import(${JSON.stringify(join(REPO, 'tasks', 'commit.ts'))})).realFs.write, mkdir: (d) => (require('node:fs').mkdirSync(d)), rmdir: (d) => require('node:fs').rmdirSync(d),
        rename: (a, b) => { process.kill(process.pid, 'SIGTERM'); require('node:fs').renameSync(a, b); } };
      commitTree(${JSON.stringify(dir)}, new Map([['x/Dockerfile', 'one'], ['y/Dockerfile', 'two']]), [], fs);
      setTimeout(() => console.log('carried on'), 1000);
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);\n${script}`], { cwd: REPO, encoding: 'utf8', timeout: 20_000 });
    expect(r.signal, r.stderr).toBe('SIGTERM');
    expect(r.stdout).not.toContain('carried on');
    expect(readFileSync(join(dir, 'x', 'Dockerfile'), 'utf8')).toBe('one');
    expect(readFileSync(join(dir, 'y', 'Dockerfile'), 'utf8')).toBe('two');
    expect(readdirSync(dir).filter((f) => f.startsWith('.staging'))).toEqual([]);
  });
});
