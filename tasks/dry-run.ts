// The dry run: the real run's decisions (same facts, same decide()), in dependency order,
// with the argv each task that would run would get. Runs nothing and writes nothing.
import { buildArgv, runTestArgv } from '../core/buildx.ts';
import type { DecideOptions } from '../core/decide.ts';
import { short } from '../core/hash.ts';
import { buildInvocation, mergeArgv, type InvocationContext } from '../core/invocation.ts';
import type { Task } from '../core/task.ts';
import { decideTask, prefetch, type FactFinder } from './facts.ts';
import type { TaskResult } from './run.ts';

export async function dryRun(
  ordered: Task[],
  finder: FactFinder,
  decideOpts: DecideOptions,
  images: Map<string, { ref: string; digest?: string }>,
  inv: InvocationContext,
  emit: (line: string) => void,
): Promise<TaskResult[]> {
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
    return await decideAll(ordered, finder, decideOpts, images, inv, log);
  } finally {
    flush();
  }
}

async function decideAll(
  ordered: Task[],
  finder: FactFinder,
  decideOpts: DecideOptions,
  images: Map<string, { ref: string; digest?: string }>,
  inv: InvocationContext,
  log: (line: string) => void,
): Promise<TaskResult[]> {
  const willRun = new Set<string>();
  const results: TaskResult[] = [];
  const early = prefetch(ordered, finder, decideOpts, (id) => images.get(id));
  const placeholder = (id: string) => (willRun.has(id) ? `<${id} digest>` : images.get(id)?.ref ?? `<${id} digest>`);
  for (const t of ordered) {
    const { decision: d } = (await early.get(t.id)) ?? (await decideTask(t, finder, decideOpts, (id) => (willRun.has(id) ? undefined : images.get(id)), (id) => willRun.has(id)));
    if (d.action === 'skip' && d.ref) images.set(t.id, { ref: d.ref, digest: d.digest });
    if (d.action !== 'skip') willRun.add(t.id);
    const verb = d.action === 'skip' ? 'skip' : d.action === 'fail' ? 'FAIL' : 'run ';
    log(`${verb} ${t.id}  ${short(t.hash.value)}  (${d.reason})`);
    if (d.action === 'run') {
      if (t.kind === 'build') log(`     ${buildArgv(buildInvocation(t, t.parentBuild ? placeholder(t.parentBuild) : undefined, inv)).join(' ')}`);
      else if (t.kind === 'manifest') log(`     ${mergeArgv(t, t.builds.map(placeholder), inv).join(' ')}`);
      else if (t.kind === 'test') for (const x of t.tests) log(`     ${runTestArgv(placeholder(t.build), t.platform, x.run, x.entrypoint).join(' ')}`);
      else if (t.kind === 'render') log(`     write ${t.files.map((f) => f.path).join(' ')}`);
      else if (t.kind === 'readme') log(`     push README.md to ${t.repository}`);
    }
    results.push({
      id: t.id,
      kind: t.kind,
      status: d.action === 'skip' ? 'skipped' : d.action === 'fail' ? 'would-fail' : 'would-run',
      reason: d.reason,
      changed: d.changed?.map((c) => c.part),
      durationMs: 0,
      hash: t.hash.value,
      ref: d.ref,
      digest: d.digest,
    });
  }
  return results;
}
