// `npm run bench`: every benchmark, each printed with its figures and the ratio against a
// named baseline measured in the same run. Medians of several runs; nothing here is a test.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlan } from '../core/plan/plan.ts';
import type { BuildTask, Task } from '../core/plan/task.ts';
import { generate } from '../tasks/generate.ts';
import { simulate } from '../test/helpers/simulate.ts';
import { criticalPath, phaseSchedule } from './simulate.ts';
import { syntheticSpec } from './synthetic.ts';
import { e2eEnv, e2eSpec, type E2EEnv } from '../test/helpers/e2e.ts';
import { stagingRepository, summaryTag } from '../core/plan/staging.ts';
import { parseImageRef } from '../core/base/image-ref.ts';
import { registryClient } from '../tasks/registry.ts';
import { flatSpec, seedRegistry } from './fresh.ts';
import { countingRegistry, seedDoneState } from './run-path.ts';

const REPO = join(import.meta.dirname, '..');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, d = 1) => n.toFixed(d);
/** Every temp dir a bench makes, removed when the process ends, whether the bench passed, threw or was interrupted. */
const made = new Set<string>();
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'manager-bench-'));
  made.add(dir);
  return dir;
};
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

/** When, and how busy the machine was: it is shared, so every figure carries its load. */
function stamp(): string {
  return `${new Date().toISOString().slice(0, 19).replace('T', ' ')} UTC, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (1, 5, 15 min; ${cpus().length} CPUs)`;
}

function header(title: string, baseline: string): void {
  console.log(`\n## ${title}\nbaseline: ${baseline}\nstarted: ${stamp()}`);
}

/** Runs one benchmark when it is wanted, and says when it ended and at what load. */
async function section(name: string, fn: () => Promise<void>): Promise<void> {
  if (!want(name)) return;
  await fn();
  console.log(`ended: ${stamp()}`);
}

function table(rows: (string | number)[][]): void {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(w[i]!)).join('  '));
}

function timeCmd(argv: string[], cwd = REPO, env: Record<string, string> = {}): { ms: number; code: number; stdout: string; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true', ...env }, maxBuffer: 64 << 20 });
  // A process that could not be started or was killed has no output: its error stands in.
  return { ms: performance.now() - t0, code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? `killed by ${r.signal}`) };
}

async function planning(): Promise<void> {
  header('1. Planning at scale (load + validate + expand + render + hash + order)', 'CPU ms per 1k build tasks at the ~1k size');
  const sizes = [
    { label: '~1k', distros: 5, pythons: 5, releases: 4, arches: 10 },
    { label: '~5k', distros: 25, pythons: 5, releases: 4, arches: 10 },
    { label: '~20k', distros: 50, pythons: 5, releases: 4, arches: 20 },
    { label: '~50k', distros: 50, pythons: 10, releases: 5, arches: 19 },
  ];
  const rows: (string | number)[][] = [['size', 'build tasks', 'all tasks', 'wall ms (median)', 'CPU ms (median)', 'peak RSS MB', 'CPU ms per 1k builds', 'vs ~1k']];
  let base = 0;
  for (const s of sizes) {
    const dir = tmp();
    const { manifest } = syntheticSpec(dir, s);
    const runs = Array.from({ length: RUNS }, () => JSON.parse(timeCmd([process.execPath, '--import', 'tsx', join(REPO, 'bench', 'plan-once.ts'), manifest]).stdout) as { ms: number; cpuMs: number; tasks: number; builds: number; maxRssMB: number });
    const ms = median(runs.map((r) => r.ms));
    const cpuMs = median(runs.map((r) => r.cpuMs));
    // Per 1k in CPU time: the machine these run on is shared, and wall time follows its load.
    const per1k = cpuMs / (runs[0]!.builds / 1000);
    if (!base) base = per1k;
    rows.push([s.label, runs[0]!.builds, runs[0]!.tasks, fmt(ms), fmt(cpuMs), fmt(median(runs.map((r) => r.maxRssMB))), fmt(per1k, 2), `${fmt(per1k / base, 2)}x`]);
    rmSync(dir, { recursive: true, force: true });
  }
  table(rows);
  console.log('targets: 20k build tasks under 2000 ms and 300 MB; CPU ms per 1k flat or falling (ratio at most 1.0x)');
}

