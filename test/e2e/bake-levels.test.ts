// The bake export on a builder without named contexts (engine 20.10's BuildKit 0.8): children
// get their parent as a build arg and the levels are baked in order. After a parent's template
// changed, the export must not hand a child the parent image the state file recorded (the old
// one): the child is baked FROM the parent of the current hash, and a state-free build
// afterwards publishes images that carry the change.
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { docker, e2eEnv, e2eSpec, idsOf, removeLocalImages, taskRows } from '../helpers/e2e.ts';

const env = e2eEnv();

describe('bake level by level after a parent changed', () => {
  const ns = `bakelv-${Date.now().toString(36)}`;
  const marker = `parent-change-${ns}`;
  let s: ReturnType<typeof e2eSpec>;
  const creds = { E2E_REGISTRY_USER: env.user, E2E_REGISTRY_PASSWORD: env.password };
  const sel = ['--all', '--python-version', '3.11', '--output', () => s.generated] as const;
  const args = () => sel.map((x) => (typeof x === 'function' ? x() : x));
  /** The build steps an image's config lists, as the registry holds it. */
  const history = (ref: string) => {
    const r = docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Image}}', ref]);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { history?: { created_by?: string }[] }).history?.map((h) => h.created_by ?? '').join('\n') ?? '';
  };

  beforeAll(() => {
    s = e2eSpec(env, ns, 'offline');
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replace('architectures: [amd64, arm64v8]\n    releases', 'architectures: [amd64]\n    releases'));
  });
  afterAll(() => {
    rmSync(s.dir, { recursive: true, force: true });
    removeLocalImages(ns);
  });

  it('the child is baked FROM the changed parent, and a state-free build then publishes the change', () => {
    const first = cli(['build', s.manifest, ...args(), '--json'], { env: creds });
    expect(first.code, first.stderr.slice(-2000)).toBe(0);
    expect(idsOf(taskRows(first.stdout, first.stderr), 'build', 'built')).toHaveLength(3);

    // The parent changes; the state file still records the old parent's tag@digest.
    appendFileSync(join(s.dir, 'templates', 'debian', 'base.Dockerfile.eta'), `RUN echo ${marker} > /parent-change\n`);
    expect(cli(['generate', s.manifest, '--output', s.generated]).code).toBe(0);
    const file = join(s.dir, 'docker-bake.json');
    const ex = cli(['bake', s.manifest, ...args(), '--parent-mode', 'args', '--file', file]);
    expect(ex.code, ex.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { group: Record<string, { targets: string[] }>; target: Record<string, { tags: string[]; args: Record<string, string> }> };
    const levels = Object.keys(doc.group).filter((g) => /^level\d+$/.test(g)).sort();
    expect(levels).toEqual(['level0', 'level1', 'level2']);
    for (const level of levels) {
      const r = docker(['buildx', 'bake', '-f', file, level], { timeoutMs: 600_000 });
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
    }
    // Every level's image holds the parent's new step: the child's history includes it.
    const runtime = Object.entries(doc.target).find(([n]) => n.includes('_runtime_'))![1];
    const devel = Object.entries(doc.target).find(([n]) => n.includes('_devel_'))![1];
    expect(history(runtime.tags[0]!)).toContain(marker);
    expect(history(devel.tags[0]!)).toContain(marker);

    // A fresh machine (no state file) skips the baked builds, as they are right, and publishes them.
    rmSync(join(s.generated, 'offline-app', '.manager', 'state.json'), { force: true });
    const again = cli(['build', s.manifest, ...args(), '--json'], { env: creds });
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    const rows = taskRows(again.stdout, again.stderr);
    expect(idsOf(rows, 'build', 'built')).toEqual([]);
    expect(idsOf(rows, 'manifest', 'ran')).toHaveLength(3);
    expect(history(`${env.registry}/${ns}/offline-app:0.0.2-python3.11-bookworm-runtime`)).toContain(marker);
    expect(history(`${env.registry}/${ns}/offline-app:devel-python3.11-bookworm`)).toContain(marker);
  });
});
