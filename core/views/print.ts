// `build --print`: what `docker buildx bake --print` is to a bake file. The merged spec of the
// selection as the tool read it (every layer applied, the releases and distros the selection
// touches, nothing else), and beside it where each value was written, so "which file set this?"
// has an answer without reading the extends chain by hand. Pure.
import { relative } from 'node:path';
import type { Plan } from '../plan/plan.ts';
import { locate } from '../load/source.ts';

export interface Printed {
  package: string;
  /** The merged spec, restricted to what the selection builds. */
  spec: Record<string, unknown>;
  /** `releases.runtime.tags[0]` → `examples/specs.yaml:12:7`, for every value printed. */
  origin: Record<string, string>;
}

const NAMED = ['releases', 'distros'] as const;

export function printSelection(plan: Plan, selected: ReadonlySet<string>, root: string): Printed {
  const used = { releases: new Set<string>(), distros: new Set<string>() };
  for (const id of selected) {
    const t = plan.tasks.get(id);
    if (t && (t.kind === 'build' || t.kind === 'manifest')) {
      used.releases.add(t.release);
      used.distros.add(t.distro);
    }
  }
  const merged = plan.spec.source.merged;
  const spec: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(merged)) {
    if ((NAMED as readonly string[]).includes(k) && v && typeof v === 'object') {
      const keep = used[k as (typeof NAMED)[number]];
      spec[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([name]) => keep.has(name)));
    } else spec[k] = v;
  }
  const origin: Record<string, string> = {};
  const walk = (v: unknown, path: (string | number)[]) => {
    if (v && typeof v === 'object') {
      const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v as Record<string, unknown>);
      if (entries.length) {
        for (const [k, x] of entries) walk(x, [...path, k]);
        return;
      }
    }
    const at = locate(plan.spec.source.locations, path);
    if (at) origin[path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('')] = `${relative(root, at.file).split('\\').join('/')}:${at.line}:${at.column}`;
  };
  walk(spec, []);
  return { package: plan.spec.package, spec, origin };
}
