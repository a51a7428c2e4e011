// The notes' create_context outputs: dockerfiles.json (what each template saw) and
// images.json (every image with tags, shared tags, platforms, build args, parent and hash).
import { stableStringify } from '../core/base/hash.ts';
import type { Plan } from '../core/plan/plan.ts';
import type { BuildTask, ManifestTask, RenderTask } from '../core/plan/task.ts';

export function metadataFiles(plan: Plan): Record<string, string> {
  const renders = [...plan.tasks.values()].filter((t): t is RenderTask => t.kind === 'render' && t.dir !== '');
  const dockerfiles = renders.map((r) => ({
    id: r.id,
    directory: r.dir,
    hash: r.hash.value,
    files: r.files.map((f) => f.path),
    context: r.data,
  }));
  // One entry per image: a shared tag's index is not an image (its tags are listed on each image).
  const manifests = [...plan.tasks.values()].filter((t): t is ManifestTask => t.kind === 'manifest' && !t.variants);
  const variants = new Map(plan.variants.map((v) => [v.key, v]));
  const images = manifests.map((m) => {
    const builds = m.builds.map((id) => plan.tasks.get(id) as BuildTask);
    const v = variants.get(m.variant)!;
    return {
      id: m.id,
      distro: m.distro,
      release: m.release,
      axes: m.axes,
      tags: v.tags,
      shared_tags: v.sharedTags,
      refs: m.refs,
      platforms: m.platforms,
      context: v.dir,
      build_args: v.buildArgs,
      parent: v.parent ?? null,
      hash: m.hash.value,
      builds: builds.map((b) => ({ id: b.id, platforms: b.platforms, hash: b.hash.value })),
    };
  });
  // Pretty but stable: same plan, same bytes.
  const pretty = (v: unknown) => JSON.stringify(JSON.parse(stableStringify(v)), null, 2) + '\n';
  return { 'dockerfiles.json': pretty(dockerfiles), 'images.json': pretty(images) };
}
