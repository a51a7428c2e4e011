// CI fan-out, planned purely: chains of builds (one root image's platform and everything built
// FROM it: a distro × the root release's axis values × a platform) become matrix jobs; a
// GitHub Actions workflow runs them and then publishes.
import { UsageError } from '../base/errors.ts';
import type { Plan } from '../plan/plan.ts';
import type { Spec } from '../load/spec.ts';
import type { BuildTask, TestTask } from '../plan/task.ts';

export interface MatrixJob {
  /** Human name: `debian11 py3.9 linux/arm64`. */
  name: string;
  platform: string;
  runner: string;
  /** Whether the job needs QEMU (no native runner for its platform). */
  qemu: boolean;
  /** Task ids for `manager build --only`. */
  only: string;
  /** Minutes the job may take: its builds' and tests' timeouts, within GitHub's six hours. */
  timeout: number;
}

/** GitHub refuses a matrix of more than 256 jobs; larger fan-outs go in several. */
export const MATRIX_LIMIT = 256;

/** The release at the top of a release's chain. */
export function rootRelease(spec: Spec, release: string): string {
  let r = release;
  for (let p = spec.releases[r]!.parent; p; p = spec.releases[r]!.parent) r = p;
  return r;
}

/**
 * `debian11 py3.9 linux/arm64`: the distro, the root's axis values (by id), the platform. A
 * per-file axis at its default is left out, as in image keys: `debian11 py3.9 conda linux/amd64`.
 */
export function chainKey(spec: Spec, b: BuildTask): string {
  const root = spec.releases[rootRelease(spec, b.release)]!;
  const shown = root.axes.filter((a) => !(spec.axes[a]!.render === 'per-file' && spec.axes[a]!.default === b.axes[a]));
  return [b.distro, ...shown.map((a) => `${spec.axes[a]!.id}${b.axes[a]}`), b.platforms.join(',')].join(' ');
}

/**
 * One job per chain that has changed builds. A job lists only its changed builds; the ones
 * it builds FROM are unchanged, already in the registry, and found there by hash.
 */
export function ciMatrix(plan: Plan, selected: Set<string>, changed: Set<string>): { include: MatrixJob[] } {
  const chains = new Map<string, BuildTask[]>();
  for (const id of plan.order) {
    const t = plan.tasks.get(id)!;
    if (t.kind !== 'build' || !selected.has(id) || !changed.has(id)) continue;
    const k = chainKey(plan.spec, t);
    if (!chains.has(k)) chains.set(k, []);
    chains.get(k)!.push(t);
  }
  const testsOf = new Map<string, string[]>();
  for (const t of plan.tasks.values()) if (t.kind === 'test') testsOf.set(t.build, [...(testsOf.get(t.build) ?? []), t.id]);
  const include = [...chains.entries()].map(([name, builds]) => {
    // CI plans per-platform builds, so a chain is one platform; a native runner needs that.
    const platform = builds[0]!.platforms.join(',');
    const native = plan.spec.build.runners[platform];
    const tests = builds.flatMap((b) => testsOf.get(b.id) ?? []);
    const seconds = builds.reduce((n, b) => n + b.timeout, 0) + tests.reduce((n, id) => n + (plan.tasks.get(id) as TestTask).tests.reduce((m, t) => m + t.timeout, 0), 0);
    return {
      name,
      platform,
      runner: native ?? plan.spec.build.defaultRunner,
      qemu: !native && platform !== 'linux/amd64' && platform !== 'linux/386',
      only: [...builds.map((b) => b.id), ...tests].join(','),
      timeout: Math.min(360, Math.ceil(seconds / 60) + 10),
    };
  });
  return { include };
}

/** Every chain the selection could fan out to: the most jobs a matrix may ever hold. */
export function chainCount(plan: Plan, selected: Set<string>): number {
  return new Set([...selected].map((id) => plan.tasks.get(id)!).filter((t): t is BuildTask => t.kind === 'build').map((b) => chainKey(plan.spec, b))).size;
}

/** The matrix in GitHub-sized pieces: `batches` of them, the last ones possibly empty. */
export function matrixBatches(m: { include: MatrixJob[] }, batches: number, size = MATRIX_LIMIT): { include: MatrixJob[] }[] {
  if (m.include.length > batches * size) {
    throw new UsageError(`the matrix has ${m.include.length} jobs, more than the workflow's ${batches} batch${batches === 1 ? '' : 'es'} of ${size} hold: regenerate it with \`manager ci github\``);
  }
  return Array.from({ length: batches }, (_, i) => ({ include: m.include.slice(i * size, (i + 1) * size) }));
}

/** What `--shard` deals out: whole chains (the default), every chain of a distro, or of an axis value. */
export type ShardBy = { by: 'chain' } | { by: 'distro' } | { by: 'axis'; axis: string };

export function parseShardBy(text: string, spec: Spec): ShardBy {
  if (text === 'chain' || text === 'distro') return { by: text };
  const m = /^axis:(.+)$/.exec(text);
  if (!m) throw new UsageError(`bad --shard-by "${text}": expected chain, distro or axis:NAME`);
  const axis = m[1]!;
  if (!Object.hasOwn(spec.axes, axis)) throw new UsageError(`bad --shard-by "${text}": unknown axis "${axis}" (axes: ${Object.keys(spec.axes).join(', ') || 'none'})`);
  // A shard must hold whole chains, so the axis must be fixed from the root down.
  const roots = spec.releaseOrder.filter((r) => !spec.releases[r]!.parent && !spec.releases[r]!.axes.includes(axis));
  if (roots.length) throw new UsageError(`cannot shard by axis "${axis}": root release${roots.length === 1 ? '' : 's'} ${roots.join(', ')} ${roots.length === 1 ? 'does' : 'do'} not expand over it, so its images would belong to no shard (shard by an axis every root release has)`);
  return { by: 'axis', axis };
}

/** `--shard I/N`: whole chains grouped by `by`, the groups dealt round-robin in a stable order. */
export function shardSelection(plan: Plan, selected: Set<string>, shard: string, by: ShardBy = { by: 'chain' }): Set<string> {
  const m = /^(\d+)\/(\d+)$/.exec(shard);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new UsageError(`bad --shard "${shard}": expected I/N with 1 <= I <= N`);
  const [i, n] = [Number(m[1]), Number(m[2])];
  const group = (b: BuildTask) => (by.by === 'distro' ? b.distro : by.by === 'axis' ? b.axes[by.axis]! : chainKey(plan.spec, b));
  const keys = [...new Set(plan.order.map((id) => plan.tasks.get(id)!).filter((t): t is BuildTask => t.kind === 'build' && selected.has(t.id)).map(group))].sort();
  const mine = new Set(keys.filter((_, k) => k % n === i - 1));
  const out = new Set<string>();
  for (const id of selected) {
    const t = plan.tasks.get(id)!;
    if (t.kind === 'render') out.add(id);
    if (t.kind === 'build' && mine.has(group(t))) out.add(id);
    if (t.kind === 'test' && mine.has(group(plan.tasks.get(t.build) as BuildTask))) out.add(id);
  }
  return out;
}
