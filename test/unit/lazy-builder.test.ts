import { describe, expect, it } from 'vitest';
import { splitAlreadyDone } from '../../core/plan/multi-platform.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import { record, type TaskRecord } from '../../core/plan/record.ts';
import { miniSpec } from '../helpers/spec.ts';

// auto asks the builder (docker buildx inspect, docker info) only when its answer can change
// what runs: not when every build of the split plan is already recorded as done.
describe('auto without asking the builder', () => {
  const { manifest } = miniSpec();
  const plan = loadPlan(manifest, {}, { multiPlatform: 'split' });
  const tasks = [...plan.tasks.values()];
  const done = (): Record<string, TaskRecord> => Object.fromEntries(tasks.map((t) => [t.id, record(t.hash, t.kind === 'build' ? { ref: `r/x@sha256:${'0'.repeat(64)}` } : {})]));

  it('keeps split on a no-op: every build recorded with its current hash', () => {
    expect(tasks.some((t) => t.kind === 'build')).toBe(true);
    expect(splitAlreadyDone(tasks, done(), false)).toBe(true);
  });

  it('asks when one build would run: changed hash, no record, no image, or --force', () => {
    const build = tasks.find((t) => t.kind === 'build')!;
    const changed = done();
    changed[build.id] = { ...changed[build.id]!, hash: 'other' };
    expect(splitAlreadyDone(tasks, changed, false)).toBe(false);
    const missing = done();
    delete missing[build.id];
    expect(splitAlreadyDone(tasks, missing, false)).toBe(false);
    const noRef = done();
    delete noRef[build.id]!.ref;
    expect(splitAlreadyDone(tasks, noRef, false)).toBe(false);
    expect(splitAlreadyDone(tasks, done(), true)).toBe(false);
    expect(splitAlreadyDone(tasks, {}, false)).toBe(false);
  });
});
