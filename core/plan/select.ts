// Selection: which tasks a command acts on. Seeds are matched by target and filters, then
// closed over dependencies so a selected image always has what it builds FROM.
import { UsageError } from '../base/errors.ts';
import type { Variant } from '../matrix/expand.ts';
import type { Plan } from './plan.ts';
import type { Task } from './task.ts';

export interface Target {
  package: string;
  release?: string;
  distro?: string;
}

export interface Selection {
  targets?: Target[];
  releases?: string[];
  distros?: string[];
  /** `--axis NAME=V1,V2`: images with one of these values of each named axis (`--python-version` is axis python). */
  axes?: Record<string, string[]>;
  platforms?: string[];
  /** Exact task ids (`--only`). */
  only?: string[];
  all?: boolean;
}

/** `pkg`, `pkg:release`, `pkg:release@distro` or `pkg:@distro`. */
export function parseTarget(text: string): Target {
  const m = /^([A-Za-z0-9][\w.-]*)(?::([\w.-]*)(?:@([\w.-]+))?)?$/.exec(text.trim());
  if (!m) throw new UsageError(`bad target "${text}": expected package, package:release or package:release@distro`);
  return { package: m[1]!, release: m[2] || undefined, distro: m[3] || undefined };
}

export function isEmptySelection(s: Selection): boolean {
  return !s.all && !s.targets?.length && !s.releases?.length && !s.distros?.length && !Object.keys(s.axes ?? {}).length && !s.platforms?.length && !s.only?.length;
}

export function selectTasks(plan: Plan, sel: Selection): Set<string> {
  const { spec } = plan;
  // `--all` only means something alone; with filters, the filters decide.
  if (isEmptySelection({ ...sel, all: false })) return new Set(plan.tasks.keys());
  const check = (what: string, given: string[] | undefined, known: string[]) => {
    for (const g of given ?? []) {
      if (!known.includes(g)) throw new UsageError(`unknown ${what} "${g}" (known: ${known.join(', ')})`);
    }
  };
  for (const t of sel.targets ?? []) {
    if (t.package !== spec.package) throw new UsageError(`target "${t.package}" names a different package than the spec (${spec.package})`);
  }
  check('release', [...(sel.releases ?? []), ...((sel.targets ?? []).flatMap((t) => (t.release ? [t.release] : [])))], spec.releaseOrder);
  check('distro', [...(sel.distros ?? []), ...((sel.targets ?? []).flatMap((t) => (t.distro ? [t.distro] : [])))], Object.keys(spec.distros));
  for (const [axis, values] of Object.entries(sel.axes ?? {})) {
    if (!Object.hasOwn(spec.axes, axis)) {
      throw new UsageError(axis === 'python'
        ? 'this spec has no python axis, so --python-version selects nothing'
        : `unknown axis "${axis}" (axes: ${Object.keys(spec.axes).join(', ') || 'none'})`);
    }
    const built = new Set(plan.variants.flatMap((v) => (Object.hasOwn(v.axes, axis) ? [v.axes[axis]!] : [])));
    check(axis === 'python' ? 'Python version' : `value of axis ${axis}`, values, spec.axes[axis]!.order.filter((v) => built.has(v)));
  }
  const platforms = [...new Set(Object.values(spec.architectures))];
  const platformOf = (p: string) => spec.architectures[p] ?? p; // accept arch names too
  check('platform', sel.platforms?.map(platformOf), platforms);
  for (const id of sel.only ?? []) if (!plan.tasks.has(id)) throw new UsageError(`unknown task id "${id}" (see: manager graph --format json)`);

  const wantedPlatforms = sel.platforms?.map(platformOf);
  const matchImage = (distro: string, release: string, axes: Record<string, string>) =>
    (!sel.targets?.length || sel.targets.some((t) => (!t.release || t.release === release) && (!t.distro || t.distro === distro))) &&
    (!sel.releases?.length || sel.releases.includes(release)) &&
    (!sel.distros?.length || sel.distros.includes(distro)) &&
    Object.entries(sel.axes ?? {}).every(([a, vs]) => !vs.length || (Object.hasOwn(axes, a) && vs.includes(axes[a]!)));
  const matchPlatform = (p: string) => !wantedPlatforms?.length || wantedPlatforms.includes(p);

  // `--only` names the seeds itself; otherwise the targets and filters pick them.
  const seeds: string[] = [...(sel.only ?? [])];
  if (!sel.only?.length) {
    for (const t of plan.tasks.values()) {
      if (t.kind === 'build' || t.kind === 'test') {
        const b = t.kind === 'build' ? t : (plan.tasks.get(t.build) as Extract<Task, { kind: 'build' }>);
        if (matchImage(b.distro, b.release, b.axes) && (t.kind === 'test' ? matchPlatform(t.platform) : b.platforms.every(matchPlatform))) seeds.push(t.id);
      } else if (t.kind === 'manifest') {
        // A manifest publishes every platform of its image: selecting part of them must not
        // overwrite a multi-arch tag with fewer platforms, so it needs them all.
        // A shared tag's index needs every image in it, like a multi-arch tag needs every platform.
        const images = t.variants ? t.variants.map((k) => plan.variants.find((v) => v.key === k)!) : [t];
        if (images.every((i) => matchImage(i.distro, i.release, i.axes)) && t.platforms.every(matchPlatform)) seeds.push(t.id);
      }
    }
  }
  const out = new Set<string>();
  const stack = [...seeds];
  while (stack.length) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    for (const d of plan.tasks.get(id)!.deps) stack.push(d);
  }
  if (out.size === 0) throw new UsageError(nothingMatched(plan, sel, wantedPlatforms ?? []));
  return out;
}

