// Which entitlements a selection's builds need that the run has not granted. BuildKit refuses
// `RUN --network=host` and `--security=insecure` unless the build is given `--allow`; the spec
// says a release needs one, and a run grants it only when told to (`build --allow`), as bake
// asks `docker buildx bake --allow` for what a bake file's `entitlements` name. Pure.
import type { Plan } from './plan.ts';

export interface MissingEntitlement {
  entitlement: string;
  /** The releases that need it, in plan order. */
  releases: string[];
}

export function missingEntitlements(plan: Plan, selected: ReadonlySet<string>, allowed: readonly string[]): MissingEntitlement[] {
  const need = new Map<string, Set<string>>();
  for (const id of plan.order) {
    const t = plan.tasks.get(id)!;
    if (t.kind !== 'build' || !selected.has(id)) continue;
    for (const e of t.entitlements ?? []) {
      if (allowed.includes(e)) continue;
      if (!need.has(e)) need.set(e, new Set());
      need.get(e)!.add(t.release);
    }
  }
  return [...need].map(([entitlement, rs]) => ({ entitlement, releases: [...rs] }));
}

/** The refusal, naming each entitlement, who needs it and the flag that grants it. */
export function entitlementRefusal(missing: MissingEntitlement[]): string | undefined {
  if (!missing.length) return undefined;
  return missing
    .map((m) => `release ${m.releases.join(', ')} ${m.releases.length === 1 ? 'needs' : 'need'} the ${m.entitlement} entitlement; pass --allow ${m.entitlement} to grant it`)
    .join('\n');
}
