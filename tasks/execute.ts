// apply-plan for images: runs the selected tasks of a plan against a real engine. The
// scheduler decides when each task may start; listr2 runs and shows them.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Listr, type ListrTaskWrapper } from 'listr2';
import { WorkError } from '../core/errors.ts';
import { diffParts, short } from '../core/hash.ts';
import type { Plan } from '../core/plan.ts';
import { redactor } from '../core/redact.ts';
import type { BuildTask, ManifestTask, ReadmeTask, RenderTask, Task, TestTask } from '../core/task.ts';
import { hasContent, writeFileAtomic } from './atomic.ts';
import {
  HASH_LABEL,
  TASK_LABEL,
  buildArgv,
  holdsExactly,
  imagetoolsCreateArgv,
  imagetoolsInspectArgv,
  isEngineDown,
  parseManifestJson,
  parseMetadataFile,
  runTestArgv,
  supportsCacheExport,
  type BuilderInfo,
  type CacheOptions,
  type ManifestInfo,
} from './buildx.ts';
import { inspectBuilder } from './builders.ts';
import { killAll, run, type RunResult } from './runner.ts';
import { retry, retryableDockerError } from './retry.ts';
import { stagedWithHash } from './staged.ts';
import { Scheduler, type Final } from './scheduler.ts';
import { localRepository, logFileName, stagingRef, stagingRepository } from './staging.ts';
import { readState, record, writeState, type StateFile, type TaskRecord } from './state.ts';

export type Renderer = 'default' | 'simple' | 'silent' | 'test';

export interface ExecuteOptions {
  packageDir: string;
  logDir: string;
  selected: Set<string>;
  mode: 'push' | 'load';
  maxWorkers: number;
  dryRun: boolean;
  force: boolean;
  keepGoing: boolean;
  atomic: boolean;
  builder?: string;
  /** The builder as already inspected (to choose the multi-platform strategy): not asked again. */
  builderInfo?: BuilderInfo;
  stagingRepository?: string;
  provenance?: string;
  sbom?: string;
  /** Run image tests even when they passed on this image before (`manager test`). */
  retest?: boolean;
  /** Overrides every task's timeout (seconds). */
  timeoutSec?: number;
  /** With push: trust the registry's hash labels when the state file has no record. */
  registryCheck: boolean;
  renderer: Renderer;
  /** VCS revision of the spec, for the org.opencontainers.image.revision label (not hashed). */
  revision?: string;
  /** Pushes one README; provided by the registries layer. */
  pushReadme?: (task: ReadmeTask, readme: string, log: (line: string) => void) => Promise<void>;
  /** Progress lines for the non-listr parts (preflight, dry run). */
  log: (line: string) => void;
}

export type TaskStatus = 'built' | 'ran' | 'skipped' | 'failed' | 'blocked' | 'cancelled' | 'timed-out';

export interface TaskResult {
  id: string;
  kind: Task['kind'];
  status: TaskStatus;
  reason?: string;
  durationMs: number;
  hash: string;
  digest?: string;
  ref?: string;
  log?: string;
}

export interface Summary {
  ok: boolean;
  results: TaskResult[];
  builder?: BuilderInfo;
  /** The signal that interrupted the run, if one did. */
  interrupted?: NodeJS.Signals;
  /** Set when the engine was unreachable at the end of a failed run. */
  engineLost?: string;
}

interface Decision {
  skip: boolean;
  reason: string;
  rec?: TaskRecord;
}

const COST: Record<Task['kind'], number> = { render: 0.01, build: 30, test: 3, manifest: 1, readme: 0.5 };
const HOST_PLATFORM = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;

/**
 * Seconds a task is expected to take: its last recorded duration, else a guess by kind, with
 * builds for emulated platforms (QEMU) several times slower than native ones.
 */
export function estimatedCost(t: Task, recordedMs?: number): number {
  if (recordedMs !== undefined) return recordedMs / 1000;
  if (t.kind === 'build') return t.platforms.reduce((s, p) => s + COST.build * (p === HOST_PLATFORM ? 1 : 4), 0);
  return COST[t.kind];
}

