// DAG scheduling without phase barriers: a task becomes ready the moment its own
// dependencies have finished, and free workers go to the ready task with the longest
// remaining path. Execution itself belongs to the caller (listr2 in `build`, a simulated
// executor in the scheduling benchmark): each task asks `acquire` for permission to run.
// Light tasks (renders, merges, READMEs: registry and disk work) may have a pool of their own,
// so they never wait behind builds nor keep one waiting.
// Every event costs O(log n) plus the task's own edges, so large graphs schedule in linear time.

export type Final = 'done' | 'skipped' | 'failed' | 'blocked' | 'cancelled';

export interface Grant {
  go: boolean;
  /** Why the task will not run (dependency failed, stopping after a failure, atomic publish). */
  reason?: string;
  status?: Final;
}

export interface SchedulerOptions {
  /** Tasks at once; setMaxWorkers may change it mid-run. */
  maxWorkers: number;
  /**
   * Tasks that only talk to registries or the disk (renders, merges, READMEs): given, they
   * have a pool of their own of the same size, beside the builds and tests, so a merge never
   * holds a build's worker.
   */
  isLight?: (id: string) => boolean;
  keepGoing: boolean;
  /** Estimated cost of running a task (any unit), for longest-path priorities. */
  cost: (id: string) => number;
  /** Tasks that publish (manifests, READMEs): with `atomic` they wait for everything else. */
  isPublish?: (id: string) => boolean;
  atomic?: boolean;
}

type Status = 'pending' | 'running' | Final;

/** Max-heap on priority, ties broken by id so the order is stable. */
class ReadyHeap {
  private items: string[] = [];
  constructor(private readonly before: (a: string, b: string) => boolean) {}
  get size(): number {
    return this.items.length;
  }
  push(id: string): void {
    const a = this.items;
    a.push(id);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): string | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length && last !== undefined) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

export class Scheduler {
  private readonly deps: Map<string, string[]>;
  private readonly dependents = new Map<string, string[]>();
  private readonly priority = new Map<string, number>();
  private readonly status = new Map<string, Status>();
  /** Unfinished dependencies per task. */
  private readonly remaining = new Map<string, number>();
  /** Why a task can never run: set before or after it asks. */
  private readonly verdict = new Map<string, Grant>();
  private readonly waiters = new Map<string, (g: Grant) => void>();
  /** Tasks that asked since the last decision round. */
  private arrivals: string[] = [];
  private readonly ready: ReadyHeap;
  private readonly readyLight: ReadyHeap;
  /** Atomic mode: ready publish tasks held until every other task has settled. */
  private held: string[] = [];
  private unsettledOthers = 0;
  private readonly failedIds: string[] = [];
  private running = 0;
  private runningLight = 0;
  private maxWorkers: number;
  private stopping: string | undefined;
  private pumpQueued = false;

  constructor(deps: Map<string, string[]>, private readonly opts: SchedulerOptions) {
    if (opts.maxWorkers < 1) throw new Error('maxWorkers must be at least 1');
    this.maxWorkers = opts.maxWorkers;
    // Only dependencies inside the selection count; the rest are assumed present.
    this.deps = new Map([...deps].map(([id, ds]) => [id, ds.filter((d) => deps.has(d))]));
    for (const id of this.deps.keys()) {
      this.status.set(id, 'pending');
      this.dependents.set(id, []);
      if (!this.isPublish(id)) this.unsettledOthers++;
    }
    for (const [id, ds] of this.deps) {
      this.remaining.set(id, ds.length);
      for (const d of ds) this.dependents.get(d)!.push(id);
    }
    // Longest remaining path: this task's cost plus the costliest chain after it.
    for (const id of this.topo().reverse()) {
      let after = 0;
      for (const c of this.dependents.get(id)!) after = Math.max(after, this.priority.get(c)!);
      this.priority.set(id, opts.cost(id) + after);
    }
    const before = (a: string, b: string) => {
      const pa = this.priority.get(a)!;
      const pb = this.priority.get(b)!;
      return pa > pb || (pa === pb && a < b);
    };
    this.ready = new ReadyHeap(before);
    this.readyLight = new ReadyHeap(before);
  }

  private isPublish(id: string): boolean {
    return Boolean(this.opts.isPublish?.(id));
  }

  private isLight(id: string): boolean {
    return Boolean(this.opts.isLight?.(id));
  }

  /** Each pool's limit from now on: running tasks finish, and no more than `n` start beside them. */
  setMaxWorkers(n: number): void {
    if (n < 1) throw new Error('maxWorkers must be at least 1');
    this.maxWorkers = n;
    this.schedulePump();
  }

  private topo(): string[] {
    const indeg = new Map([...this.deps].map(([id, ds]) => [id, ds.length]));
    const queue = [...indeg].filter(([, n]) => n === 0).map(([id]) => id);
    for (let i = 0; i < queue.length; i++) {
      for (const c of this.dependents.get(queue[i]!)!) {
        indeg.set(c, indeg.get(c)! - 1);
        if (indeg.get(c) === 0) queue.push(c);
      }
    }
    if (queue.length !== this.deps.size) throw new Error('scheduler: the task graph has a cycle');
    return queue;
  }

