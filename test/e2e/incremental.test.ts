// Incremental truth on the real engine and registry: for a sequence of edits, the tasks
// `build --dry-run --json` says will run are exactly the tasks the real run then runs; a base
// image that moves upstream is seen by `outdated` and rebuilt by `build --refresh`, nothing
// else; a fresh clone with no state file skips everything through the registry without a
// docker process; `prune` removes only staging tags nothing needs.
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { docker, e2eEnv, e2eSpec, idsOf, taskRows, type TaskRow } from '../helpers/e2e.ts';
import { tempDir } from '../helpers/spec.ts';

const env = e2eEnv();
const RAN = new Set(['built', 'ran']);

describe('incremental truth', () => {
  const e = env;
  const ns = `incr-${Date.now().toString(36)}`;
  const base = () => `${e.registry}/${ns}/base:bookworm`;
  const repo = () => `${e.registry}/${ns}/offline-app`;
  let s: ReturnType<typeof e2eSpec>;
  const creds = () => ({ E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password });

  const build = (...extra: string[]) => {
    const r = cli(['build', s.manifest, '--all', '--output', s.generated, '--json', ...extra], { env: creds() });
    return { code: r.code, rows: taskRows(r.stdout, r.stderr), stderr: r.stderr, stdout: r.stdout };
  };
  const willRun = (rows: TaskRow[]) => rows.filter((x) => x.status === 'would-run').map((x) => x.id).sort();
  const ran = (rows: TaskRow[]) => rows.filter((x) => RAN.has(x.status)).map((x) => x.id).sort();

  /** The dry run first, then the real run: the same task ids run, each with a reason. */
  function dryThenReal(...extra: string[]): TaskRow[] {
    const dry = build('--dry-run', ...extra);
    expect(dry.code, dry.stderr.slice(-2000)).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, registry: { consulted: true } });
    const real = build(...extra);
    expect(real.code, JSON.stringify(real.rows.filter((x) => !RAN.has(x.status) && x.status !== 'skipped'), null, 1)).toBe(0);
    expect(ran(real.rows)).toEqual(willRun(dry.rows));
    for (const x of [...dry.rows, ...real.rows]) expect(x.reason, x.id).toBeTruthy();
    return real.rows;
  }

  /** Pushes a new amd64 image under the base tag (arm64 unchanged), as an upstream security fix would. */
  function moveBaseAmd64(marker: string) {
    const ctx = tempDir();
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${e.baseImage}\nLABEL e2e.fix="${marker}"\n`);
    const pushed = docker(['buildx', 'build', '--platform', 'linux/amd64', '--push', '-t', `${e.registry}/${ns}/base:fix-${marker}`, ctx]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const arm = JSON.parse(docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Manifest}}', base()]).stdout) as { manifests: { digest: string; platform: { architecture: string } }[] };
    const armDigest = arm.manifests.find((m) => m.platform.architecture === 'arm64')!.digest;
    const merged = docker(['buildx', 'imagetools', 'create', '-t', base(), `${e.registry}/${ns}/base:fix-${marker}`, `${e.registry}/${ns}/base@${armDigest}`]);
    expect(merged.code, merged.stderr).toBe(0);
  }

  beforeAll(() => {
    // The base image lives in this run's namespace, so the test can move it.
    expect(docker(['buildx', 'imagetools', 'create', '-t', base(), e.baseImage]).code).toBe(0);
    s = e2eSpec(e, ns, 'offline');
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replace(`image: "${e.baseImage}"`, `image: "${base()}"`).replace('architectures: [amd64, arm64v8]\n    releases', 'architectures: [amd64]\n    releases'));
  });

  it('lock pins the base per platform; the first build runs everything the dry run said it would', () => {
    const l = cli(['lock', s.manifest, '--json']);
    expect(l.code, l.stderr).toBe(0);
    const lockText = readFileSync(join(s.dir, 'manifest.lock.yaml'), 'utf8');
    expect(lockText).toMatch(new RegExp(`${base().replace(/[.:/]/g, '\\$&')}:\\n    digest: sha256:[0-9a-f]{64}\\n    platforms:\\n      linux/amd64: sha256:[0-9a-f]{64}\\n`));
    // Stable under reruns: the same upstream writes the same bytes.
    expect(cli(['lock', s.manifest]).code).toBe(0);
    expect(readFileSync(join(s.dir, 'manifest.lock.yaml'), 'utf8')).toBe(lockText);
    const rows = dryThenReal();
    expect(idsOf(rows, 'build', 'built')).toHaveLength(6);
    const log = readFileSync(join(s.generated, 'offline-app', '.logs', 'build_offline-app_bookworm_base_py3.11_amd64.log'), 'utf8');
    expect(log).toMatch(new RegExp(`--build-arg BASE_IMAGE=${base().replace(/[.:/]/g, '\\$&')}@sha256:[0-9a-f]{64} `));
  });

  it('no change: nothing runs, and the dry run says so', () => {
    expect(dryThenReal().filter((x) => x.status !== 'skipped')).toEqual([]);
  });

  it('one template: the images it renders and their children, with the changed input named', () => {
    appendFileSync(join(s.dir, 'templates', 'debian', 'runtime.Dockerfile.eta'), 'LABEL e2e.step="template"\n');
    const rows = dryThenReal();
    expect(idsOf(rows, 'build', 'built')).toEqual([
      'build:offline-app/bookworm/devel/py3.11/amd64', 'build:offline-app/bookworm/devel/py3.9/amd64',
      'build:offline-app/bookworm/runtime/py3.11/amd64', 'build:offline-app/bookworm/runtime/py3.9/amd64',
    ]);
    expect(rows.find((x) => x.id === 'build:offline-app/bookworm/runtime/py3.9/amd64')).toMatchObject({ reason: 'inputs changed: file:Dockerfile', changed: ['file:Dockerfile'] });
  });

  it('one build arg: the release that sets it and its children', () => {
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replace('build_args: { APP_VERSION: "{version}" }', 'build_args: { APP_VERSION: "{version}", E2E_STEP: "build-arg" }'));
    const rows = dryThenReal();
    expect(idsOf(rows, 'build', 'built')).toHaveLength(4);
    expect(rows.find((x) => x.id === 'build:offline-app/bookworm/runtime/py3.11/amd64')!.reason).toBe('inputs changed: build_args');
  });

  it('one test command: only those tests run, no image is rebuilt', () => {
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replace('run: "cat /etc/built-for"', 'run: "cat /etc/built-for && true"'));
    const rows = dryThenReal();
    expect(ran(rows)).toEqual(['test:offline-app/bookworm/base/py3.11/amd64', 'test:offline-app/bookworm/base/py3.9/amd64']);
  });

  it('a new architecture: its chain, its tests, and the manifests that now carry two platforms', () => {
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replace('architectures: [amd64]\n    releases', 'architectures: [amd64, arm64v8]\n    releases'));
    expect(cli(['lock', s.manifest]).code).toBe(0);
    const rows = dryThenReal();
    expect(idsOf(rows, 'build', 'built')).toEqual(idsOf(rows, 'build', 'built').filter((id) => id.endsWith('/arm64v8')));
    expect(idsOf(rows, 'build', 'built')).toHaveLength(6);
    expect(idsOf(rows, 'manifest', 'ran')).toHaveLength(6);
    expect(idsOf(rows, 'build', 'skipped')).toHaveLength(6);
  });

  it('a base digest moved upstream: outdated reports it, explain names it, and only the images above it rebuild', () => {
    moveBaseAmd64('1');
    const o = cli(['outdated', s.manifest, '--json']);
    expect(o.code, o.stderr).toBe(3);
    const report = JSON.parse(o.stdout) as { packages: { current: boolean; changes: { input: string }[]; rebuild: { image: string }[] }[] };
    expect(report.packages[0]!.changes.map((c) => c.input)).toEqual([`${base()} linux/amd64`]);
    expect(report.packages[0]!.rebuild.map((x) => x.image).sort()).toEqual(['bookworm/base/py3.11', 'bookworm/base/py3.9', 'bookworm/devel/py3.11', 'bookworm/devel/py3.9', 'bookworm/runtime/py3.11', 'bookworm/runtime/py3.9']);
    expect(cli(['lock', s.manifest]).code).toBe(0);
    const explain = cli(['graph', s.manifest, '--output', s.generated, '--explain', 'build:offline-app/bookworm/base/py3.9/amd64']);
    expect(explain.stdout).toMatch(new RegExp(`decision: run \\(inputs changed: base_image\\)\\n\\s+changed inputs:\\n\\s+changed\\s+base_image\\s+${base().replace(/[.:/]/g, '\\$&')}@sha256:[0-9a-f]{64} -> ${base().replace(/[.:/]/g, '\\$&')}@sha256:[0-9a-f]{64}`));
    const rows = dryThenReal();
    expect(idsOf(rows, 'build', 'built')).toEqual([
      'build:offline-app/bookworm/base/py3.11/amd64', 'build:offline-app/bookworm/base/py3.9/amd64',
      'build:offline-app/bookworm/devel/py3.11/amd64', 'build:offline-app/bookworm/devel/py3.9/amd64',
      'build:offline-app/bookworm/runtime/py3.11/amd64', 'build:offline-app/bookworm/runtime/py3.9/amd64',
    ]);
    expect(cli(['outdated', s.manifest]).code).toBe(0);
  });

  it('build --refresh re-resolves and rebuilds exactly what moved; its dry run writes no lock', () => {
    moveBaseAmd64('2');
    const lockFile = join(s.dir, 'manifest.lock.yaml');
    const before = readFileSync(lockFile, 'utf8');
    const dry = build('--refresh', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(readFileSync(lockFile, 'utf8')).toBe(before);
    const real = build('--refresh');
    expect(real.code, real.stderr.slice(-2000)).toBe(0);
    expect(readFileSync(lockFile, 'utf8')).not.toBe(before);
    expect(ran(real.rows)).toEqual(willRun(dry.rows));
    expect(idsOf(real.rows, 'build', 'built')).toHaveLength(6);
    expect(idsOf(real.rows, 'build', 'built').every((id) => id.endsWith('/amd64'))).toBe(true);
  });

  it('a fresh clone with no state file skips everything through the registry, starting no docker process', () => {
    const clone = tempDir();
    cpSync(s.dir, clone, { recursive: true, filter: (src) => !src.includes('/generated') });
    const shim = join(tempDir(), 'bin');
    mkdirSync(shim);
    const realDocker = spawnSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(join(shim, 'docker'), `#!/bin/sh\necho "$*" >> ${shim}/calls\nexec ${realDocker} "$@"\n`);
    chmodSync(join(shim, 'docker'), 0o755);
    const r = cli(['build', join(clone, 'manifest.yaml'), '--all', '--multi-platform', 'split', '--output', join(clone, 'generated'), '--json'], { env: { ...creds(), PATH: `${shim}:${process.env['PATH']}` } });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const rows = taskRows(r.stdout, r.stderr);
    expect(rows.filter((x) => x.kind !== 'render' && x.status !== 'skipped')).toEqual([]);
    expect(new Set(rows.filter((x) => x.kind !== 'render').map((x) => x.reason))).toEqual(new Set([
      "unchanged: published from this hash (the registry's record of the last run)",
      'passed before on this exact image (recorded in the registry)',
      "unchanged: the registry's record says every tag was published from these images",
    ]));
    let calls = '';
    try {
      calls = readFileSync(join(shim, 'calls'), 'utf8');
    } catch {
      calls = '';
    }
    expect(calls).toBe('');
  });

  it('prune removes only staging tags no public tag references and the spec no longer builds', () => {
    const tags = () => new Set((JSON.parse(spawnSync('curl', ['-sf', '-K', '-', `http://${e.registry}/v2/${ns}/offline-app-staging/tags/list`], { input: `user = "${e.user}:${e.password}"\n`, encoding: 'utf8' }).stdout) as { tags: string[] }).tags);
    const before = tags();
    const dry = cli(['prune', s.manifest, '--older-than', '0s', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as { dryRun: boolean; repositories: { decisions: { tags: string[]; delete: boolean; why: string }[] }[] };
    expect(plan.dryRun).toBe(true);
    expect(tags()).toEqual(before);
    const doomed = plan.repositories[0]!.decisions.filter((d) => d.delete).flatMap((d) => d.tags);
    // The runs above replaced images four times over: the old ones go, the current ones stay.
    expect(doomed.length).toBeGreaterThan(10);
    const yes = cli(['prune', s.manifest, '--older-than', '0s', '--yes']);
    expect(yes.code, yes.stderr).toBe(0);
    const after = tags();
    for (const t of doomed) expect(after.has(t), t).toBe(false);
    expect(after.size).toBe(before.size - doomed.length);
    // What is left is enough: every public tag resolves, and a rerun builds nothing.
    expect(docker(['buildx', 'imagetools', 'inspect', `${repo()}:devel-python3.9-bookworm`]).code).toBe(0);
    rmSync(join(s.generated, 'offline-app', '.manager', 'state.json'));
    const again = build();
    expect(again.code).toBe(0);
    expect(again.rows.filter((x) => x.kind !== 'render' && x.status !== 'skipped')).toEqual([]);
  });
});