export async function execute(plan: Plan, opts: ExecuteOptions): Promise<Summary> {
  const ordered = plan.order.filter((id) => opts.selected.has(id)).map((id) => plan.tasks.get(id)!);
  const state = readState(opts.packageDir);
  const repo = stagingRepository(plan, opts.stagingRepository);
  if (opts.mode === 'push' && !repo && ordered.some((t) => t.kind === 'build')) {
    throw new WorkError('nothing to push to: the spec publishes to no registry (set "publish", or build with --load)');
  }
  const stagingRepo = repo ?? localRepository(plan);
  const ctx = new RunContext(plan, opts, state, stagingRepo);

  if (opts.dryRun) return dryRun(ctx, ordered);

  const needsEngine = ordered.some((t) => t.kind !== 'render' && t.kind !== 'readme');
  if (needsEngine) ctx.builder = opts.builderInfo ?? (await inspectBuilder(opts.builder));
  const wanted = [...new Set(ordered.filter((t): t is BuildTask => t.kind === 'build').flatMap((t) => t.platforms))];
  const missing = ctx.builder ? wanted.filter((p) => !platformSupported(ctx.builder!, p)) : [];
  if (missing.length && ctx.builder) {
    throw new WorkError(
      `builder "${ctx.builder.name}" (driver ${ctx.builder.driver}) cannot build ${missing.join(', ')}: no emulator or node for ${missing.length === 1 ? 'it' : 'them'}`,
      `Supported: ${ctx.builder.platforms.join(', ') || 'none reported'}.\nRegister QEMU with \`manager setup-qemu\`, or add a native node with \`manager builder create --node PLATFORM=ENDPOINT\`.`,
    );
  }
  mkdirSync(opts.logDir, { recursive: true });

  const scheduler = new Scheduler(new Map(ordered.map((t) => [t.id, t.deps])), {
    maxWorkers: opts.maxWorkers,
    keepGoing: opts.keepGoing,
    atomic: opts.atomic,
    cost: (id) => estimatedCost(plan.tasks.get(id)!, state.tasks[id]?.durationMs),
    isPublish: (id) => ['manifest', 'readme'].includes(plan.tasks.get(id)!.kind),
  });

  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    opts.log(`received ${sig}: cancelling running builds`);
    scheduler.cancel(`interrupted by ${sig}`);
    ctx.abort.abort();
    void killAll('SIGTERM');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const counts = () => {
    const c = { running: 0, done: 0, skipped: 0, failed: 0 };
    for (const r of ctx.results.values()) {
      if (r.status === 'built' || r.status === 'ran') c.done++;
      else if (r.status === 'skipped') c.skipped++;
      else if (r.status === 'failed' || r.status === 'timed-out') c.failed++;
    }
    c.running = ctx.running;
    return c;
  };
  const title = () => {
    const c = counts();
    return `${plan.spec.package}: ${c.running} running, ${c.done} done, ${c.skipped} skipped, ${c.failed} failed (of ${ordered.length})`;
  };

  const list = new Listr(
    [
      {
        title: title(),
        task: (_c, parent) =>
          parent.newListr(
            ordered.map((t) => ({
              title: t.id,
              task: async (_x: unknown, task: ListrTaskWrapper<unknown, never, never>) => {
                const grant = await scheduler.acquire(t.id);
                if (!grant.go) {
                  ctx.finish(t, grant.status === 'cancelled' ? 'cancelled' : 'blocked', 0, grant.reason);
                  parent.title = title();
                  task.skip(`${t.id}: ${grant.reason}`);
                  return;
                }
                ctx.running++;
                parent.title = title();
                const started = performance.now();
                let final: Final = 'failed';
                try {
                  const res = await ctx.runTask(t, (line) => (task.output = line));
                  final = res.status === 'skipped' ? 'skipped' : 'done';
                  if (res.status === 'skipped') task.skip(`${t.id}: ${res.reason}`);
                  else task.title = `${t.id} (${((performance.now() - started) / 1000).toFixed(1)}s)`;
                } catch (e) {
                  const msg = e instanceof Error ? e.message : String(e);
                  if (!ctx.results.has(t.id)) ctx.finish(t, 'failed', performance.now() - started, msg);
                  throw new Error(`${t.id}: ${redactor.redact(msg)}`);
                } finally {
                  ctx.running--;
                  scheduler.release(t.id, final);
                  parent.title = title();
                }
              },
            })),
            { concurrent: true, exitOnError: false },
          ),
      },
    ],
    {
      renderer: opts.renderer,
      fallbackRenderer: 'simple',
      exitOnError: false,
      registerSignalListeners: false,
      collectErrors: 'minimal',
      rendererOptions: { collapseSubtasks: false, collapseSkips: false },
    } as never,
  );
  try {
    await list.run();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    ctx.flush();
  }
  const results = ordered.map((t) => ctx.results.get(t.id) ?? { id: t.id, kind: t.kind, status: 'cancelled' as const, durationMs: 0, hash: t.hash.value, reason: 'not started' });
  const ok = !interrupted && results.every((r) => r.status === 'built' || r.status === 'ran' || r.status === 'skipped');
  // Many failures at once are often one cause: ask whether the engine is still there.
  let engineLost: string | undefined;
  if (!ok && !interrupted && needsEngine) {
    try {
      await inspectBuilder(opts.builder);
    } catch (e) {
      if (e instanceof WorkError && /cannot reach the Docker engine/.test(e.message)) {
        engineLost = `the Docker engine${process.env['DOCKER_HOST'] ? ` at ${process.env['DOCKER_HOST']}` : ''} stopped responding during the run; what finished is recorded, so rerun once it is back`;
      }
    }
  }
  return { ok, results, builder: ctx.builder, interrupted, engineLost };
}

