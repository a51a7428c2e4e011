// apply-plan for images: runs the selected tasks of a plan. For each task in turn the scheduler
// grants a worker, decideTask says run or skip (core/plan/decide.ts, on gathered facts), and the
// effect runs (tasks/effects.ts); listr2 shows it. The dry run takes the same decisions.
import { setMaxListeners } from 'node:events';
import { Listr, ListrLogger, ProcessOutput, type ListrTaskWrapper } from 'listr2';
import type { BuilderInfo } from '../core/buildx/argv.ts';
import type { DecideOptions } from '../core/plan/decide.ts';
import { WorkError } from '../core/base/errors.ts';
import { parseImageRef } from '../core/base/image-ref.ts';
import type { Plan } from '../core/plan/plan.ts';
import { metadataFile, type MetadataFile } from '../core/views/metadata-file.ts';
import { buildReport, type Report } from '../core/views/report.ts';
import { startedEvent } from '../core/views/progress.ts';
import { givenWorkers, workersFor, type WorkerCount } from '../core/buildx/workers.ts';
import { normalizePlatform } from '../core/base/manifest.ts';
import { redactor } from '../core/base/redact.ts';
import { localRepository, stagingRepository } from '../core/plan/staging.ts';
import type { StateFile } from '../core/plan/record.ts';
import type { BuildTask, Task } from '../core/plan/task.ts';
import { DEFAULT_DEADLINE_MS, type RegistryClient } from '../registries/distribution.ts';
import { inspectBuilder } from './builders.ts';
import { dryRun } from './dry-run.ts';
import { recordPublication, runEffect } from './effects.ts';
import { decideTask, FactFinder, HOST_FACTS, prefetch, type RegistryView } from './facts.ts';
import { registryClient } from './registry.ts';
import { ensureLogDir } from './logs.ts';
import type { Deciding, ExecuteOptions, Selection } from './options.ts';
import { Cancelled, invocationContextOf, Run, type Renderer, type TaskResult } from './run.ts';
import { killAll } from './runner.ts';
import { Scheduler, type Final } from './scheduler.ts';
import { readState } from './state.ts';

export type { ExecuteOptions, Renderer, TaskResult, TaskStatus } from './run.ts';

export interface Summary {
  ok: boolean;
  results: TaskResult[];
  builder?: BuilderInfo;
  /** The signal that interrupted the run, if one did. */
  interrupted?: NodeJS.Signals;
  /** Set when the engine was unreachable at the end of a failed run. */
  engineLost?: string;
  /** Whether decisions consulted the registry, and if not, why. */
  registry: { consulted: boolean; why?: string };
  /** What `--metadata-file` writes (a real run only). */
  metadata?: MetadataFile;
  /** The run as a picture (core/views/report.ts; a real run only). */
  report?: Report;
  /** Records the run could not write (the state file), one line each; the run fails. */
  writeErrors?: string[];
  /** How many builds and tests ran at once, and why that many (a real run only). */
  workers?: WorkerCount;
}

const COST: Record<Task['kind'], number> = { render: 0.01, build: 30, test: 3, manifest: 1, readme: 0.5 };
/**
 * Tasks that do no work on the engine (a render writes files, a merge and a README push are
 * registry requests): they do not take a build's worker. Tests run the image on the engine, so
 * they count with the builds.
 */
const LIGHT = new Set<Task['kind']>(['render', 'manifest', 'readme']);
const HOST_PLATFORM = `linux/${HOST_FACTS.hostArch}`;

/**
 * Seconds a task is expected to take: its last recorded duration, else a guess by kind, with
 * builds for emulated platforms (QEMU) several times slower than native ones.
 */
export function estimatedCost(t: Task, recordedMs?: number): number {
  if (recordedMs !== undefined) return recordedMs / 1000;
  if (t.kind === 'build') return t.platforms.reduce((s, p) => s + COST.build * (p === HOST_PLATFORM ? 1 : 4), 0);
  return COST[t.kind];
}

/** Which registry the decisions may ask, or why they do not ask one. */
function registryView(opts: Deciding & Pick<ExecuteOptions, 'mode'>, client: RegistryClient | undefined, stagingRepo: string): RegistryView {
  if (opts.mode === 'load') return { why: '--load publishes nothing, so there is no registry to ask' };
  if (opts.offline) return { why: '--offline' };
  if (!opts.registryCheck) return { why: '--no-registry-check' };
  if (!client) return { why: 'the spec publishes to no registry' };
  return { client, stagingRepo };
}

