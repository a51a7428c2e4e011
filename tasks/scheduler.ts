// DAG scheduling without phase barriers: a task becomes ready the moment its own
// dependencies have finished, and free workers go to the ready task with the longest
// remaining path. Execution itself belongs to the caller (listr2 in `build`, a simulated
// executor in the scheduling benchmark): each task asks `acquire` for permission to run.

export type Final = 'done' | 'skipped' | 'failed' | 'blocked' | 'cancelled';

export interface Grant {
  go: boolean;
  /** Why the task will not run (dependency failed, stopping after a failure, atomic publish). */
  reason?: string;
  status?: Final;
}

export interface SchedulerOptions {
  maxWorkers: number;
  keepGoing: boolean;
  /** Estimated cost of running a task (any unit), for longest-path priorities. */
  cost: (id: string) => number;
  /** Tasks that publish (manifests, READMEs): with `atomic` they wait for everything else. */
  isPublish?: (id: string) => boolean;
  atomic?: boolean;
}

export class Scheduler {
  private readonly deps: Map<string, string[]>;
  private readonly dependents = new Map<string, string[]>();
  private readonly priority = new Map<string, number>();
  private readonly status = new Map<string, 'pending' | 'running' | Final>();
  private readonly waiters = new Map<string, (g: Grant) => void>();
  private readonly failedIds: string[] = [];
  private running = 0;
  private stopping: string | undefined;

  constructor(deps: Map<string, string[]>, private readonly opts: SchedulerOptions) {
    // Only dependencies inside the selection count; the rest are assumed present.
    this.deps = new Map([...deps].map(([id, ds]) => [id, ds.filter((d) => deps.has(d))]));
    for (const id of this.deps.keys()) {
      this.status.set(id, 'pending');
      this.dependents.set(id, []);
    }
    for (const [id, ds] of this.deps) for (const d of ds) this.dependents.get(d)!.push(id);
    // Longest remaining path (this task's cost plus the costliest chain after it).
    const order = this.topo();
    for (const id of order.reverse()) {
      const after = Math.max(0, ...this.dependents.get(id)!.map((c) => this.priority.get(c)!));
      this.priority.set(id, opts.cost(id) + after);
    }
    if (opts.maxWorkers < 1) throw new Error('maxWorkers must be at least 1');
  }

  private topo(): string[] {
    const indeg = new Map([...this.deps].map(([id, ds]) => [id, ds.length]));
    const queue = [...indeg].filter(([, n]) => n === 0).map(([id]) => id);
    const out: string[] = [];
    while (queue.length) {
      const id = queue.shift()!;
      out.push(id);
      for (const c of this.dependents.get(id)!) {
        indeg.set(c, indeg.get(c)! - 1);
        if (indeg.get(c) === 0) queue.push(c);
      }
    }
    if (out.length !== this.deps.size) throw new Error('scheduler: the task graph has a cycle');
    return out;
  }

  priorityOf(id: string): number {
    return this.priority.get(id) ?? 0;
  }

  /** Resolves when the task may run (or must not, with the reason). */
  acquire(id: string): Promise<Grant> {
    if (!this.status.has(id)) return Promise.resolve({ go: false, reason: 'not selected', status: 'cancelled' });
    return new Promise((resolve) => {
      this.waiters.set(id, resolve);
      this.schedulePump();
    });
  }

  /** Reports a task's end; frees its worker. */
  release(id: string, final: 'done' | 'skipped' | 'failed'): void {
    if (this.status.get(id) === 'running') this.running--;
    this.status.set(id, final);
    if (final === 'failed') {
      this.failedIds.push(id);
      if (!this.opts.keepGoing && !this.stopping) this.stopping = id;
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

  private settled(id: string): boolean {
    const s = this.status.get(id)!;
    return s !== 'pending' && s !== 'running';
  }

  private pumpQueued = false;

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

  private pump(): void {
    let progressed = true;
    while (progressed) {
      progressed = false;
      // Resolve what can never run.
      for (const [id, resolve] of this.waiters) {
        const blocker = this.deps.get(id)!.find((d) => ['failed', 'blocked', 'cancelled'].includes(this.status.get(d)!));
        let grant: Grant | undefined;
        if (blocker) {
          const s = this.status.get(blocker);
          grant = { go: false, status: 'blocked', reason: `dependency ${blocker} ${s === 'failed' ? 'failed' : 'did not run'}` };
        } else if (this.stopping) {
          grant = { go: false, status: 'cancelled', reason: this.stopping.includes(':') && this.status.get(this.stopping) === 'failed' ? `not started: stopping after ${this.stopping} failed (use --keep-going to continue)` : `not started: ${this.stopping}` };
        } else if (this.opts.atomic && this.opts.isPublish?.(id) && this.failedIds.length) {
          grant = { go: false, status: 'blocked', reason: `atomic publish: ${this.failedIds[0]} failed, so no public tag changes` };
        }
        if (grant) {
          this.waiters.delete(id);
          this.status.set(id, grant.status!);
          resolve(grant);
          progressed = true;
        }
      }
      if (progressed) continue;
      // Start the best ready tasks.
      while (this.running < this.opts.maxWorkers) {
        let best: string | undefined;
        for (const id of this.waiters.keys()) {
          if (!this.deps.get(id)!.every((d) => this.settled(d))) continue;
          if (this.opts.atomic && this.opts.isPublish?.(id)) {
            const nonPublishPending = [...this.status].some(([x, s]) => !this.opts.isPublish!(x) && (s === 'pending' || s === 'running'));
            if (nonPublishPending) continue;
          }
          if (best === undefined || this.priority.get(id)! > this.priority.get(best)! || (this.priority.get(id) === this.priority.get(best) && id < best)) best = id;
        }
        if (best === undefined) break;
        const resolve = this.waiters.get(best)!;
        this.waiters.delete(best);
        this.status.set(best, 'running');
        this.running++;
        resolve({ go: true });
        progressed = true;
      }
    }
  }
}
