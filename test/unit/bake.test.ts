import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { specCommit } from '../../cli/workspace.ts';
import { cli } from '../helpers/cli.ts';
import { bakeFile, bakeTargetName } from '../../core/buildx/bake.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import { stagingRef } from '../../core/plan/staging.ts';
import type { BuildTask } from '../../core/plan/task.ts';
import { MINI_SPEC, MINI_TEMPLATES, miniSpec, tempDir, writeTree } from '../helpers/spec.ts';

describe('bake export: a child never bakes FROM a stale parent', () => {
  const plan = loadPlan(miniSpec().manifest);
  const builds = [...plan.tasks.values()].filter((t): t is BuildTask => t.kind === 'build');
  const child = builds.find((b) => b.parentBuild)!;
  const parent = plan.tasks.get(child.parentBuild!) as BuildTask;
  const parentArg = plan.spec.build.parentArg;
  const argsOf = (doc: ReturnType<typeof bakeFile>) => doc.target[bakeTargetName(child)]!['args'] as Record<string, string>;
  const exportWith = (records: Map<string, { hash: string; ref?: string }>, parentMode: 'args' | 'contexts' = 'args', selected = new Set(plan.order)) =>
    bakeFile(plan, { selected, packageDir: '/g/mini', bakeDir: '/g', stagingRepo: 'r/s', parentMode, push: true, records });

  it('uses the recorded tag@digest while the record is of the parent\'s current hash', () => {
    const ref = `r/s:old@sha256:${'a'.repeat(64)}`;
    expect(argsOf(exportWith(new Map([[parent.id, { hash: parent.hash.value, ref }]])))[parentArg]).toBe(ref);
  });

  it('after the parent changed, the recorded image is ignored: the child bakes FROM the staging tag of the current hash, one level later', () => {
    const ref = `r/s:old@sha256:${'a'.repeat(64)}`;
    const doc = exportWith(new Map([[parent.id, { hash: 'f'.repeat(64), ref }]]));
    expect(argsOf(doc)[parentArg]).toBe(stagingRef('r/s', parent));
    expect(stagingRef('r/s', parent)).toContain(parent.hash.value.slice(0, 32));
    // The parent's own target pushes exactly that tag, in an earlier level.
    expect(doc.target[bakeTargetName(parent)]!['tags']).toContain(stagingRef('r/s', parent));
    const level = (name: string) => Object.entries(doc.group).find(([g, v]) => /^level\d+$/.test(g) && v.targets.includes(name))![0];
    expect(Number(level(bakeTargetName(child)).slice(5))).toBeGreaterThan(Number(level(bakeTargetName(parent)).slice(5)));
  });

  it('a record without a reference, or no record, is the staging tag too; a parent outside the selection as well', () => {
    expect(argsOf(exportWith(new Map([[parent.id, { hash: parent.hash.value }]])))[parentArg]).toBe(stagingRef('r/s', parent));
    expect(argsOf(exportWith(new Map()))[parentArg]).toBe(stagingRef('r/s', parent));
    const alone = new Set([child.id]);
    expect(argsOf(exportWith(new Map([[parent.id, { hash: 'f'.repeat(64), ref: 'r/s:old@sha256:0' }]]), 'contexts', alone))[parentArg]).toBe(stagingRef('r/s', parent));
  });

  it('with target: contexts, a selected parent is its target whatever the state file says', () => {
    const doc = exportWith(new Map([[parent.id, { hash: 'f'.repeat(64), ref: 'r/s:old@sha256:0' }]]), 'contexts');
    expect(argsOf(doc)[parentArg]).toBe('parent');
    expect(doc.target[bakeTargetName(child)]!['contexts']).toEqual({ parent: `target:${bakeTargetName(parent)}` });
  });
});

describe('the revision label comes from the repository holding the spec', () => {
  const A = '1'.repeat(40);
  const B = '2'.repeat(40);
  // Two repositories: the one the command runs in (A), and the one whose spec it builds (B).
  const cwdRepo = writeTree({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/main': `${A}\n` });
  const specRepo = writeTree({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/main': `${B}\n`, 'manifest.yaml': MINI_SPEC, ...MINI_TEMPLATES });
  const noRepo = writeTree({ 'manifest.yaml': MINI_SPEC, ...MINI_TEMPLATES });
  const out = tempDir();
  afterAll(() => [cwdRepo, specRepo, noRepo, out].forEach((d) => rmSync(d, { recursive: true, force: true })));
  const noCi = { GITHUB_SHA: undefined, GITHUB_WORKSPACE: undefined, GITHUB_SERVER_URL: undefined, GITHUB_REPOSITORY: undefined };

  it('specCommit: the manifest\'s repository; CI\'s commit only for the workflow\'s own checkout', () => {
    expect(specCommit(join(specRepo, 'manifest.yaml'), {})).toBe(B);
    expect(specCommit(join(noRepo, 'manifest.yaml'), {})).toBeUndefined();
    expect(specCommit(join(specRepo, 'manifest.yaml'), { GITHUB_SHA: A, GITHUB_WORKSPACE: cwdRepo })).toBe(B);
    expect(specCommit(join(specRepo, 'manifest.yaml'), { GITHUB_SHA: A, GITHUB_WORKSPACE: specRepo })).toBe(A);
    expect(specCommit(join(noRepo, 'manifest.yaml'), { GITHUB_SHA: A, GITHUB_WORKSPACE: cwdRepo })).toBeUndefined();
    // Set by hand, outside Actions, it is an override.
    expect(specCommit(join(noRepo, 'manifest.yaml'), { GITHUB_SHA: A })).toBe(A);
  });

  const revisionOf = (manifest: string, env: Record<string, string | undefined>) => {
    const r = cli(['bake', manifest, '--all', '--parent-mode', 'args', '--output', out], { cwd: cwdRepo, env: { ...noCi, ...env } });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { target: Record<string, { labels: Record<string, string> }> };
    return new Set(Object.values(doc.target).map((t) => t.labels['org.opencontainers.image.revision']));
  };

  it('bake run inside another repository labels the spec\'s commit, or none when the spec is in no repository', () => {
    expect(revisionOf(join(specRepo, 'manifest.yaml'), {})).toEqual(new Set([B]));
    expect(revisionOf(join(noRepo, 'manifest.yaml'), {})).toEqual(new Set([undefined]));
    expect(revisionOf(join(specRepo, 'manifest.yaml'), { GITHUB_SHA: A, GITHUB_WORKSPACE: cwdRepo })).toEqual(new Set([B]));
  });
});
