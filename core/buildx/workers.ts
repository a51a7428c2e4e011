// How many tasks work on the engine at once when neither --max-workers nor the spec's
// build.max_workers says: chosen from the builder the first build runs on (docs/building.md,
// "Worker count", has the measurements behind the numbers).
import type { BuilderInfo } from './argv.ts';

/** Builds per engine CPU: most of a build's time is spent waiting (context, export, push), not computing. */
export const BUILDS_PER_CPU = 2;
/** Builds per node of a builder whose CPUs buildx does not report. */
export const BUILDS_PER_NODE = 4;
/** Past this, more builds at once only queue inside BuildKit and spread the engine's memory thinner. */
export const MAX_DEFAULT_WORKERS = 16;
/** Before the builder is asked (and on a run that never asks it): decisions and skips only. */
export const PROVISIONAL_WORKERS = 5;

export interface WorkerCount {
  count: number;
  /** Where the count came from: the flag, the spec, the builder, or nothing yet (no build ran). */
  from: 'flag' | 'spec' | 'builder' | 'provisional';
  reason: string;
}

/** The count a run starts with: the flag's, else the spec's, else provisional until a build asks the builder. */
export function givenWorkers(flag: number | undefined, spec: number | undefined): WorkerCount {
  if (flag !== undefined) return { count: flag, from: 'flag', reason: '--max-workers' };
  if (spec !== undefined) return { count: spec, from: 'spec', reason: 'the spec\'s build.max_workers' };
  return { count: PROVISIONAL_WORKERS, from: 'provisional', reason: 'no build ran, so the builder was not asked' };
}

/**
 * Pure: builds at once on this builder. QEMU builds keep a CPU busy for their whole run, so
 * with an emulated platform among the builds, one per CPU; native builds of the docker driver
 * spend most of their time on I/O, so several per CPU. Other drivers do not report their
 * CPUs: a fixed number per node.
 */
export function workersFor(b: Pick<BuilderInfo, 'driver' | 'nodes' | 'cpus'>, emulated: boolean): WorkerCount {
  const clamp = (n: number) => Math.max(2, Math.min(MAX_DEFAULT_WORKERS, n));
  if (b.cpus) {
    const cpus = `${b.cpus} CPU${b.cpus === 1 ? '' : 's'}`;
    if (emulated) return { count: clamp(b.cpus), from: 'builder', reason: `${b.driver} driver, ${cpus}, emulated platforms: one build per CPU` };
    const n = clamp(BUILDS_PER_CPU * b.cpus);
    return { count: n, from: 'builder', reason: `${b.driver} driver, ${cpus}: ${BUILDS_PER_CPU} builds per CPU${n !== BUILDS_PER_CPU * b.cpus ? ` (at most ${MAX_DEFAULT_WORKERS}, at least 2)` : ''}` };
  }
  const nodes = Math.max(1, b.nodes);
  const n = clamp(BUILDS_PER_NODE * nodes);
  return { count: n, from: 'builder', reason: `${b.driver} driver, ${nodes} node${nodes === 1 ? '' : 's'} (CPUs not reported): ${BUILDS_PER_NODE} builds per node${n !== BUILDS_PER_NODE * nodes ? ` (at most ${MAX_DEFAULT_WORKERS})` : ''}` };
}
