// Layer caches: where each build reads and writes them, as argv and bake entries. Pure.
import { describe, expect, it } from 'vitest';
import { bakeFile } from '../../core/buildx/bake.ts';
import { buildArgv } from '../../core/buildx/argv.ts';
import { buildInvocation, cacheFor, cacheKey, type InvocationContext } from '../../core/buildx/invocation.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import type { BuildTask } from '../../core/plan/task.ts';
import type { ImageMetadata } from '../../core/views/metadata-file.ts';
import { MINI_SPEC, miniSpec, planError } from '../helpers/spec.ts';

const withCache = (cache: string) => miniSpec({ 'manifest.yaml': `${MINI_SPEC}build:\n  cache: ${cache}\n` });
const builds = (manifest: string) => {
  const plan = loadPlan(manifest);
  return { plan, bs: [...plan.tasks.values()].filter((t): t is BuildTask => t.kind === 'build') };
};
const ctx = (plan: InvocationContext['plan'], extra: Partial<InvocationContext> = {}): InvocationContext => ({ plan, packageDir: '/g/mini', stagingRepo: 'docker.io/acme/mini-staging', mode: 'push', cacheExport: true, ...extra });

describe('cache locations', () => {
  it('default registry keys carry every axis value: two Pythons of one release never share a cache', () => {
    const { plan, bs } = builds(withCache('{ type: registry }').manifest);
    const refs = bs.map((b) => cacheFor(b, ctx(plan))!.location);
    expect(new Set(refs).size).toBe(bs.length);
    const b = bs.find((x) => x.id === 'build:mini/deb/runtime/py3.10/arm64v8')!;
    expect(cacheKey(b)).toBe('deb-runtime-3.10-arm64v8');
    expect(cacheFor(b, ctx(plan))).toEqual({ type: 'registry', location: 'docker.io/acme/mini-staging:cache-deb-runtime-3.10-arm64v8', mode: undefined, export: true });
  });

  it('gha: a scope per image and platform, prefixed by the package; local: a directory per image', () => {
    const gha = builds(withCache('{ type: gha, mode: min }').manifest);
    const b = gha.bs.find((x) => x.id === 'build:mini/deb/base/py3.11/amd64')!;
    const inv = buildInvocation(b, undefined, ctx(gha.plan));
    expect(buildArgv(inv)).toEqual(expect.arrayContaining(['--cache-from', 'type=gha,scope=mini-deb-base-3.11-amd64', '--cache-to', 'type=gha,scope=mini-deb-base-3.11-amd64,mode=min']));
    const local = builds(withCache('{ type: local }').manifest);
    const l = local.bs.find((x) => x.id === 'build:mini/deb/base/py3.11/amd64')!;
    expect(cacheFor(l, ctx(local.plan))!.location).toBe('/g/mini/.cache/deb/base/3.11/amd64');
  });

  it('gha goes unused where it cannot work: no cache service in the environment, or the classic docker driver', async () => {
    const { ghaAvailable } = await import('../../cli/build.ts');
    const gha = builds(withCache('{ type: gha }').manifest);
    const b = gha.bs[0]!;
    expect(cacheFor(b, ctx(gha.plan, { ghaAvailable: false }))).toBeUndefined();
    expect(cacheFor(b, ctx(gha.plan, { cacheExport: false }))).toBeUndefined();
    expect(cacheFor(b, ctx(gha.plan, { ghaAvailable: true }))!.type).toBe('gha');
    expect(ghaAvailable({ ACTIONS_RUNTIME_TOKEN: 't', ACTIONS_RESULTS_URL: 'https://r' })).toBe(true);
    expect(ghaAvailable({ ACTIONS_RUNTIME_TOKEN: 't' })).toBe(false);
    expect(ghaAvailable({})).toBe(false);
  });

  it('spec templates fill placeholders, axes included; an unknown placeholder is a spec error', () => {
    const { plan, bs } = builds(withCache('{ type: gha, scope: "x-{python}-{arch}" }').manifest);
    expect(cacheFor(bs[0]!, ctx(plan))!.location).toMatch(/^x-3\.1[01]-(amd64|arm64v8)$/);
    const bad = planError(withCache('{ type: registry, ref: "r/c:{nope}" }').manifest);
    expect(bad.diagnostics.map((d) => d.message).join('\n')).toMatch(/cache ref uses unknown variable \{nope\}/);
  });

  it('a key too long for a tag keeps its head and a hash, and stays unique', () => {
    const { plan, bs } = builds(withCache('{ type: registry }').manifest);
    const long = { ...bs[0]!, release: 'r'.repeat(140) };
    const other = { ...bs[0]!, release: `${'r'.repeat(139)}s` };
    const a = cacheFor(long, ctx(plan))!.location.split(':').pop()!;
    const b = cacheFor(other, ctx(plan))!.location.split(':').pop()!;
    expect(a.length).toBeLessThanOrEqual(128);
    expect(a).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(a).not.toBe(b);
  });

  it('--cache-from / --cache-to replace the spec\'s, fill placeholders, and write nothing on a builder that cannot export', () => {
    const { plan, bs } = builds(withCache('{ type: registry }').manifest);
    const b = bs.find((x) => x.id === 'build:mini/deb/base/py3.10/amd64')!;
    const cacheOverride = { from: ['type=registry,ref=r/c:{distro}-{python}', 'type=gha,scope=main'], to: ['type=gha,scope={release}-{arch},mode=max'] };
    const argv = buildArgv(buildInvocation(b, undefined, ctx(plan, { cacheOverride })));
    expect(argv.filter((_, i) => argv[i - 1] === '--cache-from')).toEqual(['type=registry,ref=r/c:deb-3.10', 'type=gha,scope=main']);
    expect(argv.filter((_, i) => argv[i - 1] === '--cache-to')).toEqual(['type=gha,scope=base-amd64,mode=max']);
    const classic = buildArgv(buildInvocation(b, undefined, ctx(plan, { cacheOverride, cacheExport: false })));
    expect(classic).not.toContain('--cache-to');
    expect(classic).toContain('type=gha,scope=main');
  });

  it('--pull and --no-cache reach the argv and bake targets, and change no hash', () => {
    const { manifest } = miniSpec();
    const { plan, bs } = builds(manifest);
    const b = bs[0]!;
    const argv = buildArgv(buildInvocation(b, undefined, ctx(plan, { pull: true, noCache: true })));
    expect(argv).toEqual(expect.arrayContaining(['--pull', '--no-cache']));
    expect(buildArgv(buildInvocation(b, undefined, ctx(plan)))).not.toContain('--pull');
    const bake = bakeFile(plan, { selected: new Set(plan.order), packageDir: '/g/mini', bakeDir: '/g', stagingRepo: 'r/s', parentMode: 'args', push: true, pull: true, noCache: true, cacheOverride: { from: ['type=gha,scope={distro}'], to: [] } });
    const t = Object.values(bake.target)[0]!;
    expect(t).toMatchObject({ pull: true, 'no-cache': true, 'cache-from': ['type=gha,scope=deb'] });
    expect(loadPlan(manifest).tasks.get(b.id)!.hash.value).toBe(b.hash.value);
  });
});

