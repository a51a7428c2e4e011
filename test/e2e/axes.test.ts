// A family with no Python at all (examples/lua): two axes of its own, the Lua version
// restricted on one distro, built for two platforms on the real engine, pushed to the real
// registry, tested inside the images, and not rebuilt the second time. The example is used
// as written, through `extends`: only its base images and registry are pointed at the test's.
// Then two one-platform distros merged under one shared tag, and an exclude rule removing one
// value's arm64 image.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, type CliResult } from '../helpers/cli.ts';
import { docker, e2eEnv, idsOf as ids, taskRows, type TaskRow, localRegistryLines } from '../helpers/e2e.ts';
import { REPO, tempDir, writeTree } from '../helpers/spec.ts';

const env = e2eEnv();
const EXAMPLE = join(REPO, 'examples', 'lua');

function manager(args: string[]): CliResult {
  // From nothing, 24 builds (a dozen installing packages under QEMU) take minutes.
  return cli(['--allow-extends', EXAMPLE, ...args], { env: { E2E_REGISTRY_USER: env.user, E2E_REGISTRY_PASSWORD: env.password }, timeoutMs: 15 * 60_000 });
}

describe('a family with axes of its own and no Python (examples/lua)', () => {
  const ns = `lua-${Date.now().toString(36)}`;
  const repo = `${env.registry}/${ns}/lua`;
  let manifest = '';
  let generated = '';
  const build = (...extra: string[]): { code: number; rows: TaskRow[]; r: CliResult } => {
    const r = manager(['build', manifest, '--all', '--output', generated, '--json', ...extra]);
    return { code: r.code, rows: taskRows(r.stdout, r.stderr), r };
  };

  beforeAll(() => {
    const dir = tempDir('manager-e2e-lua-');
    manifest = join(dir, 'manifest.yaml');
    generated = join(dir, 'generated');
    // Both distros build FROM the provisioned Debian image: nothing can be pulled here.
    writeFileSync(manifest, [
      `extends: ${join(EXAMPLE, 'manifest.yaml')}`,
      'distros:',
      `  bookworm: { image: "${env.baseImage}" }`,
      `  bookworm-slim: { image: "${env.baseImage}" }`,
      'registries:',
      '  ghcr.io: null',
      ...localRegistryLines(env, ns),
      'build: { max_workers: 2, timeout: 900 }',
      '',
    ].join('\n'));
  });

  it('is built for both platforms, pushed, and tested inside every image', () => {
    const { code, rows, r } = build();
    expect(code, r.stderr.slice(-3000)).toBe(0);
    // bookworm: 2 Lua × 2 flavors; bookworm-slim: Lua 5.4 only × 2 flavors; two releases, two platforms.
    expect(ids(rows, 'build', 'built')).toHaveLength(24);
    expect(ids(rows, 'test', 'ran')).toHaveLength(24);
    expect(ids(rows, 'manifest', 'ran')).toHaveLength(12);
    expect(ids(rows, 'build', 'built')).toContain('build:lua/bookworm-slim/app/lua5.4/dev/arm64v8');
    expect(rows.some((x) => x.id.includes('bookworm-slim') && x.id.includes('lua5.3'))).toBe(false);
    for (const tag of ['5.3-dev-bookworm', '5.4-bookworm-slim', '5.4-minimal-bookworm-slim-app']) {
      const inspect = docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Manifest}}', `${repo}:${tag}`]);
      expect(inspect.code, inspect.stderr).toBe(0);
      const platforms = (JSON.parse(inspect.stdout) as { manifests: { platform: { architecture: string } }[] }).manifests.map((m) => m.platform.architecture).sort();
      expect(platforms, tag).toEqual(['amd64', 'arm64']);
    }
    expect(docker(['buildx', 'imagetools', 'inspect', `${repo}:5.3-bookworm-slim`]).code).not.toBe(0);
    // The axis values are really inside: the interpreter the version picked, the headers the flavor added.
    const hello = docker(['run', '--rm', '--pull', 'always', '--platform', 'linux/arm64', `${repo}:5.3-dev-bookworm-app`]);
    expect(hello.stdout.trim(), hello.stderr).toBe('hello from Lua 5.3 (dev)');
    const minimal = docker(['run', '--rm', '--pull', 'always', '--platform', 'linux/amd64', `${repo}:5.4-bookworm-slim`, 'sh', '-c', 'lua -v; ls /usr/include/lua5.4 2>&1 | head -1']);
    expect(minimal.stdout).toMatch(/^Lua 5\.4\.\d+ .*\n.*No such file or directory/);
    // No Python anywhere: the build args are the axes' own.
    const logs = join(generated, 'lua', '.logs');
    const log = readFileSync(join(logs, readdirSync(logs).find((f) => f.startsWith('build_lua_bookworm_interpreter_lua5.3_dev_amd64'))!), 'utf8');
    expect(log).toContain('--build-arg LUA_VERSION=5.3 ');
    expect(log).toContain('--build-arg LUA_FLAVOR=dev ');
    expect(log).not.toMatch(/PYTHON/);
  });

  it('builds nothing the second time', () => {
    const { code, rows } = build();
    expect(code).toBe(0);
    expect(rows.filter((x) => x.status !== 'skipped').map((x) => x.id)).toEqual([]);
  });

  it('selects by any axis: the dry run of one Lua and one flavor names only those images', () => {
    const r = manager(['build', manifest, '--axis', 'lua=5.3', '--axis', 'flavor=dev', '--output', generated, '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { dryRun: boolean; tasks: { id: string; status: string }[] };
    expect(doc.dryRun).toBe(true);
    const manifests = doc.tasks.filter((t) => t.id.startsWith('manifest:')).map((t) => t.id).sort();
    expect(manifests).toEqual(['manifest:lua/bookworm/app/lua5.3/dev', 'manifest:lua/bookworm/interpreter/lua5.3/dev']);
    expect(doc.tasks.filter((t) => t.status !== 'skipped')).toEqual([]);
  });
});

