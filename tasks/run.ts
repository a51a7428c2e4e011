// One run's shared state: results, the images builds produced or found, the state file (written
// in batches), per-task logs, retries, and the engine, asked for only when a task needs it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Decision } from '../core/plan/decide.ts';
import { WorkError } from '../core/base/errors.ts';
import type { BuilderInfo } from '../core/buildx/argv.ts';
import { isEngineDown, supportsCacheExport } from '../core/buildx/argv.ts';
import type { InvocationContext } from '../core/buildx/invocation.ts';
import type { StepContext } from '../core/buildx/steps.ts';
import { normalizePlatform } from '../core/base/manifest.ts';
import type { Plan } from '../core/plan/plan.ts';
import { record, type StateFile, type TaskRecord } from '../core/plan/record.ts';
import { redactor } from '../core/base/redact.ts';
import { retry } from '../core/base/retry.ts';
import { causeOf } from '../core/views/cause.ts';
import { finishedEvent } from '../core/views/progress.ts';
import type { Attempt, Renderer, TaskResult, TaskStatus } from '../core/views/result.ts';
import { logFileName } from '../core/plan/staging.ts';
import { StatusCounts } from '../core/views/status-counts.ts';
import type { BuildTask, Task, TestTask } from '../core/plan/task.ts';
import type { RegistryClient } from '../registries/distribution.ts';
import { inspectBuilder } from './builders.ts';
import { appendLog, startLog } from './logs.ts';
import type { FactFinder } from './facts.ts';
import type { Engine, ExecuteOptions } from './options.ts';
import { run, type RunResult } from './runner.ts';
import { writeState } from './state.ts';

// Where the rest of tasks/ and cli/ have always found them.
export type { Attempt, ExecuteOptions, Renderer, TaskResult, TaskStatus };

/** What a run works on: the plan, the record it starts from, where its images are staged. */
export interface RunWork {
  plan: Plan;
  state: StateFile;
  stagingRepo: string;
  /** Every platform the selected builds make: the engine is refused unless it builds them all. */
  platforms: string[];
}

/** Whom a run asks (the facts, the registry) and how it is stopped. */
export interface RunServices {
  finder: FactFinder;
  client: RegistryClient | undefined;
  abort: AbortController;
  /** Told the builder once, when the first task that needs the engine has it (the worker count is chosen then). */
  onEngine?: (b: BuilderInfo) => void;
}

/** The options a build's invocation depends on: one place, for the run and the dry run alike. */
export function invocationContextOf(plan: Plan, opts: Engine & Pick<ExecuteOptions, 'packageDir' | 'mode'>, stagingRepo: string, cacheExport: boolean): InvocationContext {
  return {
    plan,
    packageDir: opts.packageDir,
    stagingRepo,
    mode: opts.mode,
    builder: opts.builder,
    cacheExport,
    provenance: opts.provenance,
    sbom: opts.sbom,
    cacheOverride: opts.cacheOverride,
    ...(opts.ghaAvailable !== undefined ? { ghaAvailable: opts.ghaAvailable } : {}),
    pull: opts.pull,
    noCache: opts.noCache,
    revision: opts.revision,
    source: opts.source,
    created: opts.created,
    ...(opts.secrets?.length ? { secrets: opts.secrets } : {}),
    ...(opts.ssh?.length ? { ssh: opts.ssh } : {}),
    ...(opts.merge ? { merge: opts.merge } : {}),
  };
}

/** A task stopped by an interrupt while it ran: not a failure, and no log tail to show. */
export class Cancelled extends Error {}

/** A run worth another try; its message is the last line it printed. */
export class FailedAttempt extends Error {
  constructor(readonly result: RunResult) {
    super((result.stderr || result.stdout).trim().split('\n').pop() ?? 'failed');
  }
}

export class Run {
  readonly results = new Map<string, TaskResult>();
  /** The results counted by outcome, kept current by finish(). */
  readonly counts = new StatusCounts();
  /** Build id → the image reference (with digest) children and manifests use. */
  readonly images = new Map<string, { ref: string; digest?: string }>();
  builder?: BuilderInfo;
  running = 0;
  /** The publication records' empty config blob, uploaded once per run. */
  recordConfig?: Promise<string>;
  private engineReady?: Promise<BuilderInfo>;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Records changed since the state file was last written. */
  private dirty = false;
  /** How long the last state write took: the next waits at least ten times that. */
  private lastWriteMs = 0;
  /** When each task was granted a worker: its duration runs from there, across every attempt. */
  readonly startedAt = new Map<string, number>();
  /** When the run began: task start times in results are offsets from it (the report's timeline). */
  readonly began = performance.now();
  readonly attempts = new Map<string, Attempt[]>();

  readonly plan: Plan;
  readonly state: StateFile;
  readonly stagingRepo: string;
  readonly finder: FactFinder;
  readonly client: RegistryClient | undefined;
  readonly abort: AbortController;
  private readonly platformsWanted: string[];
  private readonly onEngine: ((b: BuilderInfo) => void) | undefined;