describe('--metadata-file', () => {
  it('one entry per image: refs, its digest, each platform\'s image, hash and cache refs; schema-shaped', async () => {
    const { metadataFile } = await import('../../core/views/metadata-file.ts');
    const { outputDoc } = await import('../helpers/output-schema.ts');
    const { plan, bs } = builds(withCache('{ type: registry }').manifest);
    const m = [...plan.tasks.values()].find((t) => t.kind === 'manifest' && t.id === 'manifest:mini/deb/base/py3.10')!;
    const results = [
      ...bs.filter((b) => (m as { builds: string[] }).builds.includes(b.id)).map((b) => ({ id: b.id, kind: 'build' as const, status: 'built' as const, durationMs: 1, hash: b.hash.value, digest: `sha256:${'1'.repeat(64)}`, ref: `r@sha256:${'1'.repeat(64)}` })),
      { id: m.id, kind: 'manifest' as const, status: 'ran' as const, durationMs: 1, hash: m.hash.value, digest: `sha256:${'2'.repeat(64)}` },
    ];
    const doc = metadataFile(plan, results, ctx(plan));
    outputDoc(JSON.stringify(doc), 'metadataFile');
    // bake's shape: one key per target; the run's own facts under a key no target can have.
    expect(Object.keys(doc)).toEqual(['manager.run', 'deb_base_py3_10_amd64_arm64v8']);
    expect(doc['manager.run']).toEqual({ schemaVersion: 2, package: 'mini', version: '1.2.3' });
    const img = doc['deb_base_py3_10_amd64_arm64v8'] as ImageMetadata;
    expect(img.variant).toBe('deb/base/py3.10');
    expect(img['image.name'].split(',')).toEqual(img.refs);
    expect(img['containerimage.digest']).toBe(`sha256:${'2'.repeat(64)}`);
    expect(Object.keys(img.platforms).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    expect(img.platforms['linux/arm64']).toMatchObject({ status: 'built', cacheTo: ['type=registry,ref=docker.io/acme/mini-staging:cache-deb-base-3.10-arm64v8,mode=max'] });
    // An image whose merge was not in the run lists only the platforms that were, and no status.
    const partial = metadataFile(plan, results.filter((r) => r.id !== m.id && !r.id.endsWith('/arm64v8')), ctx(plan))['deb_base_py3_10_amd64_arm64v8'] as ImageMetadata;
    expect(partial.status).toBeUndefined();
    expect(Object.keys(partial.platforms)).toEqual(['linux/amd64']);
  });
});