async function graphOutput(): Promise<void> {
  header('1b. `graph --format json` at ~20k builds: the whole CLI, streamed output', '`graph --format tree` on the same spec (the plan alone, small output)');
  const dir = tmp();
  const { manifest } = syntheticSpec(dir, { distros: 50, pythons: 5, releases: 4, arches: 20 });
  const measure = (format: string) => {
    const runs = Array.from({ length: Math.min(RUNS, 3) }, () => {
      const r = timeCmd(['/usr/bin/time', '-f', '%M', process.execPath, '--import', 'tsx', join(REPO, 'orchestrate.ts'), 'graph', manifest, '--format', format]);
      return { ms: r.ms, rssMB: Number(r.stderr.trim().split('\n').pop()) / 1024, bytes: r.stdout.length };
    });
    return { ms: median(runs.map((r) => r.ms)), rssMB: median(runs.map((r) => r.rssMB)), bytes: runs[0]!.bytes };
  };
  const tree = measure('tree');
  const json = measure('json');
  table([
    ['format', 'wall ms (median)', 'peak RSS MB', 'stdout MB', 'RSS vs tree'],
    ['tree', fmt(tree.ms), fmt(tree.rssMB), fmt(tree.bytes / 1e6), '1.00x'],
    ['json', fmt(json.ms), fmt(json.rssMB), fmt(json.bytes / 1e6), `${fmt(json.rssMB / tree.rssMB, 2)}x`],
  ]);
  console.log('target: the whole CLI under 300 MB with JSON at this size');
  rmSync(dir, { recursive: true, force: true });
}

const COSTS: Record<string, number> = { base: 10, runtime: 4, cudnn: 15, devel: 6, 'devel-trt': 12 };

async function scheduling(): Promise<void> {
  header('3. Scheduling the full bento-server graph (simulated executor, real scheduler)', 'lower bound max(critical path, total work / workers)');
  const plan = loadPlan(join(REPO, 'examples', 'bento-server', 'manifest.yaml'));
  const tasks = [...plan.tasks.values()];
  const cost = (id: string): number => {
    const t = plan.tasks.get(id)!;
    if (t.kind === 'build') return (COSTS[t.release] ?? 5) * (t.arches[0] === 'amd64' ? 1 : 3); // QEMU is ~3x slower
    return { render: 0.01, test: 1, manifest: 0.2, readme: 0.1 }[t.kind as 'render' | 'test' | 'manifest' | 'readme'];
  };
  const deps = new Map(tasks.map((t) => [t.id, t.deps]));
  const total = tasks.reduce((n, t) => n + cost(t.id), 0);
  const cp = criticalPath(deps, cost);
  // Stages a per-stage thread pool would run: renders, then each release depth's builds, then
  // their tests, then manifests, then READMEs.
  const depth = (t: BuildTask): number => (t.parentBuild ? 1 + depth(plan.tasks.get(t.parentBuild) as BuildTask) : 0);
  const stages: string[][] = [tasks.filter((t) => t.kind === 'render').map((t) => t.id)];
  const maxDepth = Math.max(...tasks.filter((t): t is BuildTask => t.kind === 'build').map(depth));
  for (let d = 0; d <= maxDepth; d++) {
    stages.push(tasks.filter((t): t is BuildTask => t.kind === 'build' && depth(t) === d).map((t) => t.id));
    stages.push(tasks.filter((t: Task) => t.kind === 'test' && depth(plan.tasks.get(t.build) as BuildTask) === d).map((t) => t.id));
  }
  stages.push(tasks.filter((t) => t.kind === 'manifest').map((t) => t.id), tasks.filter((t) => t.kind === 'readme').map((t) => t.id));
  const rows: (string | number)[][] = [['workers', 'lower bound', 'manager', 'vs lower bound', 'phase-by-phase', 'phase vs manager']];
  for (const w of [2, 5, 16]) {
    const lb = Math.max(cp, total / w);
    const ours = (await simulate(deps, cost, { workers: w })).makespan;
    const phased = phaseSchedule(stages, cost, w);
    rows.push([w, fmt(lb), fmt(ours), `${fmt(ours / lb, 3)}x`, fmt(phased), `${fmt(phased / ours, 2)}x`]);
  }
  table(rows);
  console.log(`${tasks.length} tasks, total work ${fmt(total)}, critical path ${fmt(cp)} (cost units: base 10, runtime 4, cudnn 15, devel 6, devel-trt 12; x3 under QEMU)`);
  console.log('target: within 5% of the lower bound (ratio <= 1.05x)');
  // The scheduler's own cost on a large graph (virtual clock: the time is all decisions).
  const dir = tmp();
  const big = loadPlan(syntheticSpec(dir, { distros: 50, pythons: 5, releases: 4, arches: 20 }).manifest);
  const bigDeps = new Map([...big.tasks.values()].map((t) => [t.id, t.deps]));
  const times = Array.from({ length: 3 }, () => 0);
  for (let i = 0; i < times.length; i++) {
    const t0 = performance.now();
    await simulate(bigDeps, () => 1, { workers: 5 });
    times[i] = performance.now() - t0;
  }
  console.log(`scheduling ${big.tasks.size} tasks (the ~20k planning graph) on the virtual clock: ${fmt(median(times))} ms, ${fmt((median(times) * 1000) / big.tasks.size, 1)} µs per task`);
  rmSync(dir, { recursive: true, force: true });
}

