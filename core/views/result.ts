// What a run says of each task, and the status a dry run's decision becomes: shared by the run
// (tasks/) and the pure views of it (core/views/report.ts, core/views/metadata-file.ts,
// core/views/progress.ts).
import type { Action } from '../plan/decide.ts';
import type { Step } from '../buildx/steps.ts';
import type { Task } from '../plan/task.ts';

/** listr2's renderers, as a run chooses among them (core/views/progress.ts). */
export type Renderer = 'default' | 'simple' | 'silent' | 'test';

/**
 * What happened to a task. `cancelled`: it was running when the run was interrupted;
 * `not-started`: the interrupt came first; `blocked`: something it needs failed. A dry run
 * says `would-run` / `would-fail` of what it did not do.
 */
export type TaskStatus = 'built' | 'ran' | 'skipped' | 'failed' | 'blocked' | 'cancelled' | 'not-started' | 'timed-out' | 'would-run' | 'would-fail';

/** The status a dry run gives a decision: a skip is a skip either way; what it would do is not done. */
export function dryRunStatus(action: Action): TaskStatus {
  return action === 'skip' ? 'skipped' : action === 'fail' ? 'would-fail' : 'would-run';
}

/** One try of a command a task retries (a build whose push failed, a manifest merge). */
export interface Attempt {
  durationMs: number;
  exitCode: number | null;
  cause?: string;
}

export interface TaskResult {
  id: string;
  kind: Task['kind'];
  status: TaskStatus;
  reason?: string;
  /** Why it failed, in the words of what failed (BuildKit's ERROR line, the registry's answer), redacted. */
  cause?: string;
  /** Every try, when the task retried: the task's own duration covers them all. */
  attempts?: Attempt[];
  /** Inputs that changed since the last recorded run, when that is why it ran. */
  changed?: string[];
  durationMs: number;
  /** When it started, in ms from the run's start (absent for tasks that never got a worker). */
  startedMs?: number;
  hash: string;
  digest?: string;
  ref?: string;
  log?: string;
  /** The dry run: the decision itself (what `graph --explain` reports), and the steps a run would take. */
  action?: Action;
  steps?: Step[];
}
