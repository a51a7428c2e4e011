// Floating inputs: image references, the lock file, pinning in the plan, prune's choices.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitFor, floatingInputs, pinBase, pinGit } from '../../core/matrix/floating.ts';
import { isSafeGitUrl } from '../../core/base/url.ts';
import { formatImageRef, ImageRefError, isLoopback, parseImageRef, pinned } from '../../core/base/image-ref.ts';
import { bakeFile } from '../../core/buildx/bake.ts';
import { buildInvocation } from '../../core/buildx/invocation.ts';
import { formatLockFile, lockChanges, lockPath, readLockFile, type LockFile } from '../../core/load/lock-file.ts';
import { holdsExactly, manifestInfo, platformKey } from '../../core/base/manifest.ts';
import { buildsFromArg, loadPlan } from '../../core/plan/plan.ts';
import { parseRetention, planPrune } from '../../core/plan/prune.ts';
import type { BuildTask } from '../../core/plan/task.ts';
import { lsRemoteArgv } from '../../tasks/resolve.ts';
import { miniSpec, planError } from '../helpers/spec.ts';

const D = (c: string) => `sha256:${c.repeat(64)}`;

describe('image references', () => {
  it('reads docker\'s short forms, ports, tags and digests', () => {
    expect(parseImageRef('python:3.9')).toEqual({ host: 'docker.io', repository: 'library/python', tag: '3.9' });
    expect(parseImageRef('docker.io/bentoml/x')).toEqual({ host: 'docker.io', repository: 'bentoml/x', tag: 'latest' });
    expect(parseImageRef('127.0.0.1:5555/e2e/debian:bookworm')).toEqual({ host: '127.0.0.1:5555', repository: 'e2e/debian', tag: 'bookworm' });
    expect(parseImageRef(`localhost/a@${D('a')}`)).toEqual({ host: 'localhost', repository: 'a', digest: D('a') });
    expect(parseImageRef(`r.io/a/b:t@${D('b')}`)).toMatchObject({ tag: 't', digest: D('b') });
    expect(formatImageRef(parseImageRef('python:3.9'))).toBe('docker.io/library/python:3.9');
    expect(pinned('r/x:t', D('c'))).toBe(`r/x:t@${D('c')}`);
    expect(pinned(`r/x:t@${D('a')}`, D('c'))).toBe(`r/x:t@${D('c')}`);
  });

  it('refuses what docker would refuse', () => {
    for (const bad of ['UPPER/case', 'a/b:', `a@sha256:xyz`, 'a/b:t t']) expect(() => parseImageRef(bad), bad).toThrow(ImageRefError);
  });

  it('loopback registries speak plain HTTP', () => {
    expect(isLoopback('127.0.0.1:5555')).toBe(true);
    expect(isLoopback('localhost:5000')).toBe(true);
    expect(isLoopback('quay.io')).toBe(false);
  });
});

