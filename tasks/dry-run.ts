// The dry run: the real run's decisions (same facts, same decide()), in dependency order,
// with the steps each task that would run would take (core/buildx/steps.ts: the same pure functions
// the real run executes), printed as pasteable command lines. Runs nothing and writes nothing.
import type { DecideOptions } from '../core/plan/decide.ts';
import { short } from '../core/base/hash.ts';
import type { InvocationContext } from '../core/buildx/invocation.ts';
import { formatStep, stepsOf } from '../core/buildx/steps.ts';
import type { Task } from '../core/plan/task.ts';
import { dryRunStatus } from '../core/views/result.ts';
import { decideTask, prefetch, type FactFinder } from './facts.ts';
import type { TaskResult } from './run.ts';

/** What the dry run decides over: the tasks in order, how facts are found and decisions made, what builds would run with. */
export interface DryRunContext {
  ordered: Task[];
  finder: FactFinder;
  decideOpts: DecideOptions;
  /** Build id → the image it is known to have made; the dry run adds the skips it finds. */
  images: Map<string, { ref: string; digest?: string }>;
  inv: InvocationContext;
  logDir: string;
}

export async function dryRun(c: DryRunContext, emit: (line: string) => void): Promise<TaskResult[]> {
  // One write per line cost a sixth of a large dry run: lines go out in chunks of about
  // 64 KiB, and whatever is left when the run ends (or an error stops it).
  let pending: string[] = [];
  let size = 0;
  const flush = () => {
    if (!pending.length) return;
    const chunk = pending.join('\n');
    pending = [];
    size = 0;
    emit(chunk);
  };
  const log = (line: string) => {
    pending.push(line);
    size += line.length + 1;
    if (size >= 1 << 16) flush();
  };
  try {
    return await decideAll(c, log);
  } finally {
    flush();
  }
}

async function decideAll({ ordered, finder, decideOpts, images, inv, logDir }: DryRunContext, log: (line: string) => void): Promise<TaskResult[]> {
  const willRun = new Set<string>();
  const results: TaskResult[] = [];
  const early = prefetch(ordered, finder, decideOpts, (id) => images.get(id));
  // An image a task of this run would make is not known yet: a placeholder stands for its digest.
  const placeholder = (id: string) => (willRun.has(id) ? `<${id} digest>` : images.get(id)?.ref ?? `<${id} digest>`);
  const ctx = { inv, logDir, image: placeholder, hostArch: finder.run.hostArch };
  for (const t of ordered) {
    const { decision: d } = (await early.get(t.id)) ?? (await decideTask(t, finder, decideOpts, (id) => (willRun.has(id) ? undefined : images.get(id)), (id) => willRun.has(id)));
    if (d.action === 'skip' && d.ref) images.set(t.id, { ref: d.ref, digest: d.digest });
    if (d.action !== 'skip') willRun.add(t.id);
    const verb = d.action === 'skip' ? 'skip' : d.action === 'fail' ? 'FAIL' : 'run ';
    log(`${verb} ${t.id}  ${short(t.hash.value)}  (${d.reason})`);
    const steps = d.action === 'run' ? stepsOf(t, ctx) : [];
    for (const s of steps) log(`     ${formatStep(s)}`);
    results.push({
      id: t.id,
      kind: t.kind,
      status: dryRunStatus(d.action),
      reason: d.reason,
      changed: d.changed?.map((c) => c.part),
      durationMs: 0,
      hash: t.hash.value,
      ref: d.ref,
      digest: d.digest,
      action: d.action,
      ...(steps.length ? { steps } : {}),
    });
  }
  log(dryRunTotals(results));
  return results;
}

/** The dry run's closing line: `12 run, 30 skip, 0 fail: 4 builds, 4 tests, 2 manifests, 2 renders`. */
export function dryRunTotals(results: Pick<TaskResult, 'kind' | 'action'>[]): string {
  const n = (a: string) => results.filter((r) => r.action === a).length;
  const kinds = ['build', 'test', 'manifest', 'render', 'readme'] as const;
  const running = kinds
    .map((k) => [k, results.filter((r) => r.action === 'run' && r.kind === k).length] as const)
    .filter(([, c]) => c > 0)
    .map(([k, c]) => `${c} ${k}${c === 1 ? '' : 's'}`);
  return `${n('run')} run, ${n('skip')} skip, ${n('fail')} fail${running.length ? `: ${running.join(', ')}` : ''}`;
}
