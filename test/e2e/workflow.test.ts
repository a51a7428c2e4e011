// The generated GitHub Actions workflow, executed job by job as a runner would: each job in a
// fresh clone of the repository (its own `npm ci` of the packed tool), sharing nothing but the
// registry; `run:` steps as written, through bash, with $GITHUB_OUTPUT read back the way the
// runner reads it; the build matrix's jobs split across the two test engines at once. The
// `uses:` steps are the harness's part, done here with the real tools: checkout is the clone,
// docker/login-action a `docker login` with the job's secrets, setup-qemu and setup-buildx are
// already done on these engines (both run the docker driver the pull-request jobs ask for), and
// setup-node is this Node. The GitHub cache service does not exist here, so the cache step
// exposes nothing and builds go without a layer cache, as they say.
//
// A pull request's run comes first: its jobs get no secret at all. The test registry lets no
// anonymous client read, as a private repository would not, so the plan's lookups are refused
// and every selected chain is built; and a pull request's base images must be public, which
// here means already in the engine a chain runs on (put there with the test's own login,
// outside the job). Nothing reaches the registry; the images are in the engines, tested. Then
// a push's run: the registry holds what a local `build --all` publishes, and a second push's
// run builds nothing.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { PUBLISHES } from '../../core/views/workflow.ts';
import { docker, e2eEnv, privateEngine } from '../helpers/e2e.ts';
import { REPO, tempDir } from '../helpers/spec.ts';

const e = e2eEnv();

interface Step { name?: string; id?: string; if?: string; uses?: string; with?: Record<string, string>; env?: Record<string, string>; run?: string }
interface GraphTask { id: string; kind: string; hash: string; arches?: string[]; refs?: string[]; platforms?: string[]; builds?: string[]; build?: string }
interface Job { needs?: string | string[]; if?: string; outputs?: Record<string, string>; strategy?: { matrix: string }; steps: Step[] }
interface Workflow { jobs: Record<string, Job> }

const git = (cwd: string, ...args: string[]) => {
  const r = spawnSync('git', ['-c', 'user.email=ci@example.invalid', '-c', 'user.name=ci', ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

/** A clean environment for a job: none of this test runner's npm_* variables. */
const baseEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_'))) as Record<string, string>;

/** `${{ matrix.x }}`, `${{ secrets.X }}`, `${{ steps.id.outputs.x }}` in a step's with/env. */
function expr(text: string, ctx: { matrix?: Record<string, unknown>; secrets: Record<string, string> }): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, x: string) => {
    const m = /^(matrix|secrets)\.(\w+)$/.exec(x);
    if (!m) throw new Error(`the harness does not evaluate \${{ ${x} }}`);
    const v = m[1] === 'matrix' ? ctx.matrix?.[m[2]!] : ctx.secrets[m[2]!];
    return v === undefined ? '' : String(v);
  });
}

/** A step's `if:`: the one form the workflow uses, `${{ matrix.x }}`. */
function condition(text: string, matrix: Record<string, unknown> | undefined): boolean {
  const m = /^\$\{\{\s*matrix\.(\w+)\s*\}\}$/.exec(text.trim());
  if (!m) throw new Error(`the harness does not evaluate if: ${text}`);
  return Boolean(matrix?.[m[1]!]);
}

interface JobResult { code: number; log: string; outputs: Record<string, string> }

