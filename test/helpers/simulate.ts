// The real Scheduler driven by a simulated executor on a virtual clock: each task "runs" for
// its cost, so makespans are exact and repeatable. Used by the scheduler tests and benchmark.
import { Scheduler, type Grant } from '../../tasks/scheduler.ts';

export interface SimulateOptions {
  workers: number;
  keepGoing?: boolean;
  /** Tasks that fail when they run. */
  fail?: string[];
  atomic?: boolean;
  publish?: string[];
  /** Tasks with a pool of their own (renders, merges, READMEs in a real run). */
  light?: string[];
}

export interface Simulation {
  /** [task, start time], in start order. */
  started: [string, number][];
  outcome: Map<string, Grant>;
  makespan: number;
}

export async function simulate(deps: Map<string, string[]>, cost: (id: string) => number, o: SimulateOptions): Promise<Simulation> {
  const s = new Scheduler(deps, {
    maxWorkers: o.workers,
    keepGoing: o.keepGoing ?? false,
    cost,
    atomic: o.atomic,
    isPublish: (id) => (o.publish ?? []).includes(id),
    ...(o.light ? { isLight: (id: string) => o.light!.includes(id) } : {}),
  });
  const started: [string, number][] = [];
  const outcome = new Map<string, Grant>();
  let clock = 0;
  const timers: { at: number; fire: () => void }[] = [];
  const all = [...deps.keys()].map(async (id) => {
    const g = await s.acquire(id);
    outcome.set(id, g);
    if (!g.go) return;
    started.push([id, clock]);
    await new Promise<void>((r) => timers.push({ at: clock + cost(id), fire: r }));
    s.release(id, o.fail?.includes(id) ? 'failed' : 'done');
  });
  // Advance virtual time: let every decision settle, then fire the earliest timer.
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
  await Promise.all(all);
  return { started, outcome, makespan: clock };
}
