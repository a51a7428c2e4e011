// The fresh-runner benchmark's families: N trivial images (one LABEL each, so builds cost
// seconds, not minutes), and a way to leave in the registry exactly what a completed run
// leaves there (staged images with hash labels, public indexes, publication records) without
// building 1,000 images.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HASH_LABEL } from '../core/buildx/argv.ts';
import { parseImageRef } from '../core/base/image-ref.ts';
import { MEDIA } from '../core/base/manifest.ts';
import type { Plan } from '../core/plan/plan.ts';
import { publicationTag, stagingRef } from '../core/plan/staging.ts';
import { EMPTY_CONFIG, recordManifest, testsHash, type SummaryEntry } from '../core/plan/publication.ts';
import type { BuildTask } from '../core/plan/task.ts';
import type { RegistryClient } from '../registries/distribution.ts';
import { writeSummary } from '../tasks/summary.ts';

/**
 * pythons × releases images, amd64 only, no tests: `pythons * releases` build targets.
 * `maxWorkers`: the spec's build.max_workers (2 unless given; null leaves it unset, so the
 * builder chooses, as for a user who sets none).
 */
export function flatSpec(dir: string, o: { pythons: number; releases: number; registry: string; namespace: string; baseImage: string; maxWorkers?: number | null }): string {
  const releases = Array.from({ length: o.releases }, (_, i) => `r${i}`);
  writeFileSync(join(dir, 'manifest.yaml'), [
    'package: fresh',
    'version: "1.0"',
    'templates: ./templates',
    `python: [${Array.from({ length: o.pythons }, (_, i) => `"1.${i}"`).join(', ')}]`,
    'architectures: { amd64: linux/amd64 }',
    'releases:',
    ...releases.flatMap((r, i) => [`  ${r}:`, ...(i ? [`    parent: r${i - 1}`] : []), `    tags: ["{python}-${r}"]`]),
    'distros:',
    '  bookworm: { family: debian, package_manager: apt, image: "' + o.baseImage + '", architectures: [amd64], releases: [' + releases.join(', ') + '] }',
    'registries:',
    `  local: { kind: generic, host: "${o.registry}", namespace: "${o.namespace}", credentials: { username_env: E2E_REGISTRY_USER, password_env: E2E_REGISTRY_PASSWORD } }`,
    ...(o.maxWorkers === null ? [] : [`build: { max_workers: ${o.maxWorkers ?? 2} }`]),
    '',
  ].join('\n'));
  mkdirSync(join(dir, 'templates', 'debian'), { recursive: true });
  for (const [i, r] of releases.entries()) {
    writeFileSync(join(dir, 'templates', 'debian', `${r}.Dockerfile.eta`), i === 0
      ? 'ARG PYTHON_VERSION\nARG <%= it.from.arg %>=<%= it.from.default %>\nFROM ${<%= it.from.arg %>}\nARG PYTHON_VERSION\nLABEL bench.python="${PYTHON_VERSION}"\n'
      : 'ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\nLABEL bench.release="<%= it.release.name %>"\n');
  }
  return join(dir, 'manifest.yaml');
}

/** Runs `fn` over items, `n` at a time. */
async function each<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/**
 * What a finished split run leaves in the registry for a plan: each build's image (config with
 * the hash label, no layers) under its staging tag, each public tag an index of them, each
 * manifest's publication record, and the package's summary of them all.
 */
export async function seedRegistry(plan: Plan, client: RegistryClient, stagingRepo: string): Promise<void> {
  const publicRepos = new Set<string>();
  for (const m of plan.tasks.values()) if (m.kind === 'manifest') for (const r of m.refs) publicRepos.add(r.slice(0, r.lastIndexOf(':')));
  const manifestOf = new Map<string, { digest: string; size: number }>();
  const builds = [...plan.tasks.values()].filter((t): t is BuildTask => t.kind === 'build');
  const staging = parseImageRef(stagingRepo);
  await each(builds, 16, async (b) => {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: new Date().toISOString(), config: { Labels: { [HASH_LABEL]: b.hash.value } }, rootfs: { type: 'layers', diff_ids: [] } }));
    const cd = await client.putBlob(staging.host, staging.repository, config);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cd, size: config.length }, layers: [] }));
    const tag = parseImageRef(stagingRef(stagingRepo, b)).tag!;
    const digest = await client.putManifest(staging.host, staging.repository, tag, MEDIA.ociManifest, manifest);
    manifestOf.set(b.id, { digest, size: manifest.length });
    // An index may only name manifests of its own repository: the public ones hold copies.
    for (const repo of publicRepos) {
      const p = parseImageRef(repo);
      await client.putBlob(p.host, p.repository, config);
      await client.putManifest(p.host, p.repository, digest, MEDIA.ociManifest, manifest);
    }
  });
  const manifests = [...plan.tasks.values()].filter((t) => t.kind === 'manifest');
  await client.putBlob(staging.host, staging.repository, EMPTY_CONFIG);
  const entries: Record<string, SummaryEntry> = {};
  await each(manifests, 16, async (m) => {
    if (m.kind !== 'manifest') return;
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociIndex,
      manifests: m.builds.map((id) => ({ mediaType: MEDIA.ociManifest, ...manifestOf.get(id)!, platform: { os: 'linux', architecture: 'amd64' } })),
    }));
    let published = '';
    for (const ref of m.refs) {
      const r = parseImageRef(ref);
      published = await client.putManifest(r.host, r.repository, r.tag!, MEDIA.ociIndex, index);
    }
    // And the publication record a finished run writes beside the staged images.
    const builds = Object.fromEntries(m.builds.map((id) => [id, manifestOf.get(id)!.digest]));
    const at = new Date().toISOString();
    const publication = { manifest: m.hash.value, tests: testsHash(m, plan.tasks), builds, published };
    await client.putManifest(staging.host, staging.repository, publicationTag(m), MEDIA.ociManifest, recordManifest(publication, at));
    entries[m.id] = { ...publication, at };
  });
  await writeSummary(client, stagingRepo, plan.spec.package, entries);
}
