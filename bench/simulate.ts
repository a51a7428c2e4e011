// Schedule bounds for the scheduling benchmark; the simulation itself is test/helpers/simulate.ts.

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