async function generateBench(): Promise<void> {
  header('5. generate bento-server (in process: plan + write)', 'the cold generate');
  const cold: number[] = [];
  const noop: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const out = tmp();
    let t0 = performance.now();
    generate(loadPlan(join(REPO, 'examples', 'bento-server', 'manifest.yaml')), { packageDir: join(out, 'bento-server'), dockerfiles: true, docs: true, metadata: false, overwrite: false });
    cold.push(performance.now() - t0);
    t0 = performance.now();
    const r = generate(loadPlan(join(REPO, 'examples', 'bento-server', 'manifest.yaml')), { packageDir: join(out, 'bento-server'), dockerfiles: true, docs: true, metadata: false, overwrite: false });
    noop.push(performance.now() - t0);
    if (r.written.length) throw new Error('no-op generate wrote files');
    rmSync(out, { recursive: true, force: true });
  }
  const cli = Array.from({ length: 3 }, () => {
    const out = tmp();
    const r = manager(['generate', 'bento-server', '--output', out], REPO);
    rmSync(out, { recursive: true, force: true });
    return r.ms;
  });
  table([
    ['run', 'ms (median)', 'vs cold'],
    ['cold', fmt(median(cold)), '1.00x'],
    ['no-op rerun', fmt(median(noop)), `${fmt(median(noop) / median(cold), 2)}x`],
    ['cold, whole CLI process', fmt(median(cli)), `${fmt(median(cli) / median(cold), 2)}x`],
  ]);
}

/** Like timeCmd, without blocking this process (a server here must keep answering), with CPU time and peak RSS. */
function timeAsync(argv: string[], cwd: string, env: Record<string, string> = {}): Promise<{ ms: number; code: number; stdout: string; stderr: string; rssMB: number; cpuMs: number }> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const p = spawn('/usr/bin/time', ['-f', '%U %S %M', ...argv], { cwd, env: { ...process.env, CI: 'true', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('error', fail);
    p.on('close', (code) => {
      const lines = stderr.trimEnd().split('\n');
      const [user, sys, rss] = lines.pop()!.split(' ').map(Number);
      done({ ms: performance.now() - t0, code: code ?? -1, stdout, stderr: lines.join('\n'), rssMB: rss! / 1024, cpuMs: (user! + sys!) * 1000 });
    });
  });
}

