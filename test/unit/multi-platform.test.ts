import { hasCycle } from 'graphology-dag';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/base/errors.ts';
import { chooseMultiPlatform, type BuilderCapabilities } from '../../core/plan/multi-platform.ts';
import { loadPlan, type Plan } from '../../core/plan/plan.ts';
import { selectTasks } from '../../core/plan/select.ts';
import type { BuildTask, ManifestTask, Task, TestTask } from '../../core/plan/task.ts';
import { stagingTag } from '../../core/plan/staging.ts';
import { BENTO_MANIFEST } from '../helpers/spec.ts';
import { cli } from '../helpers/cli.ts';

const classic: BuilderCapabilities = { name: 'default', driver: 'docker', multiPlatform: false, multiPlatformLoad: false };
const containerd: BuilderCapabilities = { name: 'default', driver: 'docker', multiPlatform: true, multiPlatformLoad: true };
const container: BuilderCapabilities = { name: 'ci', driver: 'docker-container', multiPlatform: true, multiPlatformLoad: false };
const push = { platformFilter: false, load: false, fanOut: false };

describe('choosing how platforms are built', () => {
  it('auto builds all platforms at once only where the builder can', () => {
    expect(chooseMultiPlatform('auto', classic, push)).toEqual({ strategy: 'split', reason: 'builder "default" (driver docker) builds one platform per build' });
    expect(chooseMultiPlatform('auto', containerd, push).strategy).toBe('single');
    expect(chooseMultiPlatform('auto', container, push)).toEqual({ strategy: 'single', reason: 'builder "ci" (driver docker-container) builds several platforms in one build' });
    // Loading several platforms into the engine needs the containerd image store.
    expect(chooseMultiPlatform('auto', container, { ...push, load: true }).strategy).toBe('split');
    expect(chooseMultiPlatform('auto', containerd, { ...push, load: true }).strategy).toBe('single');
  });

  it('auto splits when part of each image is asked for, or no builder answered', () => {
    expect(chooseMultiPlatform('auto', container, { ...push, platformFilter: true })).toEqual({ strategy: 'split', reason: 'a --platforms filter builds part of each image' });
    expect(chooseMultiPlatform('auto', undefined, push).strategy).toBe('split');
    // --only ids and --shard chains come from per-platform plans (ci matrix).
    expect(chooseMultiPlatform('auto', container, { ...push, fanOut: true })).toEqual({ strategy: 'split', reason: '--only and --shard name per-platform work' });
  });

  it('split is always possible; single is refused where it cannot work, before anything runs', () => {
    expect(chooseMultiPlatform('split', container, push).strategy).toBe('split');
    expect(chooseMultiPlatform('single', container, push).strategy).toBe('single');
    expect(chooseMultiPlatform('single', undefined, push).strategy).toBe('single');
    expect(() => chooseMultiPlatform('single', classic, push)).toThrow(UsageError);
    expect(() => chooseMultiPlatform('single', classic, push)).toThrow(/builder "default" \(driver docker\) cannot build several platforms in one build/);
    expect(() => chooseMultiPlatform('single', container, { ...push, load: true })).toThrow(/cannot load several platforms/);
    expect(() => chooseMultiPlatform('single', container, { ...push, platformFilter: true })).toThrow(/cannot take a --platforms filter/);
  });
});

const split = loadPlan(BENTO_MANIFEST);
const single = loadPlan(BENTO_MANIFEST, {}, { multiPlatform: 'single' });
const of = <K extends Task['kind']>(p: Plan, kind: K) => [...p.tasks.values()].filter((t): t is Extract<Task, { kind: K }> => t.kind === kind);