/** A run worth another try; its message is the last line it printed. */
class FailedAttempt extends Error {
  constructor(readonly result: RunResult) {
    super((result.stderr || result.stdout).trim().split('\n').pop() ?? 'failed');
  }
}

/** The build itself succeeded but pushing it hit a registry or network hiccup. */
export function isPushHiccup(output: string): boolean {
  const tail = output.split('\n').slice(-30).join('\n');
  return /(failed to push|pushing|push.*failed|failed to do request|unexpected status)/i.test(tail) && retryableDockerError(tail);
}

function platformSupported(b: BuilderInfo, platform: string): boolean {
  if (b.platforms.length === 0) return true;
  const norm = (p: string) => p.replace(/^linux\/arm64\/v8$/, 'linux/arm64');
  return b.platforms.map(norm).includes(norm(platform));
}

class RunContext {
  readonly results = new Map<string, TaskResult>();
  readonly abort = new AbortController();
  /** Task id → image reference (with digest) children and manifests use. */
  readonly refs = new Map<string, { ref: string; digest?: string }>();
  /** Build id → its staged manifest, as the registry showed it (each looked up once per run). */
  private readonly stagedManifests = new Map<string, ManifestInfo>();
  builder?: BuilderInfo;
  running = 0;

  constructor(
    readonly plan: Plan,
    readonly opts: ExecuteOptions,
    readonly state: StateFile,
    readonly stagingRepo: string,
  ) {
    for (const [id, rec] of Object.entries(state.tasks)) if (rec.ref) this.refs.set(id, { ref: rec.ref, digest: rec.digest });
  }

  private flushTimer: NodeJS.Timeout | undefined;