  priorityOf(id: string): number {
    return this.priority.get(id) ?? 0;
  }

  /** Resolves when the task may run (or must not, with the reason). */
  acquire(id: string): Promise<Grant> {
    if (!this.status.has(id)) return Promise.resolve({ go: false, reason: 'not selected', status: 'cancelled' });
    return new Promise((resolve) => {
      this.waiters.set(id, resolve);
      this.arrivals.push(id);
      this.schedulePump();
    });
  }

  /** Reports a task's end; frees its worker. */
  release(id: string, final: 'done' | 'skipped' | 'failed' | 'cancelled'): void {
    if (this.status.get(id) === 'running') {
      if (this.isLight(id)) this.runningLight--;
      else this.running--;
    }
    this.settle(id, final);
    if (final === 'cancelled') {
      // Stopped by an interrupt: what waits on it is told by cancel(), as not started.
    } else if (final === 'failed') {
      this.failedIds.push(id);
      if (!this.opts.keepGoing && !this.stopping) this.stopping = id;
      for (const c of this.dependents.get(id)!) this.block(c, { go: false, status: 'blocked', reason: `dependency ${id} failed` });
    } else {
      for (const c of this.dependents.get(id)!) {
        const n = this.remaining.get(c)! - 1;
        this.remaining.set(c, n);
        if (n === 0 && this.waiters.has(c) && !this.verdict.has(c)) this.enqueue(c);
      }
    }
    this.schedulePump();
  }

  /** Stop starting new work (interrupt); queued tasks are told why. */
  cancel(reason: string): void {
    this.stopping ??= reason;
    this.schedulePump();
  }

  statusOf(id: string): string | undefined {
    return this.status.get(id);
  }

  get failed(): readonly string[] {
    return this.failedIds;
  }

  private settle(id: string, s: Final): void {
    const before = this.status.get(id);
    this.status.set(id, s);
    if (before !== undefined && (before === 'pending' || before === 'running') && !this.isPublish(id)) this.unsettledOthers--;
  }

  /** A task that can never run, and everything above it. */
  private block(id: string, g: Grant): void {
    if (this.verdict.has(id) || !['pending'].includes(this.status.get(id)!)) return;
    this.verdict.set(id, g);
    if (this.waiters.has(id)) this.resolve(id, g);
    for (const c of this.dependents.get(id)!) this.block(c, { go: false, status: 'blocked', reason: `dependency ${id} did not run` });
  }

  private resolve(id: string, g: Grant): void {
    const w = this.waiters.get(id)!;
    this.waiters.delete(id);
    this.settle(id, g.status!);
    w(g);
  }

  private enqueue(id: string): void {
    if (this.opts.atomic && this.isPublish(id)) this.held.push(id);
    else this.readyFor(id).push(id);
  }

  private readyFor(id: string): ReadyHeap {
    return this.isLight(id) ? this.readyLight : this.ready;
  }

  /**
   * Decisions wait for the current turn of the event loop to end, so every task that asks in
   * the same turn competes on priority rather than on who asked first.
   */
  private schedulePump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private stopReason(): string {
    const s = this.stopping!;
    return this.status.get(s) === 'failed' ? `not started: stopping after ${s} failed (use --keep-going to continue)` : `not started: ${s}`;
  }

  private pump(): void {
    for (const id of this.arrivals.splice(0)) {
      if (!this.waiters.has(id)) continue;
      const v = this.verdict.get(id);
      if (v) this.resolve(id, v);
      else if (this.remaining.get(id) === 0) this.enqueue(id);
    }
    if (this.stopping) {
      // Nothing new starts; everyone still waiting learns why.
      for (const id of [...this.waiters.keys()]) {
        const g = this.verdict.get(id) ?? { go: false, status: 'cancelled' as const, reason: this.stopReason() };
        this.verdict.set(id, g);
        this.resolve(id, g);
      }
      this.held = [];
      return;
    }
    if (this.opts.atomic && this.failedIds.length) {
      const g: Grant = { go: false, status: 'blocked', reason: `atomic publish: ${this.failedIds[0]} failed, so no public tag changes` };
      for (const id of this.held.splice(0)) if (this.waiters.has(id)) this.resolve(id, this.verdict.get(id) ?? g);
      for (const id of this.status.keys()) if (this.isPublish(id) && this.status.get(id) === 'pending' && !this.verdict.has(id)) this.block(id, g);
    }
    if (this.opts.atomic && this.unsettledOthers === 0 && !this.failedIds.length) {
      for (const id of this.held.splice(0)) this.readyFor(id).push(id);
    }
    while (this.running < this.maxWorkers && this.ready.size) {
      if (this.grant(this.ready.pop()!)) this.running++;
    }
    while (this.runningLight < this.maxWorkers && this.readyLight.size) {
      if (this.grant(this.readyLight.pop()!)) this.runningLight++;
    }
  }

  /** Starts a ready task, unless it was decided against meanwhile. */
  private grant(id: string): boolean {
    if (!this.waiters.has(id) || this.verdict.has(id)) return false;
    const w = this.waiters.get(id)!;
    this.waiters.delete(id);
    this.status.set(id, 'running');
    w({ go: true });
    return true;
  }
}
