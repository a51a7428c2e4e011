// Export of the selected builds as a docker-bake.json, so bake and docker/bake-action users can
// adopt the graph. Pure: plan (and recorded references) in, bake document out.
import { relative } from 'node:path';
import type { Plan } from '../plan/plan.ts';
import type { BuildTask } from '../plan/task.ts';
import { cacheFromList, cacheToList, type CacheOverride } from './argv.ts';
import { buildInvocation } from './invocation.ts';
import { stagingRef } from '../plan/staging.ts';

export type ParentMode = 'contexts' | 'args';

export interface BakeOptions {
  selected: Set<string>;
  packageDir: string;
  /** Directory bake will run in: contexts are written relative to it. */
  bakeDir: string;
  stagingRepo: string;
  /**
   * contexts: children name their parent with a `target:` build context (BuildKit ≥ 0.10);
   * args: children get the parent's staging reference as a build arg, and groups per level
   * (`level0`, `level1`, …) must be baked in order.
   */
  parentMode: ParentMode;
  push: boolean;
  /**
   * What the state file recorded per task id (its hash and the tag@digest children build FROM).
   * A parent's recorded reference is used only while its recorded hash is the parent's current
   * hash: after the parent changed, the old image is exactly what the child must not build on.
   */
  records?: Map<string, { hash: string; ref?: string }>;
  /** Whether the builder bake will run on can export a cache (default: yes). */
  cacheExport?: boolean;
  revision?: string;
  source?: string;
  created?: string;
  provenance?: string;
  sbom?: string;
  cacheOverride?: CacheOverride;
  pull?: boolean;
  noCache?: boolean;
}

export interface BakeFile {
  group: Record<string, { targets: string[] }>;
  target: Record<string, Record<string, unknown>>;
}

export function bakeTargetName(b: BuildTask): string {
  return `${b.variant}/${b.arches.join('+')}`.replace(/[^A-Za-z0-9_-]+/g, '_');
}

/**
 * The reference a child bakes FROM when its parent is not a named context: the recorded
 * tag@digest when the record is of the parent's current hash, else the parent's
 * content-addressed staging tag, which only an image of the current hash can hold (an earlier
 * bake level pushes it there, or bake fails on a missing image, never on a stale one).
 */
export function parentReference(parent: BuildTask, o: Pick<BakeOptions, 'records' | 'stagingRepo'>): string {
  const r = o.records?.get(parent.id);
  return r?.ref && r.hash === parent.hash.value ? r.ref : stagingRef(o.stagingRepo, parent);
}

export function bakeFile(plan: Plan, o: BakeOptions): BakeFile {
  const builds = plan.order.map((id) => plan.tasks.get(id)!).filter((t): t is BuildTask => t.kind === 'build' && o.selected.has(t.id));
  const group: BakeFile['group'] = { default: { targets: [] } };
  const target: BakeFile['target'] = {};
  const depth = new Map<string, number>();
  const parentArg = plan.spec.build.parentArg;
  for (const b of builds) {
    const name = bakeTargetName(b);
    const parent = b.parentBuild ? (plan.tasks.get(b.parentBuild) as BuildTask) : undefined;
    const level = parent ? (depth.get(parent.id) ?? -1) + 1 : 0;
    depth.set(b.id, level);
    const parentRef = parent ? parentReference(parent, o) : undefined;
    // The same invocation a run would use: labels, cache, floating args, base and parent images.
    const inv = buildInvocation(b, parentRef, {
      plan,
      packageDir: o.packageDir,
      stagingRepo: o.stagingRepo,
      mode: o.push ? 'push' : 'load',
      cacheExport: o.cacheExport ?? true,
      revision: o.revision,
      source: o.source,
      created: o.created,
      provenance: o.provenance,
      sbom: o.sbom,
      cacheOverride: o.cacheOverride,
      pull: o.pull,
      noCache: o.noCache,
    });
    const args = inv.buildArgs;
    const t: Record<string, unknown> = {
      context: relative(o.bakeDir, inv.contextDir) || '.',
      dockerfile: inv.dockerfile ? relative(inv.contextDir, inv.dockerfile) : 'Dockerfile',
      platforms: inv.platforms,
      tags: inv.tags,
      labels: inv.labels,
      output: [o.push ? 'type=image,push=true' : 'type=docker'],
    };
    const from = cacheFromList(inv);
    const to = cacheToList(inv);
    if (from.length) t['cache-from'] = from;
    if (to.length) t['cache-to'] = to;
    if (inv.pull) t['pull'] = true;
    if (inv.noCache) t['no-cache'] = true;
    const attest = [
      ...(inv.provenance !== undefined ? [`type=provenance,${inv.provenance.includes('=') ? inv.provenance : `mode=${inv.provenance}`}`] : []),
      ...(inv.sbom !== undefined && inv.sbom !== 'false' ? ['type=sbom'] : []),
    ];
    if (attest.length) t['attest'] = attest;
    // bake's own names: secrets by env= or src= (values stay in the job's environment), SSH
    // mounts, and the entitlements `docker buildx bake --allow` must grant.
    if (inv.secrets?.length) t['secret'] = inv.secrets;
    if (inv.ssh?.length) t['ssh'] = inv.ssh;
    if (inv.allow?.length) t['entitlements'] = inv.allow;
    if (parent && o.parentMode === 'contexts' && o.selected.has(parent.id)) {
      // FROM ${BASE_IMAGE} resolves to the name "parent", which the named context supplies.
      args[parentArg] = 'parent';
      t['contexts'] = { parent: `target:${bakeTargetName(parent)}` };
    }
    t['args'] = Object.fromEntries(Object.entries(args).sort(([a], [b2]) => a.localeCompare(b2)));
    target[name] = t;
    group['default']!.targets.push(name);
    (group[b.release] ??= { targets: [] }).targets.push(name);
    (group[`level${level}`] ??= { targets: [] }).targets.push(name);
  }
  return { group, target };
}