/** Runs one job's steps in a fresh clone; `uses:` steps as the header says. */
async function runJob(name: string, job: Job, o: { origin: string; engine?: string; matrix?: Record<string, unknown>; secrets: Record<string, string> }): Promise<JobResult> {
  const work = tempDir(`job-${name}-`);
  git(work, 'clone', '-q', o.origin, 'repo');
  const cwd = join(work, 'repo');
  const outputFile = join(work, 'github_output');
  writeFileSync(outputFile, '');
  // Its own docker client config: a job's logins are its own, as on a fresh runner.
  const env: Record<string, string> = { ...baseEnv(), DOCKER_CONFIG: join(work, 'docker'), CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: join(work, 'summary.md'), ...(o.engine ? { DOCKER_HOST: o.engine } : {}) };
  let log = '';
  const stepOutputs: Record<string, Record<string, string>> = {};
  for (const step of job.steps) {
    if (step.if && !condition(step.if, o.matrix)) continue;
    if (step.uses) {
      const action = step.uses.split('@')[0]!;
      if (action === 'docker/login-action') {
        const w = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, expr(v, o)]));
        const r = spawnSync('docker', ['login', '--username', w['username']!, '--password-stdin', w['registry']!], { input: w['password'], encoding: 'utf8', env });
        log += `[login ${w['registry']}] ${r.stdout}${r.stderr}`;
        if (r.status !== 0) return { code: 1, log, outputs: {} };
      } else if (action === 'docker/setup-buildx-action') {
        // These engines' builders are the docker driver: a step asking for another would not be stood in for.
        if (step.with?.['driver'] !== undefined && step.with['driver'] !== 'docker') throw new Error(`the harness's builders are the docker driver, not ${step.with['driver']}`);
      } else if (!['actions/checkout', 'actions/setup-node', 'docker/setup-qemu-action', 'crazy-max/ghaction-github-runtime'].includes(action)) {
        throw new Error(`the harness does not know ${step.uses}`);
      }
      continue;
    }
    const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expr(v, o)]));
    const before = readFileSync(outputFile, 'utf8').length;
    const r = await new Promise<{ code: number; out: string }>((done) => {
      const child = spawn('bash', ['-eo', 'pipefail', '-c', step.run!], { cwd, env: { ...env, ...stepEnv } });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.on('close', (code) => done({ code: code ?? 1, out }));
    });
    log += `$ ${step.run}\n${r.out}`;
    if (r.code !== 0) return { code: r.code, log, outputs: {} };
    if (step.id) stepOutputs[step.id] = parseOutputs(readFileSync(outputFile, 'utf8').slice(before));
  }
  const outputs: Record<string, string> = {};
  for (const [k, v] of Object.entries(job.outputs ?? {})) {
    const m = /^\$\{\{\s*steps\.(\w+)\.outputs\.(\w+)\s*\}\}$/.exec(v);
    if (!m) throw new Error(`output ${k}: ${v}`);
    outputs[k] = stepOutputs[m[1]!]?.[m[2]!] ?? '';
  }
  return { code: 0, log, outputs };
}

/** $GITHUB_OUTPUT as the runner reads it: name=value lines (and name<<EOF blocks). */
function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^(\w+)<<(.+)$/.exec(lines[i]!);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      out[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else {
      const eq = lines[i]!.indexOf('=');
      if (eq > 0) out[lines[i]!.slice(0, eq)] = lines[i]!.slice(eq + 1);
    }
  }
  return out;
}

const ENGINES = ['unix:///var/run/docker.sock', e.privateEngine];

type MatrixRun = { matrix: Record<string, unknown>; engine: string; result: JobResult };

/** Every job of the build jobs that need `from`, one per matrix entry, all at once; each must succeed. */
async function matrixJobs(wf: Workflow, from: string, planned: JobResult, origin: string, secrets: Record<string, string>, engineFor: (n: number, m: Record<string, unknown>) => string): Promise<MatrixRun[]> {
  const runs: Promise<MatrixRun>[] = [];
  let n = 0;
  for (const [name, job] of Object.entries(wf.jobs).filter(([, j]) => j.needs === from && j.strategy)) {
    const ref = new RegExp(`^fromJSON\\(needs\\.${from}\\.outputs\\.(\\w+)\\)\\.include\\[0\\] != null$`).exec(job.if!)![1]!;
    const matrix = JSON.parse(planned.outputs[ref]!) as { include: Record<string, unknown>[] };
    for (const m of matrix.include) {
      const engine = engineFor(n++, m);
      runs.push(runJob(`${name}-${n}`, job, { origin, engine, matrix: m, secrets }).then((result) => ({ matrix: m, engine, result })));
    }
  }
  const done = await Promise.all(runs);
  for (const b of done) expect(b.result.code, `${String(b.matrix['name'])} on ${b.engine}:\n${b.result.log.slice(-3000)}`).toBe(0);
  return done;
}

/**
 * One workflow run on a pull request, with no secret: validate (which plans), then the build
 * matrix. A chain runs on an engine that already holds its platform of the base image: the host
 * engine's classic store keeps one platform per tag, so it takes linux/amd64, the containerd one
 * the rest.
 */
async function pullRequestRun(wf: Workflow, origin: string, baseImage: string): Promise<{ validate: JobResult; builds: MatrixRun[] }> {
  expect(wf.jobs['plan']!.if).toBe(PUBLISHES);
  expect(wf.jobs['validate']!.if).toBe(`!(${PUBLISHES})`);
  const prJobs = Object.entries(wf.jobs).filter(([k, j]) => k === 'validate' || j.needs === 'validate');
  for (const [name, job] of prJobs) expect(JSON.stringify(job), name).not.toMatch(/secrets\.|docker\/login-action/);
  const validate = await runJob('validate', wf.jobs['validate']!, { origin, secrets: {} });
  expect(validate.code, validate.log.slice(-3000)).toBe(0);
  const engineFor = (_n: number, m: Record<string, unknown>) => {
    const engine = m['platform'] === 'linux/amd64' ? ENGINES[0]! : ENGINES[1]!;
    const pull = docker(['pull', '-q', '--platform', String(m['platform']), baseImage], { env: { DOCKER_HOST: engine } });
    expect(pull.code, pull.stderr).toBe(0);
    return engine;
  };
  const builds = await matrixJobs(wf, 'validate', validate, origin, {}, engineFor);
  return { validate, builds };
}