describe('planning one build per image (single)', () => {
  it('has one build per image, with every platform of it, and the same tests and manifests', () => {
    expect(of(single, 'build')).toHaveLength(single.variants.length);
    expect(of(single, 'test').map((t) => t.id).sort()).toEqual(of(split, 'test').map((t) => t.id).sort());
    expect(of(single, 'manifest').map((t) => t.id).sort()).toEqual(of(split, 'manifest').map((t) => t.id).sort());
    expect(hasCycle(single.graph)).toBe(false);
    const b = single.tasks.get('build:bento-server/ubi8/cudnn/py3.8/cuda11.6.2/amd64+arm64v8+ppc64le') as BuildTask;
    expect(b.platforms).toEqual(['linux/amd64', 'linux/arm64', 'linux/ppc64le']);
    expect(b.hash.parts).toHaveProperty('platforms');
    expect(stagingTag(b)).toMatch(/^build-multi-[0-9a-f]{32}$/);
  });

  it('builds a child FROM its parent\'s build of all platforms, even when the parent has more', () => {
    const b = single.tasks.get('build:bento-server/ubi8/cudnn/py3.8/cuda11.6.2/amd64+arm64v8+ppc64le') as BuildTask;
    expect(b.parentBuild).toBe('build:bento-server/ubi8/runtime/py3.8/amd64+arm64v8+ppc64le+s390x');
    expect(b.deps).toEqual(['render:bento-server/ubi8/cudnn', b.parentBuild]);
    const parent = single.tasks.get(b.parentBuild!) as BuildTask;
    expect(b.hash.parts['parent']).toBe(parent.hash.value);
  });

  it('tests each platform of the one build, and publishes from it', () => {
    const t = single.tasks.get('test:bento-server/debian11/runtime/py3.9/arm64v8') as TestTask;
    const m = single.tasks.get('manifest:bento-server/debian11/runtime/py3.9') as ManifestTask;
    expect(m.builds).toHaveLength(1);
    expect(m.platforms).toHaveLength(5);
    expect(t.deps).toEqual([m.builds[0]]);
    expect(t.platform).toBe('linux/arm64');
    expect(m.deps).toContain(t.id);
    // Each platform's test has its own hash, though they test one build.
    const amd = single.tasks.get('test:bento-server/debian11/runtime/py3.9/amd64') as TestTask;
    expect(amd.hash.value).not.toBe(t.hash.value);
  });

  it('keeps the per-platform plan\'s build hashes for split, so switching back rebuilds nothing', () => {
    const before = split.tasks.get('build:bento-server/debian11/base/py3.9/amd64') as BuildTask;
    expect(before.hash.parts).toHaveProperty('platform');
    expect(before.arches).toEqual(['amd64']);
    expect(loadPlan(BENTO_MANIFEST, {}, { multiPlatform: 'split' }).tasks.get(before.id)!.hash.value).toBe(before.hash.value);
  });

  it('selects whole images: targets and release filters work as in split', () => {
    const sel = selectTasks(single, { targets: [{ package: 'bento-server', release: 'cudnn', distro: 'debian11' }] });
    const builds = [...sel].map((id) => single.tasks.get(id)!).filter((t): t is BuildTask => t.kind === 'build');
    expect(new Set(builds.map((b) => b.release))).toEqual(new Set(['base', 'runtime', 'cudnn']));
    expect(builds.every((b) => b.platforms.length >= 1)).toBe(true);
  });
});

describe('the CLI', () => {
  it('dry-runs single: one buildx call per image with every platform', () => {
    const args = ['--target', 'bento-server:runtime@debian11', '--python-version', '3.9', '--dry-run', '--multi-platform', 'single', '--output', '/nonexistent-out'];
    const r = cli([...args, '--merge', 'imagetools'], {
      env: { DOCKER_HOST: 'unix:///nonexistent.sock' },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^platforms: one build per image for all its platforms \(single was asked for\)$/m);
    expect(r.stdout).toMatch(/docker buildx build --progress plain --platform linux\/amd64,linux\/arm64,linux\/arm\/v7,linux\/ppc64le,linux\/s390x /);
    expect(r.stdout).toMatch(/docker buildx imagetools create .* '<build:bento-server\/debian11\/runtime\/py3\.9\/amd64\+arm64v8\+arm32v7\+ppc64le\+s390x digest>'$/m);
    // By default the build's own index is copied to the tags through the registry API, as it is.
    const api = cli(args, { env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    expect(api.code).toBe(0);
    expect(api.stdout).not.toMatch(/imagetools create/);
    expect(api.stdout).toMatch(/^ +copy '<build:bento-server\/debian11\/runtime\/py3\.9\/amd64\+arm64v8\+arm32v7\+ppc64le\+s390x digest>' to \S+ .*\(registry API\)$/m);
  });

  it('graph shows either plan without asking a builder, so ids from a single run can be explained', () => {
    const text = cli(['graph', 'bento-server', '--target', 'bento-server:base@debian11', '--python-version', '3.9', '--multi-platform', 'single']).stdout;
    expect(text).toMatch(/^ {2}debian11\/base\/py3\.9\/amd64\+arm64v8\+arm32v7\+ppc64le\+s390x {2}[0-9a-f]{12}$/m);
    const split = cli(['graph', 'bento-server', '--target', 'bento-server:base@debian11', '--python-version', '3.9']).stdout;
    expect(split).toMatch(/^ {2}debian11\/base\/py3\.9\/arm64v8 {2}[0-9a-f]{12}$/m);
  });

  it('refuses single with a --platforms filter: exit 2', () => {
    const r = cli(['--target', 'bento-server:runtime', '--platforms', 'arm64v8', '--dry-run', '--multi-platform', 'single'], { env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot take a --platforms filter/);
  });
});
