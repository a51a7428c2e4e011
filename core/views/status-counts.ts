// Running counts of task outcomes for the progress title: updated on each status change, so
// drawing the title costs the same at 50k tasks as at 10 (a recount on every start and
// finish made the run quadratic).
import type { TaskStatus } from './result.ts';

export type CountBucket = 'done' | 'skipped' | 'failed';

export function bucketOf(s: TaskStatus): CountBucket | undefined {
  if (s === 'built' || s === 'ran') return 'done';
  if (s === 'skipped') return 'skipped';
  if (s === 'failed' || s === 'timed-out') return 'failed';
  return undefined;
}

export class StatusCounts {
  done = 0;
  skipped = 0;
  failed = 0;

  /** A task's status went from `before` (none: its first result) to `after`. */
  change(before: TaskStatus | undefined, after: TaskStatus): void {
    const b = before === undefined ? undefined : bucketOf(before);
    const a = bucketOf(after);
    if (b) this[b]--;
    if (a) this[a]++;
  }
}