/** Every tag of a repository (read with the test's login); none when the registry has no such repository. */
async function tagsOf(repository: string): Promise<string[]> {
  const res = await fetch(`http://${e.registry}/v2/${repository}/tags/list`, { headers: { authorization: `Basic ${Buffer.from(`${e.user}:${e.password}`).toString('base64')}` } });
  if (res.status === 404) return [];
  expect(res.status, repository).toBe(200);
  return ((await res.json()) as { tags: string[] | null }).tags ?? [];
}

/** One workflow run on a push: plan, the build matrix across both engines at once, publish. */
async function workflowRun(wf: Workflow, origin: string, secrets: Record<string, string>): Promise<{ plan: JobResult; builds: MatrixRun[]; publish: JobResult }> {
  // A push to the default branch publishes: the pull-request jobs do not run.
  expect(wf.jobs['validate']!.if).toBe(`!(${PUBLISHES})`);
  expect(wf.jobs['plan']!.if).toBe(PUBLISHES);
  const plan = await runJob('plan', wf.jobs['plan']!, { origin, secrets });
  expect(plan.code, plan.log.slice(-3000)).toBe(0);
  const builds = await matrixJobs(wf, 'plan', plan, origin, secrets, (n) => ENGINES[n % ENGINES.length]!);
  const publish = await runJob('publish', wf.jobs['publish']!, { origin, secrets });
  expect(publish.code, publish.log.slice(-3000)).toBe(0);
  return { plan, builds, publish };
}

