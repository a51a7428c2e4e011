// manager build against the real engine and registry (see scripts/provision-test-env.sh):
// multi-arch builds, pushes, manifest merges, image tests, incremental reruns.
import { appendFileSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, type CliResult } from '../helpers/cli.ts';
import { allFiles, docker, dropPublicationRecords, e2eEnv, e2eSpec, idsOf as ids, taskRows, type TaskRow } from '../helpers/e2e.ts';

const env = e2eEnv();
const outputs: CliResult[] = [];

function build(manifest: string, generated: string, ...extra: string[]): { code: number; rows: TaskRow[]; r: CliResult } {
  const r = cli(['build', manifest, '--all', '--output', generated, '--json', ...extra], { env: { E2E_REGISTRY_USER: env.user, E2E_REGISTRY_PASSWORD: env.password } });
  outputs.push(r);
  return { code: r.code, rows: taskRows(r.stdout, r.stderr), r };
}

describe('build on the real engine', () => {
  const e = env;
  const ns = `e2e-${Date.now().toString(36)}`;
  let spec: ReturnType<typeof e2eSpec>;
  const repo = () => `${e.registry}/${ns}/e2e-app`;

  beforeAll(() => {
    spec = e2eSpec(e, ns);
  });

  it('builds, tests, pushes and merges multi-arch images from nothing', () => {
    const { code, rows, r } = build(spec.manifest, spec.generated);
    expect(code, r.stderr.slice(-2000)).toBe(0);
    expect(ids(rows, 'build', 'built')).toHaveLength(12);
    expect(ids(rows, 'test', 'ran')).toHaveLength(8);
    expect(ids(rows, 'manifest', 'ran')).toHaveLength(6);
    for (const tag of ['base-python3.11-bookworm', '0.0.1-python3.9-bookworm-runtime', '0.0.1-python3.9-debian-runtime', 'devel-python3.11-bookworm']) {
      const inspect = docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Manifest}}', `${repo()}:${tag}`]);
      expect(inspect.code, inspect.stderr).toBe(0);
      const platforms = (JSON.parse(inspect.stdout) as { manifests: { platform: { architecture: string } }[] }).manifests.map((m) => m.platform.architecture).sort();
      expect(platforms, tag).toEqual(['amd64', 'arm64']);
    }
    const hello = docker(['run', '--rm', '--pull', 'always', '--platform', 'linux/arm64', `${repo()}:0.0.1-python3.11-debian-runtime`, 'hello-app']);
    expect(hello.stdout).toMatch(/^hello from e2e-app 0\.0\.1 on Python 3\.11\.\d+$/m);
    const devel = docker(['run', '--rm', '--pull', 'always', '--platform', 'linux/amd64', `${repo()}:devel-python3.9-bookworm`, 'cat', '/etc/devel-marker']);
    expect(devel.stdout.trim()).toBe('devel tools for Python 3.9');
    // The child really is FROM its parent's exact image.
    const log = readFileSync(join(spec.generated, 'e2e-app', '.logs', 'build_e2e-app_bookworm_runtime_py3.11_arm64v8.log'), 'utf8');
    const parentDigest = rows.find((x) => x.id === 'build:e2e-app/bookworm/base/py3.11/arm64v8')!.digest!;
    expect(log).toContain(`BASE_IMAGE=${repo()}-staging:build-arm64v8-`);
    expect(log).toContain(`@${parentDigest}`);
  });

  it('builds nothing the second time, and says why', () => {
    const { code, rows } = build(spec.manifest, spec.generated);
    expect(code).toBe(0);
    expect(rows.filter((x) => x.status !== 'skipped').map((x) => x.id)).toEqual([]);
    expect(new Set(rows.filter((x) => x.kind === 'build').map((x) => x.reason))).toEqual(new Set(['unchanged since the last run']));
  });

  it('rebuilds exactly the images whose template changed, and their children', () => {
    const tpl = join(spec.dir, 'templates', 'debian', 'runtime.Dockerfile.eta');
    appendFileSync(tpl, 'LABEL e2e.change="1"\n');
    const { code, rows } = build(spec.manifest, spec.generated);
    expect(code).toBe(0);
    expect(ids(rows, 'build', 'built')).toEqual([
      'build:e2e-app/bookworm/devel/py3.11/amd64', 'build:e2e-app/bookworm/devel/py3.11/arm64v8', 'build:e2e-app/bookworm/devel/py3.9/amd64', 'build:e2e-app/bookworm/devel/py3.9/arm64v8',
      'build:e2e-app/bookworm/runtime/py3.11/amd64', 'build:e2e-app/bookworm/runtime/py3.11/arm64v8', 'build:e2e-app/bookworm/runtime/py3.9/amd64', 'build:e2e-app/bookworm/runtime/py3.9/arm64v8',
    ]);
    expect(ids(rows, 'build', 'skipped')).toHaveLength(4);
    expect(rows.find((x) => x.id === 'build:e2e-app/bookworm/runtime/py3.9/amd64')!.reason).toBe('inputs changed: file:Dockerfile');
    expect(rows.find((x) => x.id === 'build:e2e-app/bookworm/devel/py3.9/amd64')!.reason).toBe('inputs changed: parent');
    expect(ids(rows, 'manifest', 'ran')).toEqual(['manifest:e2e-app/bookworm/devel/py3.11', 'manifest:e2e-app/bookworm/devel/py3.9', 'manifest:e2e-app/bookworm/runtime/py3.11', 'manifest:e2e-app/bookworm/runtime/py3.9']);
  });

  it('skips through the registry when the state file is gone: by the publication records, or by the images themselves', async () => {
    // Without records (images published before they existed), every image is checked.
    // Six images now, four of them republished once since: ten records.
    expect(await dropPublicationRecords(`${repo()}-staging`)).toBe(10);
    rmSync(join(spec.generated, 'e2e-app', '.manager', 'state.json'));
    const checked = build(spec.manifest, spec.generated);
    expect(checked.code).toBe(0);
    expect(ids(checked.rows, 'build', 'built')).toEqual([]);
    expect(new Set(checked.rows.filter((x) => x.kind === 'build').map((x) => x.reason))).toEqual(new Set(['unchanged: the registry already has an image with this hash']));
    expect(new Set(checked.rows.filter((x) => x.kind === 'manifest').map((x) => x.reason))).toEqual(new Set(['unchanged: every tag already points at these images']));
    // That run wrote the records, and the next machine needs one lookup per image.
    rmSync(join(spec.generated, 'e2e-app', '.manager', 'state.json'));
    const recorded = build(spec.manifest, spec.generated);
    expect(recorded.code).toBe(0);
    expect(recorded.rows.filter((x) => x.kind !== 'render' && x.status !== 'skipped')).toEqual([]);
    expect(new Set(recorded.rows.filter((x) => x.kind === 'build').map((x) => x.reason))).toEqual(new Set(["unchanged: published from this hash (the registry's record of the last run)"]));
    expect(new Set(recorded.rows.filter((x) => x.kind === 'manifest').map((x) => x.reason))).toEqual(new Set(["unchanged: the registry's record says every tag was published from these images"]));
  });

  it('ci matrix finds nothing to do once the registry has every build, and one job per changed chain', () => {
    const m = cli(['ci', 'matrix', spec.manifest, '--all']);
    expect(m.code, m.stderr).toBe(0);
    expect(JSON.parse(m.stdout)).toEqual({ include: [] });
    const tpl = join(spec.dir, 'templates', 'debian', 'devel.Dockerfile.eta');
    const before = readFileSync(tpl, 'utf8');
    writeFileSync(tpl, before + 'LABEL e2e.devel="changed"\n');
    const jobs = (JSON.parse(cli(['ci', 'matrix', spec.manifest, '--all']).stdout) as { include: { name: string; only: string }[] }).include;
    writeFileSync(tpl, before);
    expect(jobs.map((j) => j.name).sort()).toEqual(['bookworm py3.11 linux/amd64', 'bookworm py3.11 linux/arm64', 'bookworm py3.9 linux/amd64', 'bookworm py3.9 linux/arm64']);
    expect(jobs.every((j) => /^build:e2e-app\/bookworm\/devel\/py[\d.]+\/\w+$/.test(j.only))).toBe(true);
  });

  it('exports a bake file that the real buildx accepts, with target: contexts or per-level args', () => {
    for (const mode of ['contexts', 'args']) {
      const file = join(spec.dir, `bake-${mode}.json`);
      const r = cli(['bake', spec.manifest, '--all', '--output', spec.generated, '--parent-mode', mode, '--file', file]);
      expect(r.code, r.stderr).toBe(0);
      const printed = docker(['buildx', 'bake', '--print', '-f', file]);
      expect(printed.code, printed.stderr).toBe(0);
      const doc = JSON.parse(printed.stdout) as { target: Record<string, { contexts?: Record<string, string>; args: Record<string, string> }> };
      const ours = JSON.parse(readFileSync(file, 'utf8')) as { group: Record<string, { targets: string[] }> };
      expect(Object.keys(doc.target)).toHaveLength(12);
      const rt = doc.target['bookworm_runtime_py3_9_arm64v8']!;
      if (mode === 'contexts') expect(rt.contexts).toEqual({ parent: 'target:bookworm_base_py3_9_arm64v8' });
      else expect(rt.args['BASE_IMAGE']).toMatch(new RegExp(`^${repo().replace(/\./g, '\\.')}-staging:build-arm64v8-[0-9a-f]{32}@sha256:[0-9a-f]{64}$`));
      expect(ours.group['level2']!.targets).toHaveLength(4);
      expect(docker(['buildx', 'bake', '--print', '-f', file, 'level1']).code).toBe(0);
    }
  });

  it('--keep-going builds the rest around a broken release and reports its dependents', () => {
    const broken = e2eSpec(e, `${ns}-broken`);
    const m = readFileSync(broken.manifest, 'utf8').replace('distros:', `  broken:
    parent: base
    tags: ["broken-python{python}"]
  broken-child:
    parent: broken
    tags: ["broken-child-python{python}"]
distros:`).replace('releases: [base, runtime, devel]', 'releases: [base, runtime, devel, broken, broken-child]');
    writeFileSync(broken.manifest, m);
    writeFileSync(join(broken.dir, 'templates/debian/broken.Dockerfile.eta'), 'ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\nARG PYTHON_VERSION\nRUN echo "this release is broken on purpose" && exit 3\n');
    writeFileSync(join(broken.dir, 'templates/debian/broken-child.Dockerfile.eta'), 'ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\nARG PYTHON_VERSION\n');
    const { code, rows, r } = build(broken.manifest, broken.generated, '--keep-going', '--python-version', '3.11', '--platforms', 'linux/amd64');
    expect(code).toBe(1);
    expect(ids(rows, 'build', 'failed')).toEqual(['build:e2e-app/bookworm/broken/py3.11/amd64']);
    expect(rows.find((x) => x.id === 'build:e2e-app/bookworm/broken-child/py3.11/amd64')).toMatchObject({ status: 'blocked', reason: 'dependency build:e2e-app/bookworm/broken/py3.11/amd64 failed' });
    expect(ids(rows, 'build', 'built').concat(ids(rows, 'build', 'skipped'))).toEqual(['build:e2e-app/bookworm/base/py3.11/amd64', 'build:e2e-app/bookworm/devel/py3.11/amd64', 'build:e2e-app/bookworm/runtime/py3.11/amd64']);
    const failed = rows.find((x) => x.status === 'failed')!;
    expect(failed.reason).toBe('exited 1');
    const human = cli(['build', broken.manifest, '--output', broken.generated, '--keep-going', '--python-version', '3.11', '--platforms', 'linux/amd64']);
    outputs.push(human, r);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/FAILED build:e2e-app\/bookworm\/broken\/py3\.11\/amd64: exited 1\n\s+log: .*build_e2e-app_bookworm_broken_py3\.11_amd64\.log/);
    expect(human.stdout + human.stderr).toMatch(/this release is broken on purpose/);
  });

  it('--atomic leaves every public tag as it was when something fails', () => {
    const before = docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Manifest}}', `${repo()}:0.0.1-python3.11-debian-runtime`]);
    const tpl = join(spec.dir, 'templates', 'debian', 'runtime.Dockerfile.eta');
    appendFileSync(tpl, 'LABEL e2e.change="2"\n');
    const dev = join(spec.dir, 'templates', 'debian', 'devel.Dockerfile.eta');
    writeFileSync(dev, readFileSync(dev, 'utf8') + 'RUN exit 4\n');
    const { code, rows } = build(spec.manifest, spec.generated, '--atomic', '--keep-going', '--python-version', '3.11');
    expect(code).toBe(1);
    expect(ids(rows, 'build', 'built')).toContain('build:e2e-app/bookworm/runtime/py3.11/amd64');
    expect(rows.filter((x) => x.kind === 'manifest').map((x) => [x.status, x.reason])).toEqual(rows.filter((x) => x.kind === 'manifest').map(() => ['blocked', expect.stringMatching(/^(atomic publish: build:e2e-app\/bookworm\/devel\/.* failed, so no public tag changes|dependency build:e2e-app\/bookworm\/devel\/.* failed)$/)]));
    const after = docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Manifest}}', `${repo()}:0.0.1-python3.11-debian-runtime`]);
    expect(after.stdout).toBe(before.stdout);
  });

  it('--load keeps images in the local engine and tags the host platform\'s image, pushing nothing', () => {
    const local = e2eSpec(e, `${ns}-load`);
    const { code, rows, r } = build(local.manifest, local.generated, '--load', '--releases', 'base', '--python-version', '3.11');
    expect(code, r.stderr.slice(-2000)).toBe(0);
    expect(ids(rows, 'build', 'built')).toEqual(['build:e2e-app/bookworm/base/py3.11/amd64', 'build:e2e-app/bookworm/base/py3.11/arm64v8']);
    expect(rows.find((x) => x.id === 'manifest:e2e-app/bookworm/base/py3.11')).toMatchObject({ status: 'ran', reason: 'tagged the linux/amd64 image locally' });
    const ref = `${e.registry}/${ns}-load/e2e-app:base-python3.11-bookworm`;
    const img = docker(['image', 'inspect', '--format', '{{.Architecture}}', ref]);
    expect(img.stdout.trim()).toBe('amd64');
    // Nothing reached the registry.
    expect(docker(['buildx', 'imagetools', 'inspect', ref]).code).not.toBe(0);
  });

  it('logs in with the right password, refuses the wrong one, and never shows it', () => {
    const home = join(spec.dir, 'docker-config');
    mkdirSync(home, { recursive: true });
    const ok = cli(['authenticate', spec.manifest], { env: { DOCKER_CONFIG: home, E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password } });
    outputs.push(ok);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`logged in to ${e.registry.replace(/\./g, '\\.')} as ${e.user}`));
    const bad = cli(['authenticate', spec.manifest], { env: { DOCKER_CONFIG: home, E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: `${e.password}-wrong` } });
    outputs.push(bad);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/login to .* was refused: wrong username or password/);
    expect(bad.stderr).not.toContain(`${e.password}-wrong`);
    const missing = cli(['authenticate', spec.manifest], { env: { DOCKER_CONFIG: home, E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: '' } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/registry local \(127\.0\.0\.1:\d+\): no password; set E2E_REGISTRY_PASSWORD/);
  });

  it('never wrote or printed the registry password anywhere', () => {
    const hits: string[] = [];
    for (const o of outputs) if ((o.stdout + o.stderr).includes(e.password)) hits.push('CLI output');
    for (const f of allFiles(spec.dir)) {
      if (f.path.includes('docker-config')) continue; // docker's own credential store, not ours
      if (f.content.includes(e.password) || f.content.includes(Buffer.from(e.password).toString('base64'))) hits.push(f.path);
    }
    expect(hits).toEqual([]);
    expect(existsSync(join(spec.generated, 'e2e-app', '.manager', 'state.json'))).toBe(true);
  });
});
