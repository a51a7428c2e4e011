// Runs BuildKit's Dockerfile checks on each selected Dockerfile once (core/buildx/checks.ts
// builds the argv and reads the answer): the build a run would start, with `--call check`.
import { WorkError } from '../core/base/errors.ts';
import { buildInvocation, type InvocationContext } from '../core/buildx/invocation.ts';
import { checkArgv, parseCheckOutput, type DockerfileCheck } from '../core/buildx/checks.ts';
import { stagingRef } from '../core/plan/staging.ts';
import type { Plan } from '../core/plan/plan.ts';
import type { BuildTask } from '../core/plan/task.ts';
import { describeFailure, run } from './runner.ts';

export async function runChecks(plan: Plan, selected: ReadonlySet<string>, ctx: InvocationContext): Promise<DockerfileCheck[]> {
  const byFile = new Map<string, BuildTask[]>();
  for (const id of plan.order) {
    const t = plan.tasks.get(id)!;
    if (t.kind !== 'build' || !selected.has(id)) continue;
    const file = `${t.context}/${t.dockerfile}`;
    if (!byFile.has(file)) byFile.set(file, []);
    byFile.get(file)!.push(t);
  }
  const out: DockerfileCheck[] = [];
  for (const [dockerfile, builds] of byFile) {
    const b = builds[0]!;
    const parent = b.parentBuild ? (plan.tasks.get(b.parentBuild) as BuildTask) : undefined;
    const argv = checkArgv(buildInvocation(b, parent ? stagingRef(ctx.stagingRepo, parent) : undefined, ctx));
    const r = await run(argv);
    const warnings = parseCheckOutput(r.stdout);
    // buildx exits 1 when a check warns; anything else without its report is a failure.
    if (!warnings) throw new WorkError(`checking ${dockerfile} failed`, describeFailure(r));
    out.push({ dockerfile, images: [...new Set(builds.map((x) => x.variant))], warnings });
  }
  return out;
}
