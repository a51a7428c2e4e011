import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../tasks/scheduler.ts';
import { simulate, type SimulateOptions } from '../helpers/simulate.ts';

function run(deps: Record<string, string[]>, cost: Record<string, number>, opts: SimulateOptions) {
  return simulate(new Map(Object.entries(deps)), (id) => cost[id] ?? 1, opts);
}

describe('Scheduler', () => {
  it('starts a child as soon as its own parent finishes (no phase barrier)', async () => {
    const deps = { baseA: [], baseB: [], runtimeA: ['baseA'] };
    const { started } = await run(deps, { baseA: 1, baseB: 10, runtimeA: 1 }, { workers: 2 });
    expect(started).toContainEqual(['runtimeA', 1]);
  });

  it('never runs more than maxWorkers at once and prefers the longest remaining path', async () => {
    const deps = { a: [], b: [], c: [], long1: [], long2: ['long1'], long3: ['long2'] };
    const { started, makespan } = await run(deps, { a: 1, b: 1, c: 1, long1: 1, long2: 1, long3: 1 }, { workers: 2 });
    expect(started[0]![0]).toBe('long1');
    for (let t = 0; t < makespan; t++) {
      const running = started.filter(([, at]) => at <= t && at + 1 > t).length;
      expect(running).toBeLessThanOrEqual(2);
    }
    expect(makespan).toBe(3);
  });

  it('stops starting work after a failure, unless keep-going', async () => {
    const deps = { a: [], b: ['a'], c: [], d: ['c'] };
    const stop = await run(deps, { a: 1, c: 2, d: 1 }, { workers: 1, fail: ['a'] });
    expect(stop.outcome.get('b')).toMatchObject({ go: false, status: 'blocked' });
    expect(stop.outcome.get('d')?.go).toBe(false);
    const keep = await run(deps, { a: 1, c: 2, d: 1 }, { workers: 1, fail: ['a'], keepGoing: true });
    expect(keep.outcome.get('b')).toMatchObject({ go: false, status: 'blocked', reason: 'dependency a failed' });
    expect(keep.outcome.get('d')?.go).toBe(true);
  });

  it('blocks the whole chain above a failure', async () => {
    const deps = { base: [], rt: ['base'], gpu: ['rt'], other: [] };
    const r = await run(deps, {}, { workers: 2, fail: ['base'], keepGoing: true });
    expect(r.outcome.get('rt')?.reason).toBe('dependency base failed');
    expect(r.outcome.get('gpu')?.reason).toBe('dependency rt did not run');
    expect(r.outcome.get('other')?.go).toBe(true);
  });

  it('atomic: publish tasks wait for everything and do not run after any failure', async () => {
    const deps = { b1: [], b2: [], m1: ['b1'], m2: ['b2'] };
    const ok = await run(deps, { b1: 1, b2: 5 }, { workers: 4, atomic: true, publish: ['m1', 'm2'] });
    expect(ok.started.find(([id]) => id === 'm1')![1]).toBe(5);
    const bad = await run(deps, { b1: 1, b2: 5 }, { workers: 4, atomic: true, publish: ['m1', 'm2'], fail: ['b2'], keepGoing: true });
    expect(bad.outcome.get('m1')).toMatchObject({ go: false, reason: 'atomic publish: b2 failed, so no public tag changes' });
  });

  it('light tasks run in a pool of their own: a merge never holds a build\'s worker, nor waits behind builds', async () => {
    // Two chains of builds, each build's merge beside it: with one pool, the merges take turns with the builds.
    const deps = { b1: [], b2: ['b1'], c1: [], c2: ['c1'], m1: ['b1'], m2: ['b2'], n1: ['c1'], n2: ['c2'] };
    const cost = { b1: 2, b2: 2, c1: 2, c2: 2, m1: 1, m2: 1, n1: 1, n2: 1 };
    const shared = await run(deps, cost, { workers: 2 });
    const apart = await run(deps, cost, { workers: 2, light: ['m1', 'm2', 'n1', 'n2'] });
    expect(apart.makespan).toBe(5);
    expect(shared.makespan).toBeGreaterThan(apart.makespan);
    // Still at most `workers` of each kind at once.
    for (let t = 0; t < apart.makespan; t++) {
      const at = (ids: string[]) => apart.started.filter(([id, s]) => ids.includes(id) && s <= t && s + cost[id as keyof typeof cost] > t).length;
      expect(at(['b1', 'b2', 'c1', 'c2'])).toBeLessThanOrEqual(2);
      expect(at(['m1', 'm2', 'n1', 'n2'])).toBeLessThanOrEqual(2);
    }
  });

  it('setMaxWorkers changes the limit mid-run: more start at once when it grows, none past it when it shrinks', async () => {
    const s = new Scheduler(new Map(['a', 'b', 'c', 'd'].map((id) => [id, []])), { maxWorkers: 1, keepGoing: false, cost: () => 1 });
    const grants = new Map(['a', 'b', 'c', 'd'].map((id) => [id, s.acquire(id)]));
    const started = new Set<string>();
    for (const [id, g] of grants) void g.then((x) => x.go && started.add(id));
    const settle = async () => {
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    };
    await settle();
    expect(started.size).toBe(1);
    s.setMaxWorkers(3);
    await settle();
    expect(started.size).toBe(3);
    s.setMaxWorkers(1);
    for (const id of [...started]) s.release(id, 'done');
    await settle();
    // Three finished, one left: it starts, alone.
    expect(started.size).toBe(4);
    expect(() => s.setMaxWorkers(0)).toThrow(/at least 1/);
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