describe('a tag two images share, each with its own platform', () => {
  const ns = `shared-${Date.now().toString(36)}`;
  const repo = `${env.registry}/${ns}/pair`;
  let manifest = '';
  let generated = '';
  const build = () => {
    const r = cli(['build', manifest, '--all', '--output', generated, '--json'], { env: { E2E_REGISTRY_USER: env.user, E2E_REGISTRY_PASSWORD: env.password } });
    return { code: r.code, rows: taskRows(r.stdout, r.stderr), r };
  };

  beforeAll(() => {
    const dir = tempDir('manager-e2e-shared-');
    manifest = join(dir, 'manifest.yaml');
    generated = join(dir, 'generated');
    // Two distros of one base, one platform each (as a Linux and a Windows build would be).
    const distro = (arch: string) => [`  ${arch}-only:`, '    family: debian', '    package_manager: apt', `    image: "${env.baseImage}"`, `    architectures: [${arch}]`, '    releases: [app]'];
    writeFileSync(manifest, [
      'package: pair',
      'templates: ./templates',
      'architectures: { amd64: linux/amd64, arm64v8: linux/arm64 }',
      'releases:',
      '  app:',
      '    tags: ["{distro}", { template: "both", shared: true }]',
      '    tests: [{ name: arch, run: "cat /etc/arch", expect: { output: "^{distro}\\\\s*$" } }]',
      'distros:',
      ...distro('amd64'),
      ...distro('arm64v8'),
      'registries:',
      ...localRegistryLines(env, ns),
      '',
    ].join('\n'));
    const tpl = 'ARG <%= it.from.arg %>=<%= it.from.default %>\nFROM ${<%= it.from.arg %>}\nRUN echo <%= it.distro.name %> > /etc/arch\n';
    writeTree({ 'templates/debian/app.Dockerfile.eta': tpl }, dir);
  });

  it('is published as one index of both images; each keeps its own tag', () => {
    const { code, rows, r } = build();
    expect(code, r.stderr.slice(-3000)).toBe(0);
    expect(ids(rows, 'manifest', 'ran')).toEqual(['manifest:pair/@shared/both', 'manifest:pair/amd64-only/app', 'manifest:pair/arm64v8-only/app']);
    const platforms = (tag: string) => {
      const inspect = docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Manifest}}', `${repo}:${tag}`]);
      expect(inspect.code, inspect.stderr).toBe(0);
      return (JSON.parse(inspect.stdout) as { manifests: { platform: { architecture: string } }[] }).manifests.map((m) => m.platform.architecture).sort();
    };
    expect(platforms('both')).toEqual(['amd64', 'arm64']);
    expect(platforms('amd64-only')).toEqual(['amd64']);
    expect(platforms('arm64v8-only')).toEqual(['arm64']);
    const arm = docker(['run', '--rm', '--pull', 'always', '--platform', 'linux/arm64', `${repo}:both`, 'cat', '/etc/arch']);
    expect(arm.stdout.trim(), arm.stderr).toBe('arm64v8-only');
  });

  it('builds and publishes nothing the second time', () => {
    const { code, rows } = build();
    expect(code).toBe(0);
    expect(rows.filter((x) => x.status !== 'skipped').map((x) => x.id)).toEqual([]);
  });
});

