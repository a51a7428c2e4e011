// The real Scheduler driven by a simulated executor on a virtual clock: each task "runs" for
// its cost, so makespans are exact and repeatable.
import { Scheduler } from '../tasks/scheduler.ts';

export async function simulate(deps: Map<string, string[]>, cost: (id: string) => number, workers: number): Promise<number> {
  const s = new Scheduler(deps, { maxWorkers: workers, keepGoing: false, cost });
  let clock = 0;
  const timers: { at: number; fire: () => void }[] = [];
  const all = [...deps.keys()].map(async (id) => {
    const g = await s.acquire(id);
    if (!g.go) throw new Error(`${id} did not run: ${g.reason}`);
    await new Promise<void>((r) => timers.push({ at: clock + cost(id), fire: r }));
    s.release(id, 'done');
  });
  const settle = async () => {
    for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
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
  return clock;
}

/** Longest cost-weighted path. */
export function criticalPath(deps: Map<string, string[]>, cost: (id: string) => number): number {
  const memo = new Map<string, number>();
  const finish = (id: string): number => {
    if (memo.has(id)) return memo.get(id)!;
    const v = cost(id) + Math.max(0, ...deps.get(id)!.filter((d) => deps.has(d)).map(finish));
    memo.set(id, v);
    return v;
  };
  return Math.max(...[...deps.keys()].map(finish));
}

/** A thread pool per stage: every task of stage k starts only after all of stage k-1 ended. */
export function phaseSchedule(stages: string[][], cost: (id: string) => number, workers: number): number {
  let total = 0;
  for (const stage of stages) {
    const free = Array(workers).fill(0) as number[];
    for (const id of stage) {
      free.sort((a, b) => a - b);
      free[0]! += cost(id);
    }
    total += Math.max(0, ...free);
  }
  return total;
}
