// The private engine (scripts/private-engine.sh): Docker Engine 26, docker driver, containerd
// image store. It builds several platforms at once, so one build per image (--multi-platform
// single) runs for real; the host engine (classic store) shows the other side. Its BuildKit has
// named contexts, so bake's target: contexts run for real too.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, type CliResult } from '../helpers/cli.ts';
import { REPO } from '../helpers/spec.ts';
import { docker, dropPublicationRecords, e2eEnv, e2eSpec, idsOf as ids, privateEngine, taskRows, type TaskRow } from '../helpers/e2e.ts';

const env = e2eEnv();

describe('single: every platform of an image in one build', () => {
  const e = env;
  const ns = `single-${Date.now().toString(36)}`;
  const repo = () => `${e.registry}/${ns}/offline-app`;
  let spec: ReturnType<typeof e2eSpec>;
  const onPrivate = (args: string[]) => docker(args, { env: { DOCKER_HOST: e.privateEngine } });

  function build(...extra: string[]): { code: number; rows: TaskRow[]; r: CliResult } {
    const r = cli(['build', spec.manifest, '--all', '--output', spec.generated, '--json', ...extra], {
      env: { DOCKER_HOST: e.privateEngine, E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password },
    });
    return { code: r.code, rows: taskRows(r.stdout, r.stderr), r };
  }

  beforeAll(() => {
    privateEngine('start');
    spec = e2eSpec(e, ns, 'offline');
  });

  it('auto asks the builder, which can: one build per image, index pushed, tested per platform, published', () => {
    const { code, rows, r } = build();
    expect(code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toMatch(/platforms: one build per image for all its platforms \(builder "default" \(driver docker\) builds several platforms in one build\)/);
    expect(ids(rows, 'build', 'built')).toEqual([
      'build:offline-app/bookworm/base/py3.11/amd64+arm64v8',
      'build:offline-app/bookworm/base/py3.9/amd64+arm64v8',
      'build:offline-app/bookworm/devel/py3.11/amd64+arm64v8',
      'build:offline-app/bookworm/devel/py3.9/amd64+arm64v8',
      'build:offline-app/bookworm/runtime/py3.11/amd64+arm64v8',
      'build:offline-app/bookworm/runtime/py3.9/amd64+arm64v8',
    ]);
    expect(ids(rows, 'test', 'ran')).toHaveLength(8);
    expect(ids(rows, 'manifest', 'ran')).toHaveLength(6);
    // One buildx call per image, with both platforms, FROM the parent's exact index.
    const log = readFileSync(join(spec.generated, 'offline-app', '.logs', 'build_offline-app_bookworm_runtime_py3.11_amd64_arm64v8.log'), 'utf8');
    expect(log).toMatch(/^\$ docker buildx build .*--platform linux\/amd64,linux\/arm64 /m);
    const parent = rows.find((x) => x.id === 'build:offline-app/bookworm/base/py3.11/amd64+arm64v8')!;
    expect(log).toContain(`BASE_IMAGE=${repo()}-staging:build-multi-`);
    expect(log).toContain(`@${parent.digest}`);
    // The public tag is that index, copied: same digest, both platforms, each its own arch.
    const runtime = rows.find((x) => x.id === 'build:offline-app/bookworm/runtime/py3.11/amd64+arm64v8')!;
    const inspect = docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Manifest}}', `${repo()}:0.0.2-python3.11-bookworm-runtime`]);
    expect(inspect.code, inspect.stderr).toBe(0);
    const index = JSON.parse(inspect.stdout) as { digest: string; manifests: { platform: { os: string; architecture: string } }[] };
    expect(index.digest).toBe(runtime.digest);
    expect(index.manifests.filter((m) => m.platform.os !== 'unknown').map((m) => m.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
    for (const [platform, machine] of [['linux/amd64', 'x86_64'], ['linux/arm64', 'aarch64']]) {
      const hello = onPrivate(['run', '--rm', '--pull', 'always', '--platform', platform!, `${repo()}:0.0.2-python3.11-bookworm-runtime`, 'hello-app']);
      expect(hello.stdout.trim(), hello.stderr).toBe(`hello from offline-app 0.0.2 on python 3.11 on ${machine}`);
    }
  });

  it('builds nothing the second time', () => {
    const { code, rows } = build();
    expect(code).toBe(0);
    expect(rows.filter((x) => x.status !== 'skipped').map((x) => x.id)).toEqual([]);
  });

  it('skips through the registry when the state file is gone: every platform carries the hash label, the tags already point at the index', async () => {
    await dropPublicationRecords(`${repo()}-staging`);
    rmSync(join(spec.generated, 'offline-app', '.manager'), { recursive: true, force: true });
    const { code, rows } = build();
    expect(code).toBe(0);
    expect(new Set(rows.filter((x) => x.kind === 'build').map((x) => x.reason))).toEqual(new Set(['unchanged: the registry already has an image with this hash']));
    expect(new Set(rows.filter((x) => x.kind === 'manifest').map((x) => x.reason))).toEqual(new Set(['unchanged: every tag already points at these images']));
  });

  it('--load on the containerd image store keeps single: every platform of the image is loaded and tagged, nothing pushed', () => {
    const local = e2eSpec(e, `${ns}-load`, 'offline');
    const r = cli(['build', local.manifest, '--target', 'offline-app:runtime', '--python-version', '3.9', '--load', '--output', local.generated, '--json'], { env: { DOCKER_HOST: e.privateEngine } });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toMatch(/platforms: one build per image for all its platforms/);
    const rows = taskRows(r.stdout, r.stderr);
    expect(ids(rows, 'build', 'built')).toEqual(['build:offline-app/bookworm/base/py3.9/amd64+arm64v8', 'build:offline-app/bookworm/runtime/py3.9/amd64+arm64v8']);
    const tag = `${e.registry}/${ns}-load/offline-app:0.0.2-python3.9-bookworm-runtime`;
    for (const [platform, machine] of [['linux/amd64', 'x86_64'], ['linux/arm64', 'aarch64']]) {
      const hello = onPrivate(['run', '--rm', '--pull', 'never', '--platform', platform!, tag, 'hello-app']);
      expect(hello.stdout.trim(), hello.stderr).toBe(`hello from offline-app 0.0.2 on python 3.9 on ${machine}`);
    }
    const pushed = docker(['buildx', 'imagetools', 'inspect', tag]);
    expect(pushed.code).not.toBe(0);
  });

  it('split on the same engine, whose per-platform images come with attestations (each an index): a rerun without the state file skips every build and manifest through the registry', async () => {
    const other = e2eSpec(e, `${ns}-split`, 'offline');
    const env = { DOCKER_HOST: e.privateEngine, E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password };
    const args = ['build', other.manifest, '--all', '--output', other.generated, '--json', '--multi-platform', 'split', '--python-version', '3.11'];
    const first = cli(args, { env });
    expect(first.code, first.stderr.slice(-2000)).toBe(0);
    // OCI images merge into an OCI index that carries the OCI labels as annotations.
    const published = JSON.parse(docker(['buildx', 'imagetools', 'inspect', '--raw', `${e.registry}/${ns}-split/offline-app:base-python3.11-bookworm`]).stdout) as { mediaType: string; annotations?: Record<string, string> };
    expect(published.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(published.annotations).toMatchObject({ 'org.opencontainers.image.title': 'offline-app', 'org.opencontainers.image.version': '0.0.2' });
    const staged = docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Manifest}}', taskRows(first.stdout).find((x) => x.id === 'build:offline-app/bookworm/base/py3.11/arm64v8')!.ref!]);
    expect((JSON.parse(staged.stdout) as { mediaType: string }).mediaType).toBe('application/vnd.oci.image.index.v1+json');
    // The images themselves are checked (attestation indexes and all), not the publication records.
    expect(await dropPublicationRecords(`${e.registry}/${ns}-split/offline-app-staging`)).toBe(3);
    rmSync(join(other.generated, 'offline-app', '.manager'), { recursive: true, force: true });
    const again = cli(args, { env });
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    const rows = taskRows(again.stdout, again.stderr);
    expect(rows.filter((x) => x.kind === 'build' || x.kind === 'manifest').filter((x) => x.status !== 'skipped').map((x) => x.id)).toEqual([]);
  });

  it('on the host engine (classic image store) auto builds per platform and single is refused with exit 2', () => {
    const other = e2eSpec(e, `${ns}-classic`, 'offline');
    const dry = cli(['build', other.manifest, '--all', '--output', other.generated, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^platforms: one build per platform, merged by manifest tasks \(builder "default" \(driver docker\) builds one platform per build\)$/m);
    expect(dry.stdout).toMatch(/^run  build:offline-app\/bookworm\/base\/py3\.11\/arm64v8 /m);
    const single = cli(['build', other.manifest, '--all', '--output', other.generated, '--multi-platform', 'single']);
    expect(single.code).toBe(2);
    expect(single.stderr).toMatch(/builder "default" \(driver docker\) cannot build several platforms in one build/);
  });
});

describe('bake with target: contexts, run for real', () => {
  const e = env;
  const ns = `bake-${Date.now().toString(36)}`;

  it('auto picks target: contexts from the engine\'s version, and bake builds every level at once with children FROM their parent target', () => {
    privateEngine('start');
    const s = e2eSpec(e, ns, 'offline');
    const onPrivate = { DOCKER_HOST: e.privateEngine };
    const file = join(s.dir, 'docker-bake.json');
    const gen = cli(['generate', s.manifest, '--output', s.generated]);
    expect(gen.code, gen.stderr).toBe(0);
    const r = cli(['bake', s.manifest, '--all', '--python-version', '3.11', '--output', s.generated, '--file', file], { env: onPrivate });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/parents passed as target: contexts/);
    // Contexts in the file are relative to where manager bake ran: the repository, as here.
    const bake = docker(['buildx', 'bake', '-f', file], { cwd: REPO, env: onPrivate, timeoutMs: 600_000 });
    expect(bake.code, bake.stderr.slice(-3000)).toBe(0);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { target: Record<string, { tags: string[] }> };
    const devel = doc.target['bookworm_devel_py3_11_arm64v8']!.tags[0]!;
    const run = docker(['run', '--rm', '--pull', 'always', '--platform', 'linux/arm64', devel, 'sh', '-c', 'cat /etc/devel-marker; hello-app'], { env: onPrivate });
    expect(run.stdout.trim().split('\n'), run.stderr).toEqual(['devel tools for Python 3.11 on aarch64', 'hello from offline-app 0.0.2 on python 3.11 on aarch64']);
  });
});
