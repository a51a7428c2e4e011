import { describe, expect, it } from 'vitest';
import {
  buildArgv,
  builderCreateArgv,
  dockerInfoArgv,
  imagetoolsCreateArgv,
  isEngineDown,
  parseBuilderInspect,
  parseDockerInfo,
  parseMetadataFile,
  runTestArgv,
  supportsCacheExport,
  supportsMultiPlatform,
  supportsNamedContexts,
} from '../../core/buildx/argv.ts';
import { createBuilderArgvs, parseNode } from '../../tasks/builders.ts';
import { loginArgv, pushrmArgv } from '../../tasks/authenticate.ts';
import { UsageError } from '../../core/base/errors.ts';
import { holdsExactly, manifestInfo, parseManifest } from '../../core/base/manifest.ts';
import { onPath } from '../../tasks/runner.ts';

describe('buildx argv', () => {
  it('builds one platform with sorted args, labels, tags and push', () => {
    expect(
      buildArgv({
        contextDir: '/g/debian11/runtime',
        platforms: ['linux/arm64'],
        buildArgs: { PYTHON_VERSION: '3.9', BASE_IMAGE: 'r/x:build-arm64v8-ab@sha256:1' },
        tags: ['r/x:build-arm64v8-cd'],
        labels: { 'org.image-matrix.hash': 'cd' },
        output: 'push',
        builder: 'b1',
        metadataFile: '/tmp/m.json',
      }),
    ).toEqual([
      'docker', 'buildx', 'build', '--progress', 'plain', '--builder', 'b1', '--platform', 'linux/arm64',
      '--build-arg', 'BASE_IMAGE=r/x:build-arm64v8-ab@sha256:1', '--build-arg', 'PYTHON_VERSION=3.9',
      '--label', 'org.image-matrix.hash=cd', '--tag', 'r/x:build-arm64v8-cd', '--metadata-file', '/tmp/m.json', '--push', '/g/debian11/runtime',
    ]);
  });

  it('adds cache import always and cache export only where the builder can', () => {
    const base = { contextDir: '.', platforms: ['linux/amd64'], buildArgs: {}, tags: [], labels: {}, output: 'load' as const };
    expect(buildArgv({ ...base, cache: { type: 'registry', location: 'r/c:x', export: true, mode: 'max' } })).toEqual(
      expect.arrayContaining(['--cache-from', 'type=registry,ref=r/c:x', '--cache-to', 'type=registry,ref=r/c:x,mode=max', '--load']),
    );
    const noExport = buildArgv({ ...base, cache: { type: 'local', location: '/c', export: false } });
    expect(noExport).toContain('type=local,src=/c');
    expect(noExport).not.toContain('--cache-to');
    expect(buildArgv({ ...base, provenance: 'mode=max', sbom: 'true' })).toEqual(expect.arrayContaining(['--provenance=mode=max', '--sbom=true']));
  });

  it('merges manifests, inspects, runs tests and creates builders as argv arrays', () => {
    expect(imagetoolsCreateArgv(['a:1', 'b:1'], ['s@sha256:1', 's@sha256:2'])).toEqual(['docker', 'buildx', 'imagetools', 'create', '--tag', 'a:1', '--tag', 'b:1', 's@sha256:1', 's@sha256:2']);
    expect(runTestArgv('img', 'linux/arm64', 'echo "$HOME"')).toEqual(['docker', 'run', '--rm', '--pull', 'missing', '--platform', 'linux/arm64', '--entrypoint', '/bin/sh', 'img', '-c', 'echo "$HOME"']);
    expect(runTestArgv('img', 'linux/amd64', ['python', '--version'])).toEqual(['docker', 'run', '--rm', '--pull', 'missing', '--platform', 'linux/amd64', '--entrypoint', 'python', 'img', '--version']);
    // Through the image's own entrypoint: tini stays PID 1.
    expect(runTestArgv('img', 'linux/amd64', ['cat', '/proc/1/cmdline'], 'image')).toEqual(['docker', 'run', '--rm', '--pull', 'missing', '--platform', 'linux/amd64', 'img', 'cat', '/proc/1/cmdline']);
    expect(runTestArgv('img', 'linux/amd64', 'echo $$', 'image')).toEqual(['docker', 'run', '--rm', '--pull', 'missing', '--platform', 'linux/amd64', 'img', '/bin/sh', '-c', 'echo $$']);
    expect(builderCreateArgv('m', 'remote', { platform: 'linux/arm64', endpoint: 'tcp://arm:1234' }, true)).toEqual(['docker', 'buildx', 'create', '--name', 'm', '--driver', 'remote', '--append', '--platform', 'linux/arm64', 'tcp://arm:1234']);
    expect(createBuilderArgvs({ name: 'm', driver: 'docker-container', nodes: [parseNode('linux/amd64=unix:///var/run/docker.sock'), parseNode('linux/arm64=ssh://arm')], driverOpts: [], use: true })).toEqual([
      ['docker', 'buildx', 'create', '--name', 'm', '--driver', 'docker-container', '--platform', 'linux/amd64', 'unix:///var/run/docker.sock'],
      ['docker', 'buildx', 'create', '--name', 'm', '--driver', 'docker-container', '--append', '--platform', 'linux/arm64', 'ssh://arm'],
      ['docker', 'buildx', 'inspect', '--bootstrap', 'm'],
      ['docker', 'buildx', 'use', 'm'],
    ]);
    expect(() => parseNode('arm64')).toThrow(UsageError);
    expect(() => createBuilderArgvs({ name: 'm', driver: 'remote', nodes: [], driverOpts: [], use: false })).toThrow(/remote driver needs/);
  });

  it('never puts a password in a login argv', () => {
    expect(loginArgv('quay.io', 'robot')).toEqual(['docker', 'login', 'quay.io', '--username', 'robot', '--password-stdin']);
    expect(pushrmArgv('/t/README.md', 'quay', 'quay.io/a/b')).toEqual(['docker', 'pushrm', '--file', '/t/README.md', '--provider', 'quay', 'quay.io/a/b']);
  });
});

