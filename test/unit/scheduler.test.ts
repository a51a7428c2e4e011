import { describe, expect, it } from 'vitest';
import { Scheduler, type Grant } from '../../tasks/scheduler.ts';

/** Runs a graph through the scheduler with simulated durations on a virtual clock. */
async function simulate(deps: Record<string, string[]>, cost: Record<string, number>, opts: { workers: number; keepGoing?: boolean; fail?: string[]; atomic?: boolean; publish?: string[] }) {
  const s = new Scheduler(new Map(Object.entries(deps)), { maxWorkers: opts.workers, keepGoing: opts.keepGoing ?? false, cost: (id) => cost[id] ?? 1, atomic: opts.atomic, isPublish: (id) => (opts.publish ?? []).includes(id) });
  const started: [string, number][] = [];
  const outcome = new Map<string, Grant & { end?: number }>();
  let clock = 0;
  const timers: { at: number; fire: () => void }[] = [];
  const runAll = Object.keys(deps).map(async (id) => {
    const g = await s.acquire(id);
    if (!g.go) {
      outcome.set(id, g);
      return;
    }
    started.push([id, clock]);
    await new Promise<void>((r) => timers.push({ at: clock + (cost[id] ?? 1), fire: r }));
    outcome.set(id, { go: true, end: clock });
    s.release(id, opts.fail?.includes(id) ? 'failed' : 'done');
  });
  // Advance virtual time: fire the earliest timer, let promises settle, repeat.
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  for (;;) {
    await settle();
    if (!timers.length) break;
    timers.sort((a, b) => a.at - b.at);
    const t = timers.shift()!;
    clock = t.at;
    t.fire();
  }
  await Promise.all(runAll);
  return { started, outcome, makespan: clock };
}

describe('Scheduler', () => {
  it('starts a child as soon as its own parent finishes (no phase barrier)', async () => {
    const deps = { baseA: [], baseB: [], runtimeA: ['baseA'] };
    const { started } = await simulate(deps, { baseA: 1, baseB: 10, runtimeA: 1 }, { workers: 2 });
    expect(started).toContainEqual(['runtimeA', 1]);
  });

  it('never runs more than maxWorkers at once and prefers the longest remaining path', async () => {
    const deps = { a: [], b: [], c: [], long1: [], long2: ['long1'], long3: ['long2'] };
    const { started, makespan } = await simulate(deps, { a: 1, b: 1, c: 1, long1: 1, long2: 1, long3: 1 }, { workers: 2 });
    expect(started[0]![0]).toBe('long1');
    for (let t = 0; t < makespan; t++) {
      const running = started.filter(([, at]) => at <= t && at + 1 > t).length;
      expect(running).toBeLessThanOrEqual(2);
    }
    expect(makespan).toBe(3);
  });

  it('stops starting work after a failure, unless keep-going', async () => {
    const deps = { a: [], b: ['a'], c: [], d: ['c'] };
    const stop = await simulate(deps, { a: 1, c: 2, d: 1 }, { workers: 1, fail: ['a'] });
    expect(stop.outcome.get('b')).toMatchObject({ go: false, status: 'blocked' });
    expect(stop.outcome.get('d')?.go).toBe(false);
    const keep = await simulate(deps, { a: 1, c: 2, d: 1 }, { workers: 1, fail: ['a'], keepGoing: true });
    expect(keep.outcome.get('b')).toMatchObject({ go: false, status: 'blocked', reason: 'dependency a failed' });
    expect(keep.outcome.get('d')?.go).toBe(true);
  });

  it('blocks the whole chain above a failure', async () => {
    const deps = { base: [], rt: ['base'], gpu: ['rt'], other: [] };
    const r = await simulate(deps, {}, { workers: 2, fail: ['base'], keepGoing: true });
    expect(r.outcome.get('rt')?.reason).toBe('dependency base failed');
    expect(r.outcome.get('gpu')?.reason).toBe('dependency rt did not run');
    expect(r.outcome.get('other')?.go).toBe(true);
  });

  it('atomic: publish tasks wait for everything and do not run after any failure', async () => {
    const deps = { b1: [], b2: [], m1: ['b1'], m2: ['b2'] };
    const ok = await simulate(deps, { b1: 1, b2: 5 }, { workers: 4, atomic: true, publish: ['m1', 'm2'] });
    expect(ok.started.find(([id]) => id === 'm1')![1]).toBe(5);
    const bad = await simulate(deps, { b1: 1, b2: 5 }, { workers: 4, atomic: true, publish: ['m1', 'm2'], fail: ['b2'], keepGoing: true });
    expect(bad.outcome.get('m1')).toMatchObject({ go: false, reason: 'atomic publish: b2 failed, so no public tag changes' });
  });

  it('cancel tells every queued task why it will not start', async () => {
    const s = new Scheduler(new Map([['a', []], ['b', []]]), { maxWorkers: 1, keepGoing: false, cost: () => 1 });
    const a = await s.acquire('a');
    const b = s.acquire('b');
    s.cancel('interrupted by SIGINT');
    expect(a.go).toBe(true);
    expect(await b).toMatchObject({ go: false, status: 'cancelled', reason: 'not started: interrupted by SIGINT' });
  });
});
