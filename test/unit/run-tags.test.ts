// {sha} and {date}: metadata-action's sha and date tags, from the run, checked like any other.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headCommit } from '../../cli/workspace.ts';
import { planSpec } from '../../core/plan/plan.ts';
import { runVariables } from '../../core/load/placeholders.ts';
import { loadSpec } from '../../core/load/validate.ts';
import type { ManifestTask } from '../../core/plan/task.ts';
import { MINI_SPEC, miniSpec, planError, tempDir } from '../helpers/spec.ts';

const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const withTags = (tags: string) => miniSpec({ 'manifest.yaml': MINI_SPEC.replace('tags: ["{version}-python{python}-{alias}-runtime"]', `tags: ${tags}`) }).manifest;

describe('{sha} and {date}', () => {
  it('the run gives a 7-character sha and a UTC date, from SOURCE_DATE_EPOCH when set', () => {
    expect(runVariables(SHA, '1767225600', new Date('2030-05-05T23:59:00Z'))).toEqual({ sha: 'a1b2c3d', date: '20260101' });
    expect(runVariables(undefined, undefined, new Date('2030-05-05T23:59:00Z'))).toEqual({ date: '20300505' });
    expect(runVariables('not-a-sha', 'later', new Date('2030-05-05T00:00:00Z'))).toEqual({ date: '20300505' });
  });

  it('tags use them; what changes with them is the merges and the README listing the tags, never a build or test', () => {
    const manifest = withTags('["{version}-python{python}-{sha}", { template: "nightly-{date}", when: { python: default } }]');
    const plan = (run: { sha?: string; date: string }) => {
      const l = loadSpec(manifest, { run });
      expect(l.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      return planSpec(l.spec!, [], { multiPlatform: 'split' });
    };
    const a = plan({ sha: 'a1b2c3d', date: '20260101' });
    const b = plan({ sha: 'ffff000', date: '20260102' });
    const rt = [...a.tasks.values()].find((t): t is ManifestTask => t.kind === 'manifest' && t.id === 'manifest:mini/deb/runtime/py3.10')!;
    expect(rt.tags).toEqual(['1.2.3-python3.10-a1b2c3d', 'nightly-20260101']);
    const changed = [...a.tasks.values()].filter((t) => b.tasks.get(t.id)!.hash.value !== t.hash.value).map((t) => t.kind);
    expect(changed).toContain('manifest');
    expect(changed.filter((k) => k === 'build' || k === 'test')).toEqual([]);
    expect([...a.tasks.values()].filter((t) => t.kind === 'render' && b.tasks.get(t.id)!.hash.value !== t.hash.value).map((t) => t.id)).toEqual(['render:mini/docs']);
  });

  it('without a commit, a tag that needs {sha} is an error at the tag', () => {
    const e = planError(withTags('["{version}-{sha}"]'));
    expect(e.diagnostics.find((d) => /needs the commit/.test(d.message))).toMatchObject({ path: 'releases.runtime.tags[0]', line: expect.any(Number) });
  });

  it('the commit is read from the repository\'s files: loose refs, packed refs, worktrees', () => {
    const dir = tempDir('head-');
    const git = (...a: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.email=t@t', '-c', 'user.name=t', ...a], { encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'main');
    writeFileSync(join(dir, 'f'), 'x');
    git('add', 'f');
    git('commit', '-qm', 'one');
    const one = git('rev-parse', 'HEAD');
    expect(headCommit(join(dir))).toBe(one);
    git('pack-refs', '--all');
    expect(headCommit(dir)).toBe(one);
    git('worktree', 'add', '-q', '--detach', join(dir, 'wt'));
    expect(headCommit(join(dir, 'wt'))).toBe(one);
    git('checkout', '-q', '--detach');
    expect(headCommit(dir)).toBe(one);
    expect(headCommit('/')).toBeUndefined();
  });
});