/**
 * Why a selection matched nothing: the selector that rules out every image the others pick,
 * with the values those images do have (`--distros alpine3.14 matches none of the images the
 * other selectors pick (they are on: debian11, ubi8)`).
 */
function nothingMatched(plan: Plan, sel: Selection, platforms: string[]): string {
  type Pick = { label: string; test: (v: Variant) => boolean; has: (v: Variant) => string[]; what: string };
  const picks: Pick[] = [];
  if (sel.targets?.length) {
    picks.push({
      label: `--target ${sel.targets.map((t) => `${t.package}:${t.release ?? ''}${t.distro ? `@${t.distro}` : ''}`).join(',')}`,
      test: (v) => sel.targets!.some((t) => (!t.release || t.release === v.release) && (!t.distro || t.distro === v.distro)),
      has: (v) => [`${v.release}@${v.distro}`],
      what: 'release@distro',
    });
  }
  if (sel.releases?.length) picks.push({ label: `--releases ${sel.releases.join(',')}`, test: (v) => sel.releases!.includes(v.release), has: (v) => [v.release], what: 'releases' });
  if (sel.distros?.length) picks.push({ label: `--distros ${sel.distros.join(',')}`, test: (v) => sel.distros!.includes(v.distro), has: (v) => [v.distro], what: 'distros' });
  for (const [a, vs] of Object.entries(sel.axes ?? {})) {
    picks.push({ label: `--axis ${a}=${vs.join(',')}`, test: (v) => Object.hasOwn(v.axes, a) && vs.includes(v.axes[a]!), has: (v) => (Object.hasOwn(v.axes, a) ? [v.axes[a]!] : []), what: `${a} values` });
  }
  if (platforms.length) {
    const of = (v: Variant) => v.arches.map((a) => plan.spec.architectures[a]!);
    picks.push({ label: `--platforms ${platforms.join(',')}`, test: (v) => of(v).some((p) => platforms.includes(p)), has: of, what: 'platforms' });
  }
  // The selector to blame is one whose removal leaves images: those say what would have matched.
  for (const p of picks) {
    const others = plan.variants.filter((v) => picks.every((q) => q === p || q.test(v)));
    if (!others.length || others.some(p.test)) continue;
    const values = [...new Set(others.flatMap(p.has))];
    const whose = picks.length > 1 ? 'the images the other selectors pick' : 'the images';
    return `the selection matches nothing: ${p.label} matches none of ${whose}${values.length ? ` (their ${p.what}: ${values.join(', ')})` : ''}`;
  }
  return `the selection matches nothing: no image has ${picks.map((p) => p.label).join(' and ')} together`;
}