/** A run made ready by execute(): what the real run and the dry run both start from. */
interface Prepared {
  plan: Plan;
  opts: ExecuteOptions;
  /** The selected tasks, in the plan's order. */
  ordered: Task[];
  state: StateFile;
  stagingRepo: string;
  finder: FactFinder;
  client: RegistryClient | undefined;
  decideOpts: DecideOptions;
  registry: Summary['registry'];
  abort: AbortController;
}

export async function execute(plan: Plan, opts: ExecuteOptions): Promise<Summary> {
  const ordered = plan.order.filter((id) => opts.selected.has(id)).map((id) => plan.tasks.get(id)!);
  const state = readState(opts.packageDir);
  const repo = stagingRepository(plan, opts.stagingRepository);
  if (opts.mode === 'push' && !repo && !opts.dryRun && ordered.some((t) => t.kind === 'build')) {
    throw new WorkError('nothing to push to: the spec publishes to no registry (set "publish", or build with --load)');
  }
  const stagingRepo = repo ?? localRepository(plan);
  const abort = new AbortController();
  // Every running program and registry request listens on this one signal: many at once is
  // the design, not a leak (Node warns past ten).
  setMaxListeners(0, abort.signal);
  const ownClient = !opts.client && opts.mode === 'push' && repo ? registryClient({ signal: abort.signal, log: opts.log, ...(opts.timeoutSec ? { timeoutMs: Math.min(opts.timeoutSec * 1000, DEFAULT_DEADLINE_MS) } : {}) }) : undefined;
  const client = opts.client ?? ownClient;
  const view = await reachable(opts, registryView(opts, client, stagingRepo), stagingRepo);
  const finder = new FactFinder(plan, state, opts.packageDir, view, { ...HOST_FACTS, readmePush: Boolean(opts.pushReadme) });
  const decideOpts: DecideOptions = { force: opts.force, retest: Boolean(opts.retest), assumeMissing: Boolean(opts.assumeMissing), mode: opts.mode };
  const registry = 'why' in view ? { consulted: false, why: view.why } : { consulted: true };
  const p: Prepared = { plan, opts, ordered, state, stagingRepo, finder, client, decideOpts, registry, abort };
  try {
    return opts.dryRun ? await dry(p) : await realRun(p);
  } finally {
    await ownClient?.close();
  }
}

/**
 * A dry run asks the registry when it can be reached, and says so when it cannot; a real
 * run's lookups that fail are errors for their tasks instead.
 */
async function reachable(opts: Selection, view: RegistryView, stagingRepo: string): Promise<RegistryView> {
  if (!opts.dryRun || !('client' in view)) return view;
  const host = parseImageRef(stagingRepo).host;
  try {
    await view.client.ping(host);
    return view;
  } catch (e) {
    return { why: `${host} is not reachable (${e instanceof Error ? e.message : String(e)}); decided from the state file alone` };
  }
}

async function dry(p: Prepared): Promise<Summary> {
  const images = new Map(Object.entries(p.state.tasks).flatMap(([id, rec]) => (rec.ref ? [[id, { ref: rec.ref, digest: rec.digest }] as const] : [])));
  const inv = invocationContextOf(p.plan, p.opts, p.stagingRepo, true);
  const results = await dryRun({ ordered: p.ordered, finder: p.finder, decideOpts: p.decideOpts, images, inv, logDir: p.opts.logDir }, p.opts.log);
  return { ok: results.every((r) => r.status !== 'would-fail'), results, registry: p.registry };
}

/** The first signal of a run: it cancels what runs and stops what has not started. */
class Interrupt {
  signal?: NodeJS.Signals;
  private readonly handler = (sig: NodeJS.Signals) => {
    if (this.signal) return;
    this.signal = sig;
    this.onSignal(sig);
  };

