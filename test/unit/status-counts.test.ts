import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketOf, StatusCounts } from '../../core/views/status-counts.ts';
import type { TaskStatus } from '../../core/views/result.ts';

const STATUSES: TaskStatus[] = ['built', 'ran', 'skipped', 'failed', 'blocked', 'cancelled', 'not-started', 'timed-out', 'would-run', 'would-fail'];

describe('running status counts', () => {
  it('agree with a recount of the results after any sequence of results, overwrites included', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.constantFrom(...STATUSES)), { maxLength: 200 }), (events) => {
        const results = new Map<number, TaskStatus>();
        const counts = new StatusCounts();
        for (const [id, status] of events) {
          counts.change(results.get(id), status);
          results.set(id, status);
          const recount = { done: 0, skipped: 0, failed: 0 };
          for (const s of results.values()) {
            const b = bucketOf(s);
            if (b) recount[b]++;
          }
          expect({ done: counts.done, skipped: counts.skipped, failed: counts.failed }).toEqual(recount);
        }
      }),
    );
  });

  it('count timed-out as failed and built or ran as done', () => {
    const c = new StatusCounts();
    for (const s of ['built', 'ran', 'timed-out', 'failed', 'skipped', 'blocked'] as TaskStatus[]) c.change(undefined, s);
    expect([c.done, c.skipped, c.failed]).toEqual([2, 1, 2]);
    c.change('failed', 'built');
    expect([c.done, c.skipped, c.failed]).toEqual([3, 1, 1]);
  });
});