describe('buildx answers', () => {
  const inspect = `Name:   default
Driver: docker

Nodes:
Name:             default
Endpoint:         default
Status:           running
BuildKit version: v0.8+unknown
Platforms:        linux/amd64, linux/386, linux/arm64, linux/ppc64le, linux/arm/v7, linux/arm/v6
`;

  it('parses the builder: driver, platforms, BuildKit version and what it can do', () => {
    const b = parseBuilderInspect(inspect);
    expect(b).toMatchObject({ name: 'default', driver: 'docker', buildkit: 'v0.8+unknown', nodes: 1 });
    expect(b.platforms).toContain('linux/arm/v7');
    expect(supportsMultiPlatform(b)).toBe(false);
    expect(supportsMultiPlatform({ ...b, imageStore: 'classic' })).toBe(false);
    expect(supportsMultiPlatform({ ...b, imageStore: 'containerd' })).toBe(true);
    expect(supportsMultiPlatform({ ...b, driver: 'docker-container' })).toBe(true);
    expect(supportsCacheExport(b)).toBe(false);
    expect(supportsCacheExport({ ...b, imageStore: 'containerd' })).toBe(true);
    expect(supportsNamedContexts(b)).toBe(false);
    expect(supportsNamedContexts({ ...b, buildkit: 'v0.12.5' })).toBe(true);
    // Distribution builds of the engine report their embedded BuildKit as v0.0.0: the engine's version decides.
    expect(supportsNamedContexts({ ...b, buildkit: 'v0.0.0+unknown', engine: '26.1.5+dfsg1' })).toBe(true);
    expect(supportsNamedContexts({ ...b, buildkit: 'v0.0.0+unknown', engine: '20.10.24+dfsg1' })).toBe(false);
    expect(supportsNamedContexts({ ...b, buildkit: 'v0.0.0+unknown' })).toBe(false);
    expect(supportsNamedContexts({ ...b, driver: 'remote', buildkit: 'v0.0.0', engine: '26.1.5' })).toBe(false);
    // A BuildKit that reports its version wins over the engine's.
    expect(supportsNamedContexts({ ...b, buildkit: 'v0.8+unknown', engine: '26.1.5' })).toBe(false);
  });

  it('tells the containerd image store from the classic one by the engine\'s driver status', () => {
    const format = '{{json .ServerVersion}} {{json .DriverStatus}} {{json .NCPU}}';
    expect(dockerInfoArgv()).toEqual(['docker', 'info', '--format', format]);
    expect(dockerInfoArgv('default')).toEqual(['docker', 'info', '--format', format]);
    expect(dockerInfoArgv('remote-box')).toEqual(['docker', '--context', 'remote-box', 'info', '--format', format]);
    expect(parseDockerInfo('"26.1.5+dfsg1" [["driver-type","io.containerd.snapshotter.v1"]]\n')).toEqual({ engine: '26.1.5+dfsg1', imageStore: 'containerd' });
    expect(parseDockerInfo('"20.10.24+dfsg1" [["Backing Filesystem","extfs"],["Supports d_type","true"]]')).toEqual({ engine: '20.10.24+dfsg1', imageStore: 'classic' });
    expect(parseDockerInfo('"20.10.24" null')).toEqual({ engine: '20.10.24', imageStore: undefined });
    expect(parseDockerInfo('garbage')).toEqual({});
    // The engine's CPUs, which the default worker count is chosen from.
    expect(parseDockerInfo('"20.10.24+dfsg1" [["Backing Filesystem","extfs"]] 2\n')).toEqual({ engine: '20.10.24+dfsg1', imageStore: 'classic', cpus: 2 });
    expect(parseDockerInfo('"26.1.5" null 16')).toEqual({ engine: '26.1.5', imageStore: undefined, cpus: 16 });
    expect(parseDockerInfo('"26.1.5" null 0')).toEqual({ engine: '26.1.5', imageStore: undefined });
  });

  it('tells whether a published index holds exactly the staged platform images', () => {
    const pub = { mediaType: 'index', digest: 'sha256:pub', platforms: { 'linux/amd64': 'sha256:a', 'linux/arm64': 'sha256:b' } };
    // split: one plain image per platform
    expect(holdsExactly(pub, [{ mediaType: 'm', digest: 'sha256:a' }, { mediaType: 'm', digest: 'sha256:b' }])).toBe(true);
    expect(holdsExactly(pub, [{ mediaType: 'm', digest: 'sha256:a' }])).toBe(false);
    expect(holdsExactly(pub, [{ mediaType: 'm', digest: 'sha256:a' }, { mediaType: 'm', digest: 'sha256:c' }])).toBe(false);
    // split on a builder that adds attestations: each staged ref is an index of one platform
    expect(holdsExactly(pub, [
      { mediaType: 'index', digest: 'sha256:i1', platforms: { 'linux/amd64': 'sha256:a' } },
      { mediaType: 'index', digest: 'sha256:i2', platforms: { 'linux/arm64': 'sha256:b' } },
    ])).toBe(true);
    // single: one staged index of every platform
    expect(holdsExactly(pub, [{ mediaType: 'index', digest: 'sha256:pub', platforms: { 'linux/amd64': 'sha256:a', 'linux/arm64': 'sha256:b' } }])).toBe(true);
    // a plain image where an index is expected
    expect(holdsExactly({ mediaType: 'm', digest: 'sha256:a' }, [{ mediaType: 'm', digest: 'sha256:a' }])).toBe(false);
  });

  it('parses metadata files and index manifests (attestations left out)', () => {
    expect(parseMetadataFile('{"containerimage.digest":"sha256:aa","containerimage.config.digest":"sha256:bb"}')).toEqual({ digest: 'sha256:aa', configDigest: 'sha256:bb' });
    expect(parseMetadataFile('not json')).toEqual({});
    const doc = parseManifest('{"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"digest":"sha256:a","platform":{"os":"linux","architecture":"arm","variant":"v7"}},{"digest":"sha256:att","platform":{"os":"unknown","architecture":"unknown"}}]}');
    expect(manifestInfo('sha256:i', doc)).toEqual({ mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', digest: 'sha256:i', platforms: { 'linux/arm/v7': 'sha256:a' } });
    expect(manifestInfo('sha256:m', parseManifest('{"schemaVersion":2,"config":{"digest":"sha256:c"}}'))).toEqual({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:m', config: 'sha256:c' });
    expect(() => parseManifest('[]')).toThrow();
    expect(isEngineDown('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?')).toBe(true);
    expect(isEngineDown('ERROR: failed to solve: process "/bin/sh -c false" did not complete')).toBe(false);
  });
});

describe('onPath', () => {
  it('finds programs on PATH without a shell', () => {
    expect(onPath('node')).toBe(true);
    expect(onPath('no-such-program-here')).toBe(false);
    expect(onPath('node', '/nonexistent')).toBe(false);
  });
});