async function runPath(): Promise<void> {
  header('2b. Run path at scale: a no-op `build --all` (default flags) with every task recorded in the state file, and its --dry-run', 'ms per 1k tasks at the ~1k size');
  const sizes = [
    { label: '~1k', distros: 5, pythons: 5, releases: 4, arches: 8 },
    { label: '~5k', distros: 12, pythons: 5, releases: 4, arches: 20 },
    { label: '~20k', distros: 25, pythons: 10, releases: 4, arches: 19 },
    { label: '~50k', distros: 50, pythons: 10, releases: 5, arches: 19 },
  ].filter((s) => !process.env['BENCH_RUN_PATH_MAX'] || s.distros * s.pythons * s.releases * s.arches <= Number(process.env['BENCH_RUN_PATH_MAX']));
  const registry = await countingRegistry();
  const rows: (string | number)[][] = [['size', 'tasks', 'run', 'wall ms (median)', 'CPU ms (median)', 'peak RSS MB', 'ms per 1k tasks', 'vs ~1k', 'docker processes per run', 'registry requests per run']];
  const base: Record<string, number> = {};
  try {
    for (const s of sizes) {
      const dir = tmp();
      const { manifest } = syntheticSpec(dir, { ...s, registry: registry.host });
      const generated = join(dir, 'generated');
      const g = manager(['generate', manifest, '--output', generated], dir);
      if (g.code !== 0) throw new Error(`generate failed:\n${g.stderr.slice(-2000)}`);
      const { tasks } = seedDoneState(manifest, generated);
      // The largest sizes take tens of seconds a run before the fix: fewer runs there.
      const runs = tasks > 10_000 ? 1 : Math.min(RUNS, 3);
      for (const [run, extra] of [['no-op', []], ['--dry-run', ['--dry-run']]] as const) {
        const shim = countingDocker();
        const before = registry.requests();
        const results = [];
        for (let i = 0; i < runs; i++) {
          const r = await timeAsync([process.execPath, process.env['BENCH_MANAGER'] ?? join(REPO, 'bin', 'manager.js'), 'build', manifest, '--all', '--output', generated, ...extra], dir, shim.env);
          if (r.code !== 0) throw new Error(`${s.label} ${run} failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
          // A no-op it must be: anything to run would measure docker, not the run path.
          const skipped = run === 'no-op' ? /✔ done: 0 built, 0 ran, (\d+) skipped, 0 failed/.exec(r.stdout)?.[1] : String(r.stdout.split('\n').filter((l) => l.startsWith('skip ')).length);
          if (Number(skipped) !== tasks) throw new Error(`${s.label} ${run}: expected ${tasks} skipped tasks, got ${skipped ?? 'none'}:\n${r.stdout.slice(-1000)}`);
          results.push(r);
        }
        const ms = median(results.map((r) => r.ms));
        const per1k = ms / (tasks / 1000);
        base[run] ??= per1k;
        rows.push([s.label, tasks, run, fmt(ms), fmt(median(results.map((r) => r.cpuMs))), fmt(median(results.map((r) => r.rssMB))), fmt(per1k, 1), `${fmt(per1k / base[run]!, 2)}x`, fmt(shim.calls() / runs, 1), fmt((registry.requests() - before) / runs, 1)]);
        console.log(`  ${rows.at(-1)!.join(' | ')}`);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await registry.close();
  }
  table(rows);
  console.log('targets: ms per 1k tasks flat from ~1k to ~50k (ratio near 1.0x); ~50k no-op under 3,000 ms and 400 MB; no docker process and no registry request on the no-op (the dry run asks the registry once, whether it answers)');
}

/** The e2e environment when it is there; benchmarks skip what needs it rather than fail. */
function benchEnv(): E2EEnv | undefined {
  try {
    return e2eEnv();
  } catch {
    return undefined;
  }
}

// The installed command, as users run it (the bundle when it is current).
const manager = (args: string[], cwd: string, env: Record<string, string> = {}) => timeCmd([process.execPath, join(REPO, 'bin', 'manager.js'), ...args], cwd, env);

/** BuildKit 0.8 fails a bake of more than ~50 targets in one call ("no such job"). */
const BAKE_CHUNK = 40;
const BAKE_HOW = `level by level, at most ${BAKE_CHUNK} targets per \`docker buildx bake\` call (BuildKit 0.8 fails larger bakes with "no such job")`;

/** Bakes an exported file level by level (a level's parents are pushed by the level before), in chunks of BAKE_CHUNK targets. */
function bakeLevels(file: string, cwd: string): { ms: number; code: number; calls: number; stderr: string } {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { group: Record<string, { targets: string[] }> };
  const levels = Object.keys(doc.group).filter((g) => /^level\d+$/.test(g)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  let ms = 0;
  let calls = 0;
  for (const l of levels) {
    const targets = doc.group[l]!.targets;
    for (let i = 0; i < targets.length; i += BAKE_CHUNK) {
      const r = timeCmd(['docker', 'buildx', 'bake', '-f', file, ...targets.slice(i, i + BAKE_CHUNK)], cwd);
      ms += r.ms;
      calls++;
      if (r.code !== 0) return { ms, code: r.code, calls, stderr: r.stderr };
    }
  }
  return { ms, code: 0, calls, stderr: '' };
}

/** A PATH with a `docker` that counts its own invocations, for "no docker process" claims. */
function countingDocker(): { env: Record<string, string>; calls: () => number } {
  const dir = tmp();
  const real = spawnSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(join(dir, 'docker'), `#!/bin/sh\necho "$*" >> ${dir}/calls\nexec ${real} "$@"\n`);
  chmodSync(join(dir, 'docker'), 0o755);
  return { env: { PATH: `${dir}:${process.env['PATH']}` }, calls: () => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').length : 0) };
}

/** One family's no-op reruns: with the state file, and as a fresh runner (new output dir, no state). */
function noopRow(label: string, manifest: string, dir: string, generated: string, env: Record<string, string>, bakeFile?: string): (string | number)[] {
  const ours: number[] = [];
  const fresh: number[] = [];
  const bake: number[] = [];
  let skippedAll = true;
  const shim = countingDocker();
  const stateShim = countingDocker();
  for (let i = 0; i < RUNS; i++) {
    // The flags a user runs: the default --multi-platform auto included.
    const r = manager(['build', manifest, '--all', '--output', generated, '--json'], dir, { ...env, ...stateShim.env });
    ours.push(r.ms);
    const f = manager(['build', manifest, '--all', '--output', join(tmp(), 'generated'), '--json'], dir, { ...env, ...shim.env });
    fresh.push(f.ms);
    if (f.code !== 0) throw new Error(`${label}: the fresh-runner no-op failed (exit ${f.code}):\n${f.stderr.slice(-2000)}`);
    const rows = (JSON.parse(f.stdout) as { tasks: { kind: string; status: string }[] }).tasks;
    if (rows.some((x) => x.kind !== 'render' && x.status !== 'skipped')) skippedAll = false;
    if (bakeFile) bake.push(bakeLevels(bakeFile, dir).ms);
  }
  const b = bakeFile ? median(bake) : undefined;
  return [
    label,
    b === undefined ? 'not run' : fmt(b),
    fmt(median(ours)),
    fmt(median(fresh)),
    b === undefined ? '-' : `${fmt(b / median(fresh), 1)}x`,
    fmt(stateShim.calls() / RUNS, 1),
    fmt(shim.calls() / RUNS, 1),
    skippedAll ? 'yes' : 'NO',
  ];
}

async function noopRerun(e: E2EEnv): Promise<void> {
  header('2. No-op rerun, with the state file and on a fresh runner (no state file: the registry is the only record)', `docker buildx bake of the same targets on the same engine (every step a cache hit), ${BAKE_HOW}`);
  const env = { E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password };
  const rows: (string | number)[][] = [['targets', 'bake ms', 'manager ms (state file)', 'manager ms (fresh runner)', 'fresh vs bake', 'docker processes per no-op (state file)', 'docker processes per no-op (fresh)', 'all skipped']];
  // Each row as soon as it is measured: the larger families take minutes to set up.
  const print = (row: (string | number)[]) => {
    rows.push(row);
    console.log(`  ${row.join(' | ')}`);
  };
  // 12 targets: the e2e family, built for real.
  const s = e2eSpec(e, `bench-noop-${Date.now().toString(36)}`);
  const first = manager(['build', s.manifest, '--all', '--output', s.generated], s.dir, env);
  if (first.code !== 0) throw new Error(`initial build failed:\n${first.stderr.slice(-2000)}`);
  manager(['bake', s.manifest, '--all', '--output', s.generated, '--file', join(s.dir, 'bake.json')], s.dir);
  print(noopRow('12 (e2e family)', s.manifest, s.dir, s.generated, env, join(s.dir, 'bake.json')));
  // 200 targets: 50 × 4 trivial images, built for real.
  const d200 = tmp();
  const m200 = flatSpec(d200, { pythons: 50, releases: 4, registry: e.registry, namespace: `bench-200-${Date.now().toString(36)}`, baseImage: e.baseImage });
  const g200 = join(d200, 'generated');
  const built = manager(['build', m200, '--all', '--multi-platform', 'split', '--output', g200], d200, env);
  if (built.code !== 0) throw new Error(`200-target build failed:\n${built.stderr.slice(-2000)}`);
  manager(['bake', m200, '--all', '--output', g200, '--file', join(d200, 'bake.json')], d200);
  print(noopRow('200 (50 × 4 images)', m200, d200, g200, env, join(d200, 'bake.json')));
  // 1,000 targets: the registry seeded with what a finished run leaves there (building 1,000 images would take an hour).
  const d1k = tmp();
  const m1k = flatSpec(d1k, { pythons: 250, releases: 4, registry: e.registry, namespace: `bench-1k-${Date.now().toString(36)}`, baseImage: e.baseImage });
  const plan = loadPlan(m1k);
  const client = registryClient();
  const t0 = performance.now();
  await seedRegistry(plan, client, stagingRepository(plan)!);
  await client.close();
  console.log(`(seeded the registry for 1,000 targets in ${fmt((performance.now() - t0) / 1000)} s)`);
  const g1k = join(d1k, 'generated');
  manager(['build', m1k, '--all', '--multi-platform', 'split', '--output', g1k], d1k, env);
  print(noopRow('1,000 (250 × 4, seeded)', m1k, d1k, g1k, env));
  table(rows);
  console.log('targets: fresh runner 10x faster than bake at 12 targets, 20x at 200; 1,000 targets under 5,000 ms; no docker process on a no-op');
}

/** Runs `manager` with the request counter preloaded (bench/count-requests.mjs): its time, exit code and registry requests. */
function countedManager(args: string[], cwd: string, env: Record<string, string>): { ms: number; code: number; stdout: string; stderr: string; requests: number } {
  const file = join(tmp(), 'requests');
  const r = manager(args, cwd, { ...env, MANAGER_COUNT_REQUESTS: file, NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import=${join(REPO, 'bench', 'count-requests.mjs')}`.trim() });
  return { ...r, requests: existsSync(file) ? Number(readFileSync(file, 'utf8')) : NaN };
}

/**
 * A fresh runner against a warm one, on families seeded in the registry as a finished run
 * leaves them: the no-op with the state file, with none (the package's summary answers), and
 * with none and no summary (each manifest's own record answers, as before the summary).
 */
async function freshRunner(e: E2EEnv): Promise<void> {
  header('2c. Fresh runner vs state file: a no-op `build --all` (default flags) with no state file, on a seeded family', 'the same no-op with the state file');
  const env = { E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password };
  const sizes = (process.env['BENCH_FRESH_SIZES'] ?? '200,1000').split(',').map(Number);
  const rows: (string | number)[][] = [['images', 'state file ms', 'fresh ms (summary)', 'fresh vs state', 'requests (summary)', 'fresh ms (per-image records)', 'requests (per-image)', 'requests (state file)']];
  for (const n of sizes) {
    const dir = tmp();
    const m = flatSpec(dir, { pythons: n / 4, releases: 4, registry: e.registry, namespace: `bench-fresh-${n}-${Date.now().toString(36)}`, baseImage: e.baseImage });
    const plan = loadPlan(m);
    const staging = stagingRepository(plan)!;
    const client = registryClient();
    const t0 = performance.now();
    await seedRegistry(plan, client, staging);
    console.log(`(seeded ${n} images in ${fmt((performance.now() - t0) / 1000)} s)`);
    const generated = join(dir, 'generated');
    const first = manager(['build', m, '--all', '--output', generated], dir, env);
    if (first.code !== 0) throw new Error(`${n}: the first no-op failed:\n${first.stderr.slice(-2000)}`);
    const measure = (state: boolean) => {
      const runs = Array.from({ length: RUNS }, () => {
        const r = countedManager(['build', m, '--all', '--output', state ? generated : join(tmp(), 'generated'), '--json'], dir, env);
        if (r.code !== 0) throw new Error(`${n}: a no-op failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
        const rows = (JSON.parse(r.stdout) as { tasks: { kind: string; status: string }[] }).tasks;
        if (rows.some((x) => x.kind !== 'render' && x.status !== 'skipped')) throw new Error(`${n}: not a no-op:\n${r.stdout.slice(-1000)}`);
        return r;
      });
      return { ms: median(runs.map((r) => r.ms)), requests: median(runs.map((r) => r.requests)) };
    };
    const warm = measure(true);
    const fresh = measure(false);
    // Without the summary: each manifest's own record, as every fresh runner did before it.
    const s = parseImageRef(staging);
    const head = await client.head({ host: s.host, repository: s.repository, tag: summaryTag(plan.spec.package) });
    if (head) await client.deleteManifest(s.host, s.repository, head.digest);
    await client.close();
    const perImage = measure(false);
    rows.push([n, fmt(warm.ms), fmt(fresh.ms), `${fmt(fresh.ms / warm.ms, 2)}x`, fresh.requests, fmt(perImage.ms), perImage.requests, warm.requests]);
    console.log(`  ${rows.at(-1)!.join(' | ')}`);
    rmSync(dir, { recursive: true, force: true });
  }
  table(rows);
  console.log('targets: fresh runner within 1.5x of the state-file no-op at 200 and 1,000 images, in a constant number of registry requests');
}

/**
 * The 200-image flat family built, then changed: an edit reaching 150 of its 200 images (the
 * r1 template, which r2 and r3 build FROM), and one reaching 20 (five python values renamed:
 * their four-image chains). Each tool gets a change of its own, so both do real work and neither
 * finds the other's images in the cache; bake bakes the whole exported tree, as its user would.
 */
async function bigChange(e: E2EEnv): Promise<void> {
  header('2d. Most of the tree changed: `build --all` (default flags) on the 200-image family after an edit reaching 150 images, and one reaching 20', `docker buildx bake of the same exported targets after the same kind of edit, ${BAKE_HOW}; the bake time is the bake calls alone (not the export)`);
  const env = { E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password };
  const dir = tmp();
  const m = flatSpec(dir, { pythons: 50, releases: 4, registry: e.registry, namespace: `bench-big-${Date.now().toString(36)}`, baseImage: e.baseImage, maxWorkers: null });
  const generated = join(dir, 'generated');
  const r1 = join(dir, 'templates', 'debian', 'r1.Dockerfile.eta');
  const template = readFileSync(r1, 'utf8');
  const spec = readFileSync(m, 'utf8');
  const nonce = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const editTemplate = () => writeFileSync(r1, `${template}LABEL bench.edit="${nonce()}"\n`);
  // The first five values of the python list only (the spec's version is a "1.0" too).
  const renamePythons = () => {
    const n = nonce();
    writeFileSync(m, spec.replace(/^python: \[(.*)\]$/m, (_, list: string) => `python: [${list.split(', ').map((v, i) => (i < 5 ? v.replace(/"$/, `-${n}"`) : v)).join(', ')}]`));
  };
  const ours = (what: string) => {
    const r = manager(['build', m, '--all', '--output', generated, '--json'], dir, env);
    if (r.code !== 0) throw new Error(`${what}: build failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
    const doc = JSON.parse(r.stdout) as { tasks: { kind: string; status: string }[]; workers?: { count: number; reason: string } };
    const built = doc.tasks.filter((x) => x.kind === 'build' && x.status === 'built').length;
    console.log(`  ${what}: manager ${fmt(r.ms / 1000)} s, ${built} built, workers ${doc.workers ? `${doc.workers.count} (${doc.workers.reason})` : 'not reported'} [${stamp()}]`);
    return { ms: r.ms, built, workers: doc.workers?.count };
  };
  const theirs = (what: string) => {
    const file = join(dir, 'bake.json');
    for (const args of [['generate', m, '--output', generated], ['bake', m, '--all', '--output', generated, '--file', file]]) {
      const r = manager(args, dir, env);
      if (r.code !== 0) throw new Error(`${what}: manager ${args[0]} failed:\n${r.stderr.slice(-2000)}`);
    }
    const b = bakeLevels(file, dir);
    if (b.code !== 0) throw new Error(`${what}: bake failed:\n${b.stderr.slice(-2000)}`);
    console.log(`  ${what}: bake ${fmt(b.ms / 1000)} s in ${b.calls} calls [${stamp()}]`);
    return b;
  };
  ours('the first build (all 200)');
  editTemplate();
  const big = ours('150 of 200 changed');
  renamePythons();
  const small = ours('20 of 200 changed');
  // bake's own changes: the template edited again, then other python names.
  writeFileSync(m, spec);
  editTemplate();
  const bigBake = theirs('150 of 200 changed');
  renamePythons();
  const smallBake = theirs('20 of 200 changed');
  table([
    ['images changed', 'bake ms', 'manager ms', 'manager vs bake', 'manager built', 'workers', 'manager ms per changed image'],
    ['150 of 200 (75 %)', fmt(bigBake.ms), fmt(big.ms), `${fmt(bigBake.ms / big.ms, 2)}x`, big.built, big.workers ?? '-', fmt(big.ms / big.built)],
    ['20 of 200 (10 %)', fmt(smallBake.ms), fmt(small.ms), `${fmt(smallBake.ms / small.ms, 2)}x`, small.built, small.workers ?? '-', fmt(small.ms / small.built)],
  ]);
  console.log(`manager's time for the small change is ${fmt((100 * small.ms) / big.ms)} % of its time for the large one (images built: ${fmt((100 * small.built) / big.built)} %); one run each (a run is minutes)`);
  console.log('target: manager >= 1.2x bake at 150 of 200 changed, and its time proportional to what changed');
  rmSync(dir, { recursive: true, force: true });
}

async function coldBuild(e: E2EEnv): Promise<void> {
  header('4. Cold build of the e2e test spec, --max-workers 2 (fresh namespace, builder cache pruned)', `docker buildx bake of the same exported targets, ${BAKE_HOW}`);
  const runsCold = Number(process.env['BENCH_COLD_RUNS'] ?? 2);
  const ours: number[] = [];
  const ours4: number[] = [];
  const bake: number[] = [];
  const coldManager = async (workers: number, i: number): Promise<number> => {
    timeCmd(['docker', 'buildx', 'prune', '-af']);
    const s = e2eSpec(e, `bench-cold${workers}-${Date.now().toString(36)}-${i}`);
    const r = manager(['build', s.manifest, '--all', '--max-workers', String(workers), '--output', s.generated, '--json'], s.dir);
    if (r.code !== 0) throw new Error(`cold build failed:\n${r.stderr.slice(-2000)}`);
    return r.ms;
  };
  for (let i = 0; i < runsCold; i++) {
    ours.push(await coldManager(2, i));
    // bake runs every target of a level at once; 4 workers matches its widest level.
    ours4.push(await coldManager(4, i));
    // Same targets for bake, in a namespace of their own, from a pruned cache.
    timeCmd(['docker', 'buildx', 'prune', '-af']);
    const b = e2eSpec(e, `bench-coldbake-${Date.now().toString(36)}-${i}`);
    manager(['generate', b.manifest, '--output', b.generated], b.dir);
    manager(['bake', b.manifest, '--all', '--output', b.generated, '--file', join(b.dir, 'bake.json')], b.dir);
    const br = bakeLevels(join(b.dir, 'bake.json'), b.dir);
    if (br.code !== 0) throw new Error(`bake failed:\n${br.stderr.slice(-2000)}`);
    bake.push(br.ms);
  }
  table([
    ['tool', 'ms (median)', 'ratio vs bake'],
    ['docker buildx bake (per level)', fmt(median(bake)), '1.00x'],
    ['manager build --max-workers 2', fmt(median(ours)), `${fmt(median(ours) / median(bake), 2)}x`],
    ['manager build --max-workers 4 (bake\'s parallelism)', fmt(median(ours4)), `${fmt(median(ours4) / median(bake), 2)}x`],
  ]);
  console.log('target: ratio <= 1.0 (manager also runs the 8 image tests and 6 manifest merges bake does not)');
}

async function overheadBench(e: E2EEnv): Promise<void> {
  header('4b. Orchestration overhead per task (time not spent inside docker)', 'none: absolute, from a no-op run of the e2e spec');
  const s = e2eSpec(e, `bench-ovh-${Date.now().toString(36)}`);
  manager(['build', s.manifest, '--all', '--output', s.generated], s.dir);
  // With --no-registry-check and a full state file, a rerun runs no program at all: its
  // whole time is orchestration (process start, planning, state, listr2), spread over tasks.
  const walls: number[] = [];
  let n = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = manager(['build', s.manifest, '--all', '--output', s.generated, '--json', '--no-registry-check'], s.dir);
    walls.push(r.ms);
    n = (JSON.parse(r.stdout) as { tasks: unknown[] }).tasks.length;
  }
  const startup = median(Array.from({ length: RUNS }, () => manager(['--version'], s.dir).ms));
  table([
    ['measure', 'ms'],
    ['whole no-op run (median)', fmt(median(walls))],
    ['of which process start (manager --version)', fmt(startup)],
    [`per task (${n} tasks), excluding process start`, fmt((median(walls) - startup) / n, 2)],
  ]);
  console.log('target: under 50 ms per task');
}

async function platformsBench(e: E2EEnv): Promise<void> {
  header('4c. Cold build of the offline spec on the containerd-store engine: one build per image (single) vs per platform (split), --max-workers 2', 'split, same engine, builder cache pruned before each run');
  const onPrivate = { DOCKER_HOST: e.privateEngine };
  const runsCold = Number(process.env['BENCH_COLD_RUNS'] ?? 2);
  const cold = (mode: 'split' | 'single', i: number) => {
    timeCmd(['docker', 'buildx', 'prune', '-af'], REPO, onPrivate);
    const s = e2eSpec(e, `bench-mp-${mode}-${Date.now().toString(36)}-${i}`, 'offline');
    const r = manager(['build', s.manifest, '--all', '--multi-platform', mode, '--max-workers', '2', '--output', s.generated, '--json'], s.dir, {
      ...onPrivate,
      E2E_REGISTRY_USER: e.user,
      E2E_REGISTRY_PASSWORD: e.password,
    });
    if (r.code !== 0) throw new Error(`${mode} build failed:\n${r.stderr.slice(-2000)}`);
    const rows = (JSON.parse(r.stdout) as { tasks: { kind: string; status: string }[] }).tasks;
    return { ms: r.ms, builds: rows.filter((x) => x.kind === 'build' && x.status === 'built').length };
  };
  const split: number[] = [];
  const single: number[] = [];
  let calls = { split: 0, single: 0 };
  for (let i = 0; i < runsCold; i++) {
    const a = cold('split', i);
    const b = cold('single', i);
    split.push(a.ms);
    single.push(b.ms);
    calls = { split: a.builds, single: b.builds };
  }
  table([
    ['strategy', 'buildx builds', 'ms (median)', 'ratio vs split'],
    ['split (per platform, then imagetools merge)', calls.split, fmt(median(split)), '1.00x'],
    ['single (--platform amd64,arm64, index copied)', calls.single, fmt(median(single)), `${fmt(median(single) / median(split), 2)}x`],
  ]);
  console.log('the Dockerfiles are one RUN each, so this measures what a build costs around its steps (context, base pull, export, push), not compile time');
}

console.log(`# manager benchmarks (${RUNS} runs each, medians; ${process.version}; ${stamp()})`);
await section('planning', planning);
await section('graph-json', graphOutput);
await section('scheduling', scheduling);
await section('generate', generateBench);
await section('run-path', runPath);
const e = benchEnv();
if (!e) console.log('\n(no engine or registry: skipping the no-op, big-change, overhead and cold-build benchmarks; run scripts/provision-test-env.sh)');
else {
  await section('noop', () => noopRerun(e));
  await section('fresh', () => freshRunner(e));
  await section('big-change', () => bigChange(e));
  await section('overhead', () => overheadBench(e));
  await section('cold', () => coldBuild(e));
  await section('platforms', () => platformsBench(e));
}