  /**
   * Successes reach the state file within a moment, not one rewrite per task: a run that
   * skips thousands of builds through the registry would otherwise rewrite it thousands of times.
   */
  persist(): void {
    this.flushTimer ??= setTimeout(() => this.flush(), 200);
  }

  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    writeState(this.opts.packageDir, this.state);
  }

  finish(t: Task, status: TaskStatus, durationMs: number, reason?: string, extra: Partial<TaskResult> = {}): TaskResult {
    const r: TaskResult = { id: t.id, kind: t.kind, status, reason, durationMs, hash: t.hash.value, ...extra };
    this.results.set(t.id, r);
    return r;
  }

  succeed(t: Task, status: TaskStatus, durationMs: number, reason: string | undefined, rec: Partial<TaskRecord> = {}): TaskResult {
    // A skip's duration says nothing about the work; keep the last real one.
    const durationRecord = status === 'skipped' ? this.state.tasks[t.id]?.durationMs : Math.round(durationMs);
    this.state.tasks[t.id] = record(t.hash, { ...rec, finishedAt: new Date().toISOString(), durationMs: durationRecord });
    this.persist();
    if (rec.ref) this.refs.set(t.id, { ref: rec.ref, digest: rec.digest });
    return this.finish(t, status, durationMs, reason, { digest: rec.digest, ref: rec.ref });
  }

  timeoutMs(t: BuildTask | TestTask, testTimeout?: number): number {
    const s = this.opts.timeoutSec ?? testTimeout ?? (t.kind === 'build' ? t.timeout : this.plan.spec.build.timeout);
    return s * 1000;
  }

  logPath(t: Task): string {
    return join(this.opts.logDir, logFileName(t.id));
  }

  /** Decides from the state file alone (the dry run's view). */
  decideFromState(t: Task): Decision {
    const rec = this.state.tasks[t.id];
    if (this.opts.force && t.kind !== 'render') return { skip: false, reason: '--force' };
    if (!rec) return { skip: false, reason: 'no record of an earlier run' };
    if (rec.hash === t.hash.value) return { skip: true, reason: 'unchanged since the last run', rec };
    const changed = diffParts(rec.parts, t.hash.parts).map((c) => c.part);
    return { skip: false, reason: `inputs changed: ${changed.join(', ')}` };
  }

  async runTask(t: Task, progress: (line: string) => void): Promise<TaskResult> {
    switch (t.kind) {
      case 'render':
        return this.render(t);
      case 'build':
        return this.build(t, progress);
      case 'test':
        return this.test(t, progress);
      case 'manifest':
        return this.manifest(t, progress);
      case 'readme':
        return this.readme(t, progress);
    }
  }

  private render(t: RenderTask): TaskResult {
    const started = performance.now();
    let written = 0;
    for (const f of t.files) {
      const p = join(this.opts.packageDir, f.path);
      if (hasContent(p, f.content)) continue;
      writeFileAtomic(p, f.content);
      written++;
    }
    return this.succeed(t, written ? 'ran' : 'skipped', performance.now() - started, written ? undefined : 'files unchanged');
  }

  private parentRef(b: BuildTask): string | undefined {
    if (!b.parentBuild) return undefined;
    const p = this.refs.get(b.parentBuild);
    if (!p) throw new WorkError(`parent ${b.parentBuild} has no image reference`);
    return p.ref;
  }

  private cache(b: BuildTask): CacheOptions | undefined {
    const c = this.plan.spec.build.cache;
    if (!c) return undefined;
    const vars: Record<string, string> = { registry: this.stagingRepo.split('/')[0]!, repository: this.stagingRepo, distro: b.distro, release: b.release, arch: b.arches.join('-'), python: b.python };
    const fill = (s: string) => s.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m);
    const location = c.type === 'registry' ? fill(c.ref ?? `${this.stagingRepo}:cache-{distro}-{release}-{arch}`) : fill(c.dir ?? join(this.opts.packageDir, '.cache', '{distro}-{release}-{arch}'));
    return { type: c.type, location, mode: c.mode, export: this.builder ? supportsCacheExport(this.builder) : true };
  }

  buildArgv(b: BuildTask, parentRef: string | undefined, metadataFile?: string): string[] {
    const args = { ...b.buildArgs };
    if (parentRef) args[this.plan.spec.build.parentArg] = parentRef;
    const labels: Record<string, string> = { [HASH_LABEL]: b.hash.value, [TASK_LABEL]: b.id };
    if (this.plan.spec.version) labels['org.opencontainers.image.version'] = this.plan.spec.version;
    if (this.opts.revision) labels['org.opencontainers.image.revision'] = this.opts.revision;
    return buildArgv({
      contextDir: join(this.opts.packageDir, b.context),
      platforms: b.platforms,
      buildArgs: args,
      tags: [stagingRef(this.stagingRepo, b)],
      labels,
      output: this.opts.mode,
      builder: this.opts.builder,
      cache: this.cache(b),
      provenance: this.opts.provenance,
      sbom: this.opts.sbom,
      metadataFile,
    });
  }

  private async registryHas(b: BuildTask): Promise<{ ref: string; digest: string } | undefined> {
    const ref = stagingRef(this.stagingRepo, b);
    const info = await stagedWithHash(ref, b.hash.value, { builder: this.opts.builder, signal: this.abort.signal });
    if (info) this.stagedManifests.set(b.id, info);
    return info ? { ref: `${ref}@${info.digest}`, digest: info.digest } : undefined;
  }

  private async build(b: BuildTask, progress: (line: string) => void): Promise<TaskResult> {
    const started = performance.now();
    const d = this.decideFromState(b);
    if (d.skip && d.rec?.ref) return this.skipWith(b, started, d.reason, d.rec);
    if (!this.opts.force && this.opts.mode === 'push' && this.opts.registryCheck) {
      const have = await this.registryHas(b);
      if (have) return this.succeed(b, 'skipped', performance.now() - started, 'unchanged: the registry already has an image with this hash', { ref: have.ref, digest: have.digest });
    }
    const metadataFile = join(this.opts.logDir, `.metadata-${logFileName(b.id)}.json`);
    rmSync(metadataFile, { force: true });
    const argv = this.buildArgv(b, this.parentRef(b), metadataFile);
    // A push the registry refused for a passing reason (5xx, 429, a dropped connection) is
    // retried with backoff; BuildKit's cache makes the retry only the push.
    const r = await this.retrying(`the ${b.id} push`, 1000, progress, (attempt) =>
      this.runLogged(b, argv, progress, this.timeoutMs(b), attempt === 1 ? `# ${d.reason}\n` : `# attempt ${attempt}: the push failed\n`, attempt > 1),
      (x) => !x.timedOut && isPushHiccup(x.stdout + x.stderr),
    );
    const meta = existsSync(metadataFile) ? parseMetadataFile(readFileSync(metadataFile, 'utf8')) : {};
    rmSync(metadataFile, { force: true });
    if (r.exitCode !== 0) return this.fail(b, r);
    const tag = stagingRef(this.stagingRepo, b);
    const ref = this.opts.mode === 'push' && meta.digest ? `${tag}@${meta.digest}` : tag;
    return this.succeed(b, 'built', r.durationMs, d.reason, { ref, digest: meta.digest });
  }

  private skipWith(t: Task, started: number, reason: string, rec: TaskRecord): TaskResult {
    this.finish(t, 'skipped', performance.now() - started, reason, { digest: rec.digest, ref: rec.ref });
    if (rec.ref) this.refs.set(t.id, { ref: rec.ref, digest: rec.digest });
    return this.results.get(t.id)!;
  }

  private async test(t: TestTask, progress: (line: string) => void): Promise<TaskResult> {
    const started = performance.now();
    const d = this.decideFromState(t);
    // A test's hash includes its image's hash, so an unchanged record means this exact image passed.
    if (d.skip && !this.opts.retest) return this.skipWith(t, started, 'passed before on this exact image', d.rec!);
    const image = this.refs.get(t.build);
    if (!image) throw new WorkError(`${t.build} has no image to test`);
    const log = this.logPath(t);
    writeFileSync(log, '');
    for (const test of t.tests) {
      const argv = runTestArgv(image.ref, t.platform, test.run);
      progress(`${test.name}: ${argv.slice(-Math.max(1, Array.isArray(test.run) ? test.run.length : 2)).join(' ')}`);
      const r = await this.runLogged(t, argv, () => {}, (this.opts.timeoutSec ?? test.timeout) * 1000, `# test ${test.name}\n`, true);
      if (r.timedOut) return this.fail(t, r, `test "${test.name}" timed out`);
      const output = r.stdout + r.stderr;
      if (r.exitCode !== test.exitCode) return this.fail(t, r, `test "${test.name}" exited ${r.exitCode}, expected ${test.exitCode}`);
      if (test.output && !new RegExp(test.output).test(output)) {
        return this.fail(t, r, `test "${test.name}" output did not match /${test.output}/: ${output.trim().split('\n').slice(-3).join(' | ')}`);
      }
    }
    return this.succeed(t, 'ran', performance.now() - started, undefined);
  }

  private manifestSources(m: ManifestTask): string[] {
    return m.builds.map((id) => {
      const r = this.refs.get(id);
      if (!r) throw new WorkError(`${id} has no image reference to publish`);
      return r.ref;
    });
  }

  manifestArgv(m: ManifestTask): string[] {
    return imagetoolsCreateArgv(m.refs, this.manifestSources(m), this.opts.builder);
  }

  private async inspectManifest(ref: string): Promise<ManifestInfo | undefined> {
    const r = await run(imagetoolsInspectArgv(ref, 'manifest', this.opts.builder), { signal: this.abort.signal });
    return r.exitCode === 0 ? parseManifestJson(r.stdout) : undefined;
  }

  private async publishedAlready(m: ManifestTask): Promise<string | undefined> {
    const staged: ManifestInfo[] = [];
    for (const id of m.builds) {
      const ref = this.refs.get(id);
      if (!ref?.digest) return undefined;
      const known = this.stagedManifests.get(id);
      const info = known?.digest === ref.digest ? known : await this.inspectManifest(ref.ref);
      if (!info) return undefined;
      staged.push(info);
    }
    let digest: string | undefined;
    for (const ref of m.refs) {
      const info = await this.inspectManifest(ref);
      if (!info || !holdsExactly(info, staged)) return undefined;
      digest = info.digest;
    }
    return digest;
  }

  private async manifest(m: ManifestTask, progress: (line: string) => void): Promise<TaskResult> {
    const started = performance.now();
    if (m.refs.length === 0) return this.finish(m, 'skipped', 0, 'no tags to publish');
    if (this.opts.mode === 'load') return this.tagLocally(m, progress);
    const d = this.decideFromState(m);
    if (d.skip) return this.skipWith(m, started, d.reason, d.rec!);
    if (!this.opts.force && this.opts.registryCheck) {
      const digest = await this.publishedAlready(m);
      if (digest) return this.succeed(m, 'skipped', performance.now() - started, 'unchanged: every tag already points at these images', { digest });
    }
    progress(`${m.refs.length} tags for ${m.platforms.length} platforms from ${m.builds.length} image${m.builds.length === 1 ? '' : 's'}`);
    // The merge is pure network work: retry registry hiccups with backoff, reporting each.
    const r = await this.retrying(`the ${m.id} merge`, 500, progress, (attempt) =>
      this.runLogged(m, this.manifestArgv(m), progress, 10 * 60_000, attempt > 1 ? `# attempt ${attempt}\n` : '', attempt > 1),
      (x) => retryableDockerError(x.stderr),
    );
    if (r.exitCode !== 0) return this.fail(m, r);
    const info = await this.inspectManifest(m.refs[0]!);
    return this.succeed(m, 'ran', r.durationMs, d.reason, { digest: info?.digest });
  }

  /** --load: no registry, so tag the local image of the host's platform (or the only one). */
  private async tagLocally(m: ManifestTask, progress: (line: string) => void): Promise<TaskResult> {
    const started = performance.now();
    const builds = m.builds.map((id) => this.plan.tasks.get(id) as BuildTask);
    const hostArch = process.arch === 'x64' ? 'amd64' : process.arch;
    const pick = builds.length === 1 ? builds[0] : builds.find((b) => b.platforms[0]!.split('/')[1] === hostArch);
    if (!pick) return this.finish(m, 'skipped', 0, '--load keeps one platform per tag; none matches this host');
    const src = this.refs.get(pick.id)!.ref;
    for (const ref of m.refs) {
      progress(`docker tag ${ref}`);
      const r = await this.runLogged(m, ['docker', 'tag', src, ref], progress, 60_000, '', true);
      if (r.exitCode !== 0) return this.fail(m, r);
    }
    return this.finish(m, 'ran', performance.now() - started, `tagged the ${pick.platforms.join(', ')} image locally`);
  }

  private async readme(t: ReadmeTask, progress: (line: string) => void): Promise<TaskResult> {
    const started = performance.now();
    if (this.opts.mode === 'load') return this.finish(t, 'skipped', 0, '--load publishes nothing');
    const d = this.decideFromState(t);
    if (d.skip) return this.skipWith(t, started, d.reason, d.rec!);
    if (!this.opts.pushReadme) return this.finish(t, 'skipped', 0, 'README push not configured');
    const docs = this.plan.tasks.get(t.docs) as RenderTask;
    const content = docs.files.find((f) => f.path === 'README.md')!.content;
    const log = this.logPath(t);
    writeFileSync(log, '');
    await this.opts.pushReadme(t, content, (line) => {
      appendFileSync(log, redactor.redact(line) + '\n');
      progress(line);
    });
    return this.succeed(t, 'ran', performance.now() - started, d.reason);
  }

  /** Runs `attempt` until it succeeds or fails for a reason `worthRetry` does not accept. */
  private async retrying(what: string, baseMs: number, progress: (line: string) => void, attempt: (n: number) => Promise<RunResult>, worthRetry: (r: RunResult) => boolean): Promise<RunResult> {
    try {
      return await retry(
        async (n) => {
          const r = await attempt(n);
          if (r.exitCode !== 0 && !r.aborted && worthRetry(r)) throw new FailedAttempt(r);
          return r;
        },
        {
          what,
          baseMs,
          retryable: (e) => e instanceof FailedAttempt,
          log: (line) => {
            this.opts.log(line);
            progress(line);
          },
        },
      );
    } catch (e) {
      if (e instanceof FailedAttempt) return e.result;
      throw e;
    }
  }

  private async runLogged(t: Task, argv: string[], progress: (line: string) => void, timeoutMs: number, header: string, append = false): Promise<RunResult> {
    const log = this.logPath(t);
    const head = `${header}$ ${argv.join(' ')}\n`;
    if (append) appendFileSync(log, redactor.redact(head));
    else writeFileSync(log, redactor.redact(head));
    let partial = '';
    const r = await run(argv, {
      timeoutMs,
      signal: this.abort.signal,
      onOutput: (chunk) => {
        appendFileSync(log, chunk);
        partial += chunk;
        const lines = partial.split('\n');
        partial = lines.pop()!;
        const step = [...lines].reverse().find((l) => /^#\d+ \[/.test(l)) ?? lines.filter(Boolean).pop();
        if (step) progress(step.slice(0, 160));
      },
    });
    appendFileSync(log, `\n# exit ${r.exitCode ?? r.signal}${r.timedOut ? ' (timed out)' : ''} after ${(r.durationMs / 1000).toFixed(1)}s\n`);
    return r;
  }

  private fail(t: Task, r: RunResult, why?: string): never {
    const log = this.logPath(t);
    const tail = existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n').slice(-15).join('\n') : '';
    const reason = why ?? (r.timedOut ? `timed out after ${(r.durationMs / 1000).toFixed(0)}s` : r.aborted ? 'cancelled' : `exited ${r.exitCode ?? r.signal}`);
    const status: TaskStatus = r.timedOut ? 'timed-out' : r.aborted ? 'cancelled' : 'failed';
    this.finish(t, status, r.durationMs, reason, { log });
    const engine = isEngineDown(r.stderr) ? ' (the Docker engine is not reachable)' : '';
    throw new WorkError(`${reason}${engine}\n--- last lines of ${log} ---\n${redactor.redact(tail)}`);
  }
}