describe('manifests', () => {
  it('platform keys as docker writes them (arm64 v8 is plain arm64)', () => {
    expect(platformKey({ os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe('linux/arm64');
    expect(platformKey({ os: 'linux', architecture: 'arm', variant: 'v7' })).toBe('linux/arm/v7');
  });

  it('a public index holds exactly the staged images, attestation indexes included', () => {
    const pub = manifestInfo('sha256:p', { mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ digest: 'sha256:a', platform: { os: 'linux', architecture: 'amd64' } }, { digest: 'sha256:b', platform: { os: 'linux', architecture: 'arm64' } }] });
    expect(holdsExactly(pub, [{ mediaType: 'm', digest: 'sha256:a' }, { mediaType: 'm', digest: 'sha256:b' }])).toBe(true);
    expect(holdsExactly(pub, [{ mediaType: 'm', digest: 'sha256:a' }])).toBe(false);
    expect(holdsExactly(pub, [{ mediaType: 'i', digest: 'sha256:x', platforms: { 'linux/amd64': 'sha256:a' } }, { mediaType: 'm', digest: 'sha256:b' }])).toBe(true);
    expect(holdsExactly({ mediaType: 'm', digest: 'sha256:a' }, [{ mediaType: 'm', digest: 'sha256:a' }])).toBe(false);
  });
});

describe('git refs', () => {
  it('finds branches, peeled annotated tags, lightweight tags and full refs', () => {
    const out = [`${'1'.repeat(40)}\trefs/heads/main`, `${'2'.repeat(40)}\trefs/tags/v1`, `${'3'.repeat(40)}\trefs/tags/v1^{}`, `${'4'.repeat(40)}\trefs/tags/light`].join('\n');
    expect(commitFor(out, 'main')).toBe('1'.repeat(40));
    expect(commitFor(out, 'v1')).toBe('3'.repeat(40));
    expect(commitFor(out, 'light')).toBe('4'.repeat(40));
    expect(commitFor(out, 'refs/heads/main')).toBe('1'.repeat(40));
    expect(commitFor(out, 'nope')).toBeUndefined();
  });

  it('passes only URLs to git, after `--`, with command transports off', () => {
    expect(isSafeGitUrl('https://github.com/bentoml/BentoML.git')).toBe(true);
    expect(isSafeGitUrl('git@github.com:bentoml/BentoML.git')).toBe(true);
    expect(isSafeGitUrl('/srv/repo.git')).toBe(true);
    for (const bad of ['--upload-pack=touch /tmp/x', 'ext::sh -c id', '-oProxyCommand=x', 'relative/path']) expect(isSafeGitUrl(bad), bad).toBe(false);
    expect(lsRemoteArgv('https://x/y.git', ['main'])).toEqual(['git', '-c', 'protocol.ext.allow=never', 'ls-remote', '--', 'https://x/y.git', 'main', 'refs/tags/main^{}']);
  });
});

const LOCKED: Omit<LockFile, 'file'> = {
  images: { 'example/python:3.10': { digest: D('1'), platforms: { 'linux/amd64': D('2'), 'linux/arm64': D('3') } } },
  git: { 'https://x/y.git': { main: 'a'.repeat(40) } },
};

describe('the lock file', () => {
  it('is sorted YAML with no timestamps: the same resolution writes the same bytes', () => {
    const text = formatLockFile(LOCKED);
    expect(formatLockFile({ images: { ...LOCKED.images }, git: { ...LOCKED.git } })).toBe(text);
    expect(text).toMatch(/^# Written by `manager lock`/);
    expect(text).toContain(`linux/amd64: ${D('2')}\n      linux/arm64: ${D('3')}`);
    expect(lockPath('/a/b/manifest.yaml')).toBe('/a/b/manifest.lock.yaml');
    expect(lockPath('/r/docker/manifest/bento-server.yml')).toBe('/r/docker/manifest/bento-server.lock.yml');
  });

  it('reports what moved, per platform and per ref', () => {
    const moved = { images: { 'example/python:3.10': { digest: D('9'), platforms: { 'linux/amd64': D('8'), 'linux/arm64': D('3') } } }, git: { 'https://x/y.git': { main: 'b'.repeat(40) } } };
    expect(lockChanges(LOCKED, moved)).toEqual([
      { kind: 'image', input: 'example/python:3.10 linux/amd64', before: D('2'), after: D('8') },
      { kind: 'git', input: 'https://x/y.git#main', before: 'a'.repeat(40), after: 'b'.repeat(40) },
    ]);
    expect(lockChanges(undefined, LOCKED)).toHaveLength(3);
    expect(lockChanges(LOCKED, LOCKED)).toEqual([]);
  });

  it('pins per platform (one build each) or by index (one build for all)', () => {
    const lock = { ...LOCKED, file: '' };
    expect(pinBase(lock, 'example/python:3.10', ['linux/arm64'])).toEqual({ ref: `example/python:3.10@${D('3')}`, pinned: true });
    expect(pinBase(lock, 'example/python:3.10', ['linux/amd64', 'linux/arm64'])).toEqual({ ref: `example/python:3.10@${D('1')}`, pinned: true });
    expect(pinBase(lock, 'example/python:3.10', ['linux/s390x'])).toEqual({ ref: 'example/python:3.10', pinned: false });
    expect(pinBase(undefined, 'example/python:3.10', ['linux/amd64']).pinned).toBe(false);
    expect(pinGit(lock, 'https://x/y.git', 'main')).toBe('a'.repeat(40));
    expect(pinGit(lock, 'https://x/y.git', 'constructor')).toBeUndefined();
  });

  it('a malformed lock file is a spec error with its position', () => {
    const { manifest } = miniSpec();
    writeFileSync(lockPath(manifest), 'lockVersion: 1\nimages:\n  "example/python:3.10":\n    digest: nope\n    platforms: {}\n');
    const r = readLockFile(manifest);
    expect(r.lock).toBeUndefined();
    expect(r.diagnostics[0]).toMatchObject({ severity: 'error', line: 4, message: expect.stringMatching(/^lock file: expected a sha256 digest/) });
    expect(planError(manifest).diagnostics[0]!.file).toBe(lockPath(manifest));
  });
});

describe('pinning in the plan', () => {
  function locked() {
    const { dir, manifest } = miniSpec({
      'templates/debian/base.Dockerfile.eta': 'ARG PYTHON_VERSION\nARG <%= it.from.arg %>=<%= it.from.default %>\nFROM ${<%= it.from.arg %>}\nRUN echo base\n',
    });
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('  runtime:\n    parent: base\n', '  runtime:\n    parent: base\n    build_args:\n      REF: { git: "https://x/y.git", ref: main }\n'));
    writeFileSync(lockPath(manifest), formatLockFile(LOCKED));
    return { dir, manifest };
  }

  it('finds every floating input of the plan: base images per platform, git refs', () => {
    const plan = loadPlan(locked().manifest);
    const inputs = floatingInputs(plan.spec, plan.variants);
    expect([...inputs.images].map(([i, p]) => [i, [...p].sort()])).toEqual([['example/python:3.10', ['linux/amd64', 'linux/arm64']], ['example/python:3.11', ['linux/amd64', 'linux/arm64']]]);
    expect([...inputs.git].map(([u, r]) => [u, [...r]])).toEqual([['https://x/y.git', ['main']]]);
  });

  it('hashes the locked digest and commit, builds FROM image@digest, and names what is not pinned', () => {
    const { manifest } = locked();
    const plan = loadPlan(manifest);
    const b = plan.tasks.get('build:mini/deb/base/py3.10/arm64v8') as BuildTask;
    expect(b.baseImage).toBe(`example/python:3.10@${D('3')}`);
    expect(b.hash.details).toEqual({ base_image: `example/python:3.10@${D('3')}` });
    const rt = plan.tasks.get('build:mini/deb/runtime/py3.10/amd64') as BuildTask;
    expect(rt.floatingArgs).toEqual({ REF: 'a'.repeat(40) });
    expect(rt.hash.details!['git:REF']).toBe(`https://x/y.git#main@${'a'.repeat(40)}`);
    expect(plan.pinning).toEqual({ lockFile: lockPath(manifest), unpinned: ['example/python:3.11'] });
    const inv = buildInvocation(b, undefined, { plan, packageDir: '/g', stagingRepo: 'r/s', mode: 'push', cacheExport: true });
    expect(inv.buildArgs['BASE_IMAGE']).toBe(`example/python:3.10@${D('3')}`);
    expect(buildInvocation(rt, 'r/s:p@sha256:1', { plan, packageDir: '/g', stagingRepo: 'r/s', mode: 'push', cacheExport: true }).buildArgs).toMatchObject({ REF: 'a'.repeat(40), BASE_IMAGE: 'r/s:p@sha256:1' });
  });

  it('a moved base digest changes exactly the builds above it', () => {
    const { manifest } = locked();
    const before = loadPlan(manifest);
    writeFileSync(lockPath(manifest), formatLockFile({ ...LOCKED, images: { 'example/python:3.10': { digest: D('7'), platforms: { 'linux/amd64': D('6'), 'linux/arm64': D('3') } } } }));
    const after = loadPlan(manifest);
    const moved = [...after.tasks.values()].filter((t) => t.kind === 'build' && before.tasks.get(t.id)!.hash.value !== t.hash.value).map((t) => t.id).sort();
    expect(moved).toEqual(['build:mini/deb/base/py3.10/amd64', 'build:mini/deb/runtime/py3.10/amd64']);
  });

  it('refuses a locked root whose Dockerfile names its base itself: the pinned digest would go unread', () => {
    const { manifest } = miniSpec();
    writeFileSync(lockPath(manifest), formatLockFile(LOCKED));
    expect(planError(manifest).diagnostics.filter((d) => d.severity === 'error')).toEqual([
      expect.objectContaining({ path: 'releases.base', line: 2, column: 1, message: expect.stringContaining("deb/base/Dockerfile does not build FROM its distro's locked base image: its final stage builds `FROM example/python:${PYTHON_VERSION}` (line 2), which names an image computed from ${PYTHON_VERSION} (it matches no earlier stage's name), not ${BASE_IMAGE}. The build passes the lock file's digest of the base image in build arg BASE_IMAGE") }),
    ]);
    expect(buildsFromArg('ARG B\nFROM --platform=$BUILDPLATFORM ${B} AS x\n', 'B')).toBe(true);
    expect(buildsFromArg('ARG B\nFROM $B\n', 'B')).toBe(true);
    expect(buildsFromArg('FROM debian\n', 'B')).toBe(false);
  });

  it('the bake export carries the same invocation: labels, pinned base, floating args, cache', () => {
    const { manifest } = locked();
    const plan = loadPlan(manifest);
    const selected = new Set([...plan.tasks.keys()]);
    const doc = bakeFile(plan, { selected, packageDir: join('/g', 'mini'), bakeDir: '/g', stagingRepo: 'r/s', parentMode: 'args', push: true, revision: 'abc' });
    const t = doc.target['deb_base_py3_10_arm64v8']!;
    expect(t['labels']).toMatchObject({ 'org.opencontainers.image.version': '1.2.3', 'org.opencontainers.image.revision': 'abc' });
    expect((t['args'] as Record<string, string>)['BASE_IMAGE']).toBe(`example/python:3.10@${D('3')}`);
    expect((doc.target['deb_runtime_py3_10_amd64']!['args'] as Record<string, string>)['REF']).toBe('a'.repeat(40));
  });
});

describe('prune', () => {
  const now = Date.parse('2026-11-30T00:00:00Z');
  const old = '2026-11-01T00:00:00Z';
  it('deletes only unreferenced staging images older than the retention, never a digest another tag keeps', () => {
    const decisions = planPrune(
      [
        { tag: 'build-amd64-' + 'a'.repeat(32), digest: 'sha256:a', children: [], created: old },
        { tag: 'test-' + 'a'.repeat(32), digest: 'sha256:a', children: [], created: old },
        { tag: 'build-amd64-' + 'b'.repeat(32), digest: 'sha256:b', children: [], created: old },
        { tag: 'build-multi-' + 'c'.repeat(32), digest: 'sha256:c', children: ['sha256:c1'], created: old },
        { tag: 'build-amd64-' + 'd'.repeat(32), digest: 'sha256:d', children: [], created: '2026-11-29T00:00:00Z' },
        { tag: 'build-amd64-' + 'e'.repeat(32), digest: 'sha256:e', children: [], created: undefined },
        { tag: 'build-amd64-' + 'f'.repeat(32), digest: 'sha256:f', children: [], created: old },
        { tag: 'build-amd64-' + '0'.repeat(32), digest: 'sha256:0', children: [], created: old },
      ],
      new Set(['sha256:b', 'sha256:c1']),
      new Set(['sha256:f']),
      now,
      parseRetention('14d')!,
      new Set(['build-amd64-' + '0'.repeat(32)]),
    );
    expect(decisions.map((x) => [x.digest, x.delete, x.why])).toEqual([
      ['sha256:0', false, 'the spec as it is now builds it'],
      ['sha256:a', true, 'unreferenced and older than the retention'],
      ['sha256:b', false, 'a public tag points at it'],
      ['sha256:c', false, 'a public tag points at it'],
      ['sha256:d', false, 'younger than the retention'],
      ['sha256:e', false, 'its age is unknown'],
      ['sha256:f', false, 'another tag in the repository points at it'],
    ]);
    expect(decisions[1]!.tags).toHaveLength(2);
  });

  it('reads retentions', () => {
    expect(parseRetention('14d')).toBe(14 * 86_400_000);
    expect(parseRetention('0s')).toBe(0);
    expect(parseRetention('2w')).toBeUndefined();
  });
});