describe('an exclude rule on the real engine: a value that does not exist on one architecture upstream', () => {
  const ns = `exclude-${Date.now().toString(36)}`;
  const repo = `${env.registry}/${ns}/tool`;
  let manifest = '';
  let generated = '';
  const creds = { E2E_REGISTRY_USER: env.user, E2E_REGISTRY_PASSWORD: env.password };

  beforeAll(() => {
    const dir = tempDir('manager-e2e-exclude-');
    manifest = join(dir, 'manifest.yaml');
    generated = join(dir, 'generated');
    writeFileSync(manifest, [
      'package: tool',
      'templates: ./templates',
      'architectures: { amd64: linux/amd64, arm64v8: linux/arm64 }',
      'axes:',
      '  tool: { arg: TOOL_VERSION, values: ["2", "1"] }',
      'releases:',
      '  app:',
      '    axes: [tool]',
      '    tags: ["{tool}"]',
      '    tests: [{ name: version, run: "cat /etc/tool", expect: { output: "^{tool}\\\\s*$" } }]',
      'distros:',
      '  bookworm:',
      '    family: debian',
      '    package_manager: apt',
      `    image: "${env.baseImage}"`,
      '    architectures: [amd64, arm64v8]',
      '    releases: [app]',
      'exclude:',
      '  - { tool: "1", arch: arm64v8 }   # tool 1 was never released for arm64',
      'registries:',
      ...localRegistryLines(env, ns),
      '',
    ].join('\n'));
    const tpl = 'ARG <%= it.from.arg %>=<%= it.from.default %>\nFROM ${<%= it.from.arg %>}\nARG TOOL_VERSION\nRUN echo "$TOOL_VERSION" > /etc/tool\n';
    writeTree({ 'templates/debian/app.Dockerfile.eta': tpl }, dir);
  });

  it('validate names what the rule removed; the build plans, builds, tests and publishes no image for it', () => {
    const v = cli(['validate', manifest, '--json']);
    expect(v.code, v.stderr).toBe(0);
    const doc = JSON.parse(v.stdout) as { excluded: { path: string; removed: { image: string; arch: string }[] }[] };
    expect(doc.excluded).toEqual([{ path: 'exclude[0]', removed: [{ image: 'bookworm/app/tool1', arch: 'arm64v8' }] }]);
    const r = cli(['build', manifest, '--all', '--output', generated, '--json'], { env: creds, timeoutMs: 15 * 60_000 });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const rows = taskRows(r.stdout, r.stderr);
    // Three platform builds and tests (tool 2 on both, tool 1 on amd64 only), none for the excluded pair.
    expect(rows.filter((x) => x.kind === 'build').map((x) => [x.id, x.status])).toEqual([
      ['build:tool/bookworm/app/tool2/amd64', 'built'], ['build:tool/bookworm/app/tool2/arm64v8', 'built'], ['build:tool/bookworm/app/tool1/amd64', 'built'],
    ]);
    expect(rows.filter((x) => x.kind === 'test' && x.status === 'ran').length).toBe(3);
    const platforms = (tag: string) => {
      const raw = docker(['buildx', 'imagetools', 'inspect', '--raw', `${repo}:${tag}`]);
      expect(raw.code, raw.stderr).toBe(0);
      const m = JSON.parse(raw.stdout) as { manifests?: { platform?: { os: string; architecture: string } }[]; config?: unknown };
      // One platform may be published as its image manifest itself rather than an index of one.
      if (!m.manifests) {
        const config = docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Image}}', `${repo}:${tag}`]);
        expect(config.code, config.stderr).toBe(0);
        return [(JSON.parse(config.stdout) as { architecture: string }).architecture];
      }
      return m.manifests.filter((x) => x.platform && x.platform.os !== 'unknown').map((x) => x.platform!.architecture).sort();
    };
    expect(platforms('2')).toEqual(['amd64', 'arm64']);
    expect(platforms('1')).toEqual(['amd64']);
    const arm = docker(['run', '--rm', '--pull', 'always', '--platform', 'linux/arm64', `${repo}:2`, 'cat', '/etc/tool']);
    expect(arm.stdout.trim(), arm.stderr).toBe('2');
  });
});