async function dryRun(ctx: RunContext, ordered: Task[]): Promise<Summary> {
  const { opts } = ctx;
  const willRun = new Set<string>();
  const results: TaskResult[] = [];
  for (const t of ordered) {
    const d = ctx.decideFromState(t);
    const depRuns = t.deps.some((x) => willRun.has(x));
    const skip = t.kind === 'render' ? false : d.skip && !depRuns;
    if (!skip) willRun.add(t.id);
    const reason = skip ? d.reason : depRuns && d.skip ? 'a dependency will run' : d.reason;
    opts.log(`${skip ? 'skip' : 'run '} ${t.id}  ${short(t.hash.value)}  (${reason})`);
    if (!skip) {
      const placeholder = (id: string) => (willRun.has(id) ? `<${id} digest>` : ctx.refs.get(id)?.ref ?? `<${id} digest>`);
      if (t.kind === 'build') opts.log(`     ${ctx.buildArgv(t, t.parentBuild ? placeholder(t.parentBuild) : undefined).join(' ')}`);
      else if (t.kind === 'manifest') opts.log(`     ${imagetoolsCreateArgv(t.refs, t.builds.map(placeholder), opts.builder).join(' ')}`);
      else if (t.kind === 'test') for (const x of t.tests) opts.log(`     ${runTestArgv(placeholder(t.build), t.platform, x.run).join(' ')}`);
      else if (t.kind === 'render') opts.log(`     write ${t.files.map((f) => f.path).join(' ')}`);
      else if (t.kind === 'readme') opts.log(`     push README.md to ${t.repository}`);
    }
    results.push({ id: t.id, kind: t.kind, status: skip ? 'skipped' : 'cancelled', reason: skip ? reason : `dry run: would run (${reason})`, durationMs: 0, hash: t.hash.value });
  }
  opts.log('dry run: nothing was run; the registry was not consulted (a real run may skip more).');
  return { ok: true, results };
}