  constructor(private readonly onSignal: (sig: NodeJS.Signals) => void) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  off(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}

async function realRun(p: Prepared): Promise<Summary> {
  const { plan, opts, ordered, state } = p;
  const wanted = [...new Set(ordered.filter((t): t is BuildTask => t.kind === 'build').flatMap((t) => t.platforms))];
  const given = givenWorkers(opts.maxWorkers, plan.spec.build.maxWorkers);
  let workers = given;
  const scheduler = new Scheduler(new Map(ordered.map((t) => [t.id, t.deps])), {
    maxWorkers: given.count,
    keepGoing: opts.keepGoing,
    atomic: opts.atomic,
    cost: (id) => estimatedCost(plan.tasks.get(id)!, state.tasks[id]?.durationMs),
    isPublish: (id) => ['manifest', 'readme'].includes(plan.tasks.get(id)!.kind),
    isLight: (id) => LIGHT.has(plan.tasks.get(id)!.kind),
  });
  // Unless the count was given, the builder chooses it, once the first task needing the engine has asked for it.
  const emulated = wanted.some((x) => normalizePlatform(x) !== normalizePlatform(HOST_PLATFORM));
  const onEngine = (b: BuilderInfo) => {
    if (given.from !== 'provisional') return;
    workers = workersFor(b, emulated);
    scheduler.setMaxWorkers(workers.count);
    opts.log(`workers: ${workers.count} builds and tests at once (${workers.reason})`);
  };
  const r = new Run({ plan, state, stagingRepo: p.stagingRepo, platforms: wanted }, opts, { finder: p.finder, client: p.client, abort: p.abort, onEngine });
  ensureLogDir(opts.logDir);
  const interrupt = new Interrupt((sig) => {
    opts.log(`received ${sig}: cancelling running builds`);
    scheduler.cancel(`interrupted by ${sig}`);
    p.abort.abort();
    void killAll('SIGTERM');
  });
  const title = () => `${plan.spec.package}: ${r.running} running, ${r.counts.done} done, ${r.counts.skipped} skipped, ${r.counts.failed} failed (of ${ordered.length})`;
  // The group's own line is the run's outcome: it fails when a task failed or the run was
  // interrupted, so its symbol (✖, not ✔) agrees with the closing count.
  const outcome = (): string | undefined => {
    if (interrupt.signal) return `interrupted by ${interrupt.signal}`;
    const failed = r.counts.failed;
    return failed ? `${failed} task${failed === 1 ? '' : 's'} failed` : undefined;
  };
  const runOne = taskRunner(p, r, scheduler, interrupt, title);
  try {
    await progressList(ordered, runOne, title, outcome, opts.renderer).run();
  } finally {
    interrupt.off();
    r.flush();
  }
  // listr2 draws no line for a group that failed through its subtasks; the log gets one.
  const bad = outcome();
  if (bad && opts.renderer !== 'silent') opts.log(`✖ ${title()}: ${bad}`);
  return { ...(await summarize(p, r, interrupt.signal)), workers };
}

type ListrTask = ListrTaskWrapper<unknown, never, never>;
type RunOne = (t: Task, task: ListrTask, parent: { title: string }) => Promise<void>;

/** One task's turn: a worker from the scheduler, its decision, its effect, its result. */
function taskRunner(p: Prepared, r: Run, scheduler: Scheduler, interrupt: Interrupt, title: () => string): RunOne {
  const { opts, finder, decideOpts } = p;
  const early = prefetch(p.ordered, finder, decideOpts, r.imageOf);
  return async (t, task, parent) => {
    const grant = await scheduler.acquire(t.id);
    if (!grant.go) {
      // An interrupt before the task started is not a cancellation of work.
      r.finish(t, grant.status === 'cancelled' ? 'not-started' : 'blocked', 0, grant.reason);
      parent.title = title();
      task.skip(grant.status === 'cancelled' ? `○ not started: ${grant.reason}` : `⊘ blocked: ${grant.reason}`);
      return;
    }
    r.running++;
    parent.title = title();
    const started = performance.now();
    r.startedAt.set(t.id, started);
    opts.events?.(JSON.stringify(startedEvent(t, new Date())));
    let final: Final = 'failed';
    try {
      const { decision: d } = (await early.get(t.id)) ?? (await decideTask(t, finder, decideOpts, r.imageOf));
      if (d.action === 'skip') {
        r.skip(t, d, started);
        // Tags checked image by image get their record now, so the next fresh runner needs one lookup.
        if (t.kind === 'manifest' && d.source === 'registry' && !d.via) await recordPublication(r, t, d.digest, () => {});
        final = 'skipped';
        task.skip(`↷ ${d.reason}`);
        return;
      }
      if (d.action === 'fail') {
        // The lookup's own error is the cause: nothing was run.
        r.finish(t, 'failed', performance.now() - started, d.reason, { cause: d.reason.replace(/^registry lookup failed: /, '') });
        throw new WorkError(d.reason);
      }
      // Piped, lines of parallel tasks interleave: each says whose it is (a terminal shows it under the task).
      const say = opts.renderer === 'simple' ? (line: string) => (task.output = taskLine(t.id, line)) : (line: string) => (task.output = line);
      const res = await runEffect(r, t, d, say);
      final = res.status === 'skipped' ? 'skipped' : 'done';
      if (res.status === 'skipped') task.skip(`↷ ${res.reason}`);
      else task.title = `${t.id} (${((performance.now() - started) / 1000).toFixed(1)}s)`;
    } catch (e) {
      // Stopped by the interrupt (a command killed, a request aborted): cancelled, not failed.
      if (e instanceof Cancelled || (interrupt.signal && e instanceof Error && e.name === 'AbortError')) {
        if (!(e instanceof Cancelled)) r.finish(t, 'cancelled', performance.now() - started, 'cancelled while running');
        final = 'cancelled';
        task.skip(`■ cancelled while running${interrupt.signal ? ` (${interrupt.signal})` : ''}`);
        return;
      }
      const msg = e instanceof Error ? e.message : String(e);
      if (!r.results.has(t.id)) r.finish(t, 'failed', performance.now() - started, msg);
      throw new Error(`${t.id}: ${redactor.redact(msg)}`);
    } finally {
      r.running--;
      scheduler.release(t.id, final);
      parent.title = title();
    }
  };
}

/** listr2's picture of the run: one group whose title counts, one line per task under it. */
function progressList(ordered: Task[], runOne: RunOne, title: () => string, outcome: () => string | undefined, renderer: Renderer): Listr {
  // Progress is never stdout's: that is for the results (the table, or one JSON document).
  const logger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
  return new Listr(
    [
      {
        title: title(),
        task: (_c, parent) => {
          const sub = parent.newListr(
            ordered.map((t) => ({ title: t.id, task: (_x: unknown, task: unknown) => runOne(t, task as ListrTask, parent) })),
            { concurrent: true, exitOnError: false },
          );
          const runAll = sub.run.bind(sub);
          sub.run = async (ctx?: unknown) => {
            const done = await runAll(ctx as never);
            parent.title = title();
            const bad = outcome();
            if (bad) throw new Error(`${title()}: ${bad}`);
            return done;
          };
          return sub;
        },
      },
    ],
    {
      renderer,
      fallbackRenderer: 'simple',
      exitOnError: false,
      registerSignalListeners: false,
      collectErrors: 'minimal',
      rendererOptions: { collapseSubtasks: false, collapseSkips: false, logger },
      fallbackRendererOptions: { logger },
    } as never,
  );
}

/** The run's results in the plan's order, its outcome, and what it leaves for the CLI to write. */
async function summarize(p: Prepared, r: Run, interrupted: NodeJS.Signals | undefined): Promise<Summary> {
  const { plan, opts } = p;
  const results = p.ordered.map((t) => r.results.get(t.id) ?? { id: t.id, kind: t.kind, status: 'not-started' as const, durationMs: 0, hash: t.hash.value, reason: interrupted ? `interrupted by ${interrupted}` : 'not started' });
  const ok = !interrupted && results.every((x) => x.status === 'built' || x.status === 'ran' || x.status === 'skipped');
  // Many failures at once are often one cause: ask whether the engine that answered earlier is still there.
  let engineLost: string | undefined;
  if (!ok && !interrupted && r.builder) {
    try {
      await inspectBuilder(opts.builder);
    } catch (e) {
      if (e instanceof WorkError && /cannot reach the Docker engine/.test(e.message)) {
        engineLost = `the Docker engine${process.env['DOCKER_HOST'] ? ` at ${process.env['DOCKER_HOST']}` : ''} stopped responding during the run; what finished is recorded, so rerun once it is back`;
      }
    }
  }
  return { ok, results, builder: r.builder, interrupted, engineLost, registry: p.registry, metadata: metadataFile(plan, results, r.invocationContext(r.builder)), report: buildReport(plan, results), ...(r.stateError ? { writeErrors: [r.stateError] } : {}) };
}

/** A progress line as a pipe shows it: prefixed with its task, as bake prefixes with its target. */
export function taskLine(id: string, line: string): string {
  return `[${id}] ${line}`;
}