  constructor(work: RunWork, readonly opts: ExecuteOptions, services: RunServices) {
    this.plan = work.plan;
    this.state = work.state;
    this.stagingRepo = work.stagingRepo;
    this.platformsWanted = work.platforms;
    this.finder = services.finder;
    this.client = services.client;
    this.abort = services.abort;
    this.onEngine = services.onEngine;
    for (const [id, rec] of Object.entries(this.state.tasks)) if (rec.ref) this.images.set(id, { ref: rec.ref, digest: rec.digest });
  }

  /**
   * The builder, inspected once, and only when a task actually needs the engine: a run that
   * skips everything starts no docker process at all.
   */
  engine(): Promise<BuilderInfo> {
    this.engineReady ??= (async () => {
      const b = this.opts.builderInfo ?? (await inspectBuilder(this.opts.builder));
      const missing = this.platformsWanted.filter((p) => !platformSupported(b, p));
      if (missing.length) {
        throw new WorkError(
          `builder "${b.name}" (driver ${b.driver}) cannot build ${missing.join(', ')}: no emulator or node for ${missing.length === 1 ? 'it' : 'them'}`,
          `Supported: ${b.platforms.join(', ') || 'none reported'}.\nRegister QEMU with \`manager setup-qemu\`, or add a native node with \`manager builder create --node PLATFORM=ENDPOINT\`.`,
        );
      }
      this.builder = b;
      this.onEngine?.(b);
      return b;
    })();
    return this.engineReady;
  }

  /** What the steps of a task are made from (core/buildx/steps.ts): the dry run builds the same from the same parts. */
  stepContext(builder: BuilderInfo | undefined): StepContext {
    return {
      inv: this.invocationContext(builder),
      logDir: this.opts.logDir,
      hostArch: this.finder.run.hostArch,
      image: (id) => {
        const img = this.images.get(id);
        if (!img) throw new WorkError(`${id} has no image reference`);
        return img.ref;
      },
    };
  }

  invocationContext(builder: BuilderInfo | undefined): InvocationContext {
    return invocationContextOf(this.plan, this.opts, this.stagingRepo, builder ? supportsCacheExport(builder) : true);
  }

  /**
   * Successes reach the state file in batches, not one rewrite per task: within 200 ms, or ten
   * times the last write's duration when the file is large, so rewriting it never takes more
   * than a tenth of the run. A crash loses at most the last batch.
   */
  persist(): void {
    this.dirty = true;
    this.flushTimer ??= setTimeout(() => this.flush(), Math.max(200, 10 * this.lastWriteMs));
  }

  /** Why the state file could not be written, until a later write succeeds (each writes the whole record). */
  stateError?: string;

