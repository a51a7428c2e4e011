// How an image's platforms are built: one build per platform merged by a manifest task
// (split), or one build for all of them (single). Decided from what the builder can do,
// before planning, because it decides the shape of the graph.
import { UsageError } from '../base/errors.ts';
import type { TaskRecord } from './record.ts';
import type { Task } from './task.ts';

export type MultiPlatformMode = 'auto' | 'single' | 'split';

/** What planning needs to know of a builder; tasks/builders.ts finds it out. */
export interface BuilderCapabilities {
  name: string;
  driver: string;
  /** Several platforms in one build. */
  multiPlatform: boolean;
  /** Several platforms in one build loaded into the local engine (the containerd image store). */
  multiPlatformLoad: boolean;
}

export interface MultiPlatformChoice {
  strategy: 'single' | 'split';
  reason: string;
}

export interface ChoiceContext {
  /** A --platforms filter: only part of each image's platforms is built. */
  platformFilter: boolean;
  load: boolean;
  /** --only or --shard: work named or dealt out per platform, as `ci matrix` plans it. */
  fanOut: boolean;
}

export function chooseMultiPlatform(requested: MultiPlatformMode, builder: BuilderCapabilities | undefined, c: ChoiceContext): MultiPlatformChoice {
  if (requested === 'split') return { strategy: 'split', reason: 'split was asked for' };
  const what = builder && `builder "${builder.name}" (driver ${builder.driver})`;
  const can = builder && (c.load ? builder.multiPlatformLoad : builder.multiPlatform);
  if (requested === 'single') {
    if (c.platformFilter) {
      throw new UsageError('--multi-platform single builds every platform of an image in one build, so it cannot take a --platforms filter; use split (or auto) to build some platforms only');
    }
    if (builder && !can) {
      throw new UsageError(
        `${what} cannot ${c.load ? 'load several platforms of one image into the engine' : 'build several platforms in one build'}: ` +
          'use --multi-platform split (or auto), a builder from `manager builder create`, or an engine with the containerd image store',
      );
    }
    return { strategy: 'single', reason: builder ? `single was asked for; ${what} supports it` : 'single was asked for' };
  }
  if (!builder) return { strategy: 'split', reason: 'no builder to ask, so one build per platform' };
  if (c.platformFilter) return { strategy: 'split', reason: 'a --platforms filter builds part of each image' };
  if (c.fanOut) return { strategy: 'split', reason: '--only and --shard name per-platform work' };
  if (!can) return { strategy: 'split', reason: `${what} builds one platform per build${c.load ? ' into the engine' : ''}` };
  return { strategy: 'single', reason: `${what} builds several platforms in one build` };
}

/**
 * Whether `auto` may keep the one-build-per-platform plan without asking the builder: the
 * builder's answer only matters for builds that would run, and here every build of that plan
 * is recorded as done with its current hash (so the state file skips it, as the last run that
 * planned this way left it). Asking would start docker processes on a no-op, and could only
 * replace finished images by the same images built another way.
 */
export function splitAlreadyDone(tasks: Iterable<Task>, records: Record<string, TaskRecord>, force: boolean): boolean {
  if (force) return false;
  let builds = 0;
  for (const t of tasks) {
    if (t.kind !== 'build') continue;
    builds++;
    const rec = records[t.id];
    if (!rec || rec.hash !== t.hash.value || !rec.ref) return false;
  }
  return builds > 0;
}