describe('the generated workflow, job by job on two engines', () => {
  const ns = `wf-${Date.now().toString(36)}`;
  let origin: string;
  let wf: Workflow;
  // The base image under this run's namespace: no other test's pull changes what its tag holds in an engine.
  const baseImage = `${e.registry}/${ns}/debian:bookworm`;
  const secrets = { E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password };

  beforeAll(() => {
    privateEngine('start');
    const copy = docker(['buildx', 'imagetools', 'create', '--tag', baseImage, e.baseImage]);
    expect(copy.code, copy.stderr).toBe(0);
    // The repository: the offline family, and the tool as a devDependency from `npm pack`.
    origin = tempDir('wf-origin-');
    cpSync(join(REPO, 'test', 'e2e', 'offline'), origin, { recursive: true });
    const manifest = join(origin, 'manifest.yaml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replaceAll('@REGISTRY@', e.registry).replaceAll('@NAMESPACE@', ns).replaceAll('@BASE_IMAGE@', baseImage));
    const packDir = tempDir('wf-pack-');
    const pack = spawnSync('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: REPO, encoding: 'utf8' });
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'))!;
    cpSync(join(packDir, tarball), join(origin, tarball));
    writeFileSync(join(origin, 'package.json'), JSON.stringify({ name: 'offline-images', private: true, devDependencies: { 'image-matrix-manager': `file:${tarball}` } }, null, 2));
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: origin, encoding: 'utf8', env: baseEnv() });
    expect(install.status, install.stderr).toBe(0);
    writeFileSync(join(origin, '.gitignore'), 'node_modules/\ngenerated/\n');
    git(origin, 'init', '-q', '-b', 'main');
    // The workflow as `ci github` writes it, committed with the rest.
    const w = cli(['ci', 'github', 'manifest.yaml', '--python-version', '3.11', '--write'], { cwd: origin });
    expect(w.code, w.stderr).toBe(0);
    git(origin, 'add', '-A');
    git(origin, 'commit', '-qm', 'images');
    wf = parse(readFileSync(join(origin, '.github', 'workflows', 'offline-app-images.yml'), 'utf8')) as Workflow;
  }, 600_000);

  it('a pull request, with no secret: every chain built and tested in the engines, nothing pushed', async () => {
    const { validate, builds } = await pullRequestRun(wf, origin, baseImage);
    // The registry refused the anonymous lookups, and the plan said what that means.
    expect(validate.log).toMatch(/^::warning::the registry could not answer for 6 builds; --assume-missing puts them in the matrix as if absent: .*HTTP 401/m);
    const graph = JSON.parse(cli(['graph', join(origin, 'manifest.yaml'), '--python-version', '3.11', '--format', 'json']).stdout) as { tasks: GraphTask[] };
    const task = new Map(graph.tasks.map((t) => [t.id, t]));
    expect(builds.map((b) => String(b.matrix['platform'])).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    expect(new Set(builds.map((b) => b.engine)).size).toBe(2);
    for (const b of builds) {
      const only = String(b.matrix['only']).split(',');
      const log = b.result.log;
      const what = `${String(b.matrix['name'])} on ${b.engine}`;
      expect(log, what).toMatch(/^✔ done: 3 built, \d+ ran, 0 skipped, 0 failed/m);
      for (const id of only.filter((x) => x.startsWith('build:'))) {
        expect(log, `${what}: ${id}`).toMatch(new RegExp(`^✔ built\\s+${id.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\b`, 'm'));
        // In the engine, under its staging tag, with the hash the plan gives it.
        const t = task.get(id)!;
        const ref = `${e.registry}/${ns}/offline-app-staging:build-${t.arches![0]}-${t.hash.slice(0, 32)}`;
        const label = docker(['image', 'inspect', '--format', '{{index .Config.Labels "org.image-matrix.hash"}}', ref], { env: { DOCKER_HOST: b.engine } });
        expect(label.stdout.trim(), `${what}: ${ref} ${label.stderr}`).toBe(t.hash);
      }
      const tests = only.filter((x) => x.startsWith('test:'));
      expect(tests.length, what).toBe(2);
      for (const id of tests) expect(log, `${what}: ${id}`).toMatch(new RegExp(`^✔ ran\\s+${id.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\b`, 'm'));
      // --load publishes nothing: no manifest task ran, and no tag was made.
      expect(log, what).not.toMatch(/^✔ ran\s+manifest:/m);
    }
    // Nothing reached the registry: no staging tag, no test record, no publication record, no public tag.
    const publicRefs = graph.tasks.filter((t) => t.kind === 'manifest').flatMap((t) => t.refs!);
    expect(publicRefs.length).toBeGreaterThan(0);
    const repos = new Set([`${ns}/offline-app-staging`, ...publicRefs.map((r) => r.slice(e.registry.length + 1).split(':')[0]!)]);
    for (const repo of repos) expect(await tagsOf(repo), repo).toEqual([]);
    expect(await tagsOf(`${ns}/debian`)).toEqual(['bookworm']);
  }, 1_500_000);

  it('plan → builds split across both engines → publish: every public ref a local build --all publishes, multi-arch, hash-labelled; a second run builds nothing', async () => {
    const first = await workflowRun(wf, origin, secrets);
    expect(first.builds.length).toBeGreaterThanOrEqual(2);
    expect(new Set(first.builds.map((b) => b.engine)).size).toBe(2);
    // What a local `build --all` of the same selection publishes, from its plan.
    const graph = JSON.parse(cli(['graph', join(origin, 'manifest.yaml'), '--python-version', '3.11', '--format', 'json']).stdout) as { tasks: { kind: string; refs?: string[]; platforms?: string[]; builds?: string[] }[] };
    const manifests = graph.tasks.filter((t) => t.kind === 'manifest');
    expect(manifests.length).toBe(3);
    for (const m of manifests) {
      for (const ref of m.refs!) {
        const raw = docker(['buildx', 'imagetools', 'inspect', '--raw', ref]);
        expect(raw.code, `${ref}: ${raw.stderr}`).toBe(0);
        const index = JSON.parse(raw.stdout) as { manifests: { platform?: { os: string; architecture: string } }[] };
        expect(index.manifests.filter((x) => x.platform && x.platform.os !== 'unknown').map((x) => `${x.platform!.os}/${x.platform!.architecture}`).sort(), ref).toEqual([...m.platforms!].sort());
        const labels = docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Image}}', ref]);
        expect(labels.stdout, ref).toContain('org.image-matrix.hash');
      }
    }
    // The second run: nothing changed, so the plan's matrix is empty and publish builds nothing.
    const again = await workflowRun(wf, origin, secrets);
    expect(again.builds).toEqual([]);
    // A fresh clone renders its generated tree (local files); no image is built, tested or merged.
    expect(again.publish.log).toMatch(/^✔ done: 0 built, \d+ ran, \d+ skipped, 0 failed, 0 cancelled, 0 blocked, 0 not started$/m);
    const ran = [...again.publish.log.matchAll(/^✔ ran\s+(\S+)/gm)].map((m) => m[1]!);
    expect(ran.length).toBeGreaterThan(0);
    expect(ran.filter((id) => !id.startsWith('render:'))).toEqual([]);
    expect(again.publish.log).not.toMatch(/^✔ built/m);
  }, 1_500_000);
});