  /** Writes the state file if anything changed since the last write (a no-op writes nothing). */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.dirty) return;
    this.dirty = false;
    const t0 = performance.now();
    try {
      writeState(this.opts.packageDir, this.state);
      this.stateError = undefined;
    } catch (e) {
      // From a timer, a throw would end the process without its summary: the run says it at its end.
      if (!(e instanceof WorkError)) throw e;
      // Still to be written: a later flush tries again.
      this.dirty = true;
      if (this.stateError !== e.message) this.opts.log(`error: ${e.message}`);
      this.stateError = e.message;
    }
    this.lastWriteMs = performance.now() - t0;
  }

  finish(t: Task, status: TaskStatus, durationMs: number, reason?: string, extra: Partial<TaskResult> = {}): TaskResult {
    const started = this.startedAt.get(t.id);
    const attempts = this.attempts.get(t.id);
    const r: TaskResult = {
      id: t.id, kind: t.kind, status, reason,
      durationMs: started !== undefined && status !== 'skipped' ? performance.now() - started : durationMs,
      ...(started !== undefined ? { startedMs: Math.round(started - this.began) } : {}),
      hash: t.hash.value,
      ...(attempts && attempts.length > 1 ? { attempts } : {}),
      ...extra,
    };
    this.counts.change(this.results.get(t.id)?.status, status);
    this.results.set(t.id, r);
    this.opts.events?.(JSON.stringify(finishedEvent(r, new Date())));
    return r;
  }

  succeed(t: Task, status: TaskStatus, durationMs: number, d: Pick<Decision, 'reason' | 'changed'> | undefined, rec: Partial<TaskRecord> = {}): TaskResult {
    // A skip's duration says nothing about the work; keep the last real one.
    const durationRecord = status === 'skipped' ? this.state.tasks[t.id]?.durationMs : Math.round(durationMs);
    this.state.tasks[t.id] = record(t.hash, { ...rec, finishedAt: new Date().toISOString(), durationMs: durationRecord });
    this.persist();
    if (rec.ref) this.images.set(t.id, { ref: rec.ref, digest: rec.digest });
    // Work that ran a command has a log, successful or not: "what did it do" has an answer too.
    const log = status !== 'skipped' && t.kind !== 'render' && existsSync(this.logPath(t)) ? this.logPath(t) : undefined;
    return this.finish(t, status, durationMs, d?.reason, { digest: rec.digest, ref: rec.ref, changed: d?.changed?.map((c) => c.part), ...(log ? { log } : {}) });
  }

  /** A skip the decision justified: from the state file (nothing to record), or the registry or disk (recorded). */
  skip(t: Task, d: Decision, started: number): TaskResult {
    const ms = performance.now() - started;
    if (d.source === 'registry' || d.source === 'disk') return this.succeed(t, 'skipped', ms, d, { ref: d.ref, digest: d.digest });
    if (d.ref) this.images.set(t.id, { ref: d.ref, digest: d.digest });
    return this.finish(t, 'skipped', ms, d.reason, { digest: d.digest, ref: d.ref });
  }

  timeoutMs(t: BuildTask | TestTask, testTimeout?: number): number {
    const s = this.opts.timeoutSec ?? testTimeout ?? (t.kind === 'build' ? t.timeout : this.plan.spec.build.timeout);
    return s * 1000;
  }

  logPath(t: Task): string {
    return join(this.opts.logDir, logFileName(t.id));
  }

  imageOf = (id: string) => this.images.get(id);

  /** Runs `attempt` until it succeeds or fails for a reason `worthRetry` does not accept; each try is recorded for `t`. */
  async retrying(t: Task, what: string, baseMs: number, progress: (line: string) => void, attempt: (n: number) => Promise<RunResult>, worthRetry: (r: RunResult) => boolean): Promise<RunResult> {
    const tries: Attempt[] = [];
    this.attempts.set(t.id, tries);
    try {
      return await retry(
        async (n) => {
          const r = await attempt(n);
          tries.push({ durationMs: Math.round(r.durationMs), exitCode: r.exitCode, ...(r.exitCode !== 0 ? { cause: causeOf(redactor.redact(r.stdout + '\n' + r.stderr)) } : {}) });
          if (r.exitCode !== 0 && !r.aborted && worthRetry(r)) throw new FailedAttempt(r);
          return r;
        },
        {
          what,
          baseMs,
          retryable: (e) => e instanceof FailedAttempt,
          signal: this.abort.signal,
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

  async runLogged(t: Task, argv: string[], progress: (line: string) => void, timeoutMs: number, header: string, append = false): Promise<RunResult> {
    const log = this.logPath(t);
    const head = `${header}$ ${argv.join(' ')}\n`;
    if (append) appendLog(log, head);
    else startLog(log, head);
    let partial = '';
    let logFailure: unknown;
    const r = await run(argv, {
      timeoutMs,
      signal: this.abort.signal,
      onOutput: (chunk) => {
        // Called from a stream's handler, where a throw would end the process: kept for after.
        try {
          if (logFailure === undefined) appendLog(log, chunk);
        } catch (e) {
          logFailure = e;
        }
        partial += chunk;
        const lines = partial.split('\n');
        partial = lines.pop()!;
        const step = [...lines].reverse().find((l) => /^#\d+ \[/.test(l)) ?? lines.filter(Boolean).pop();
        if (step) progress(step.slice(0, 160));
      },
    });
    if (logFailure !== undefined) throw logFailure;
    appendLog(log, `\n# exit ${r.exitCode ?? r.signal}${r.timedOut ? ' (timed out)' : ''} after ${(r.durationMs / 1000).toFixed(1)}s\n`);
    return r;
  }

  fail(t: Task, r: RunResult, why?: string): never {
    const log = this.logPath(t);
    const tail = existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n').slice(-15).join('\n') : '';
    const reason = r.aborted ? 'cancelled while running' : why ?? (r.timedOut ? `timed out after ${(r.durationMs / 1000).toFixed(0)}s` : `exited ${r.exitCode ?? r.signal}`);
    const status: TaskStatus = r.timedOut ? 'timed-out' : r.aborted ? 'cancelled' : 'failed';
    // An interrupted command's last words are about the interrupt, not a cause.
    const cause = r.aborted ? undefined : causeOf(redactor.redact(`${r.stdout}\n${r.stderr}`));
    this.finish(t, status, r.durationMs, reason, { log, ...(cause ? { cause } : {}) });
    if (r.aborted) throw new Cancelled(reason);
    const engine = isEngineDown(r.stderr) ? ' (the Docker engine is not reachable)' : '';
    throw new WorkError(`${reason}${cause ? `: ${cause}` : ''}${engine}\n--- last lines of ${log} ---\n${redactor.redact(tail)}`);
  }
}

function platformSupported(b: BuilderInfo, platform: string): boolean {
  if (b.platforms.length === 0) return true;
  return b.platforms.map(normalizePlatform).includes(normalizePlatform(platform));
}
