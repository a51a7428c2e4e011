// Gathers what core/decide.ts decides on: the state file's record, what is on disk, and what
// the registry holds (read-only, over the distribution API). The real run, the dry run,
// `graph --explain` and `ci matrix` all come through decideTask, so they ask the same questions.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decide, type DecideOptions, type Decision, type Facts, type RegistryFact } from '../core/decide.ts';
import { parseImageRef } from '../core/image-ref.ts';
import { holdsExactly, type ManifestInfo } from '../core/manifest.ts';
import type { StateFile } from '../core/record.ts';
import { stagingRef, testRecordRef } from '../core/staging.ts';
import type { BuildTask, ManifestTask, Task } from '../core/task.ts';
import type { RegistryClient } from '../registries/distribution.ts';
import { RegistryError } from '../registries/distribution.ts';
import { labelledImage, manifestAt } from '../registries/images.ts';
import { HASH_LABEL } from '../core/buildx.ts';
import { hasContent } from './atomic.ts';

/** The registry a run may ask, or why it does not. */
export type RegistryView = { client: RegistryClient; stagingRepo: string } | { why: string };

/** An image a build produced or found: the reference children use and its digest. */
export type ImageOf = (buildId: string) => { ref: string; digest?: string } | undefined;

export class FactFinder {
  /** Build id → its staged manifest, as looked up (a manifest's check reuses it). */
  private readonly staged = new Map<string, ManifestInfo>();

  constructor(
    private readonly state: StateFile,
    private readonly packageDir: string,
    readonly registry: RegistryView,
  ) {}

  /** Facts that cost nothing to gather: the record, and the disk for render tasks. */
  local(t: Task): Facts {
    const record = Object.hasOwn(this.state.tasks, t.id) ? this.state.tasks[t.id] : undefined;
    if (t.kind !== 'render') return { record };
    const present = t.files.map((f) => existsSync(join(this.packageDir, f.path)));
    const filesCurrent = t.files.every((f, i) => present[i] && hasContent(join(this.packageDir, f.path), f.content));
    return { record, filesCurrent, filesPresent: present.some(Boolean) };
  }

  /** What the registry says about a task; `pending` names builds that will run first (dry run). */
  async fromRegistry(t: Task, image: ImageOf, pending: (buildId: string) => boolean = () => false): Promise<RegistryFact> {
    if ('why' in this.registry) return { state: 'not-consulted', why: this.registry.why };
    const { client, stagingRepo } = this.registry;
    try {
      switch (t.kind) {
        case 'build':
          return await this.build(client, stagingRepo, t);
        case 'test':
          return (await client.head(parseImageRef(testRecordRef(stagingRepo, t)))) ? { state: 'present' } : { state: 'absent' };
        case 'manifest': {
          const waiting = t.builds.filter(pending);
          if (waiting.length) return { state: 'pending', why: `${waiting.length === 1 ? 'a build it publishes' : `${waiting.length} builds it publishes`} will run first` };
          return await this.manifest(client, t, image);
        }
        default:
          return { state: 'not-consulted', why: 'nothing to look up' };
      }
    } catch (e) {
      if (e instanceof RegistryError) return { state: 'error', error: e.message };
      throw e;
    }
  }

  private async build(client: RegistryClient, stagingRepo: string, b: BuildTask): Promise<RegistryFact> {
    const ref = stagingRef(stagingRepo, b);
    const found = await labelledImage(client, ref);
    // Every platform's image must carry the hash (an index of attestations alone carries nothing).
    if (!found || !found.labels.length || !found.labels.every((l) => l[HASH_LABEL] === b.hash.value)) return { state: 'absent' };
    this.staged.set(b.id, found.info);
    return { state: 'present', ref: `${ref}@${found.info.digest}`, digest: found.info.digest };
  }

  private async manifest(client: RegistryClient, m: ManifestTask, image: ImageOf): Promise<RegistryFact> {
    const staged: ManifestInfo[] = [];
    for (const id of m.builds) {
      const img = image(id);
      if (!img?.digest) return { state: 'absent' };
      const known = this.staged.get(id);
      const info = known?.digest === img.digest ? known : await manifestAt(client, pinnedRef(img.ref, img.digest));
      if (!info) return { state: 'absent' };
      this.staged.set(id, info);
      staged.push(info);
    }
    let digest: string | undefined;
    for (const ref of m.refs) {
      const info = await manifestAt(client, ref);
      if (!info || !holdsExactly(info, staged)) return { state: 'absent' };
      digest = info.digest;
    }
    return { state: 'present', digest };
  }

  /** The staged manifest of a build, when a lookup already fetched it. */
  stagedOf(buildId: string): ManifestInfo | undefined {
    return this.staged.get(buildId);
  }
}

const pinnedRef = (ref: string, digest: string) => (ref.includes('@') ? ref : `${ref}@${digest}`);

/** Which kinds of decision a registry answer can change. */
function registryMatters(t: Task, d: Decision, o: DecideOptions): boolean {
  return d.action === 'run' && o.mode === 'push' && !o.force && (t.kind === 'build' || t.kind === 'manifest' || (t.kind === 'test' && !o.retest));
}

/**
 * Decides one task: local facts first, and the registry only when its answer could change the
 * outcome (a state-file skip needs no lookup).
 */
export async function decideTask(t: Task, finder: FactFinder, o: DecideOptions, image: ImageOf, pending?: (buildId: string) => boolean): Promise<{ decision: Decision; facts: Facts }> {
  const facts = finder.local(t);
  const first = decide(t, facts, o);
  if (!registryMatters(t, first, o)) return { decision: first, facts };
  facts.registry = await finder.fromRegistry(t, image, pending);
  return { decision: decide(t, facts, o), facts };
}
