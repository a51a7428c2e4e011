// Gathers what core/plan/decide.ts decides on: the state file's record, what is on disk, and what
// the registry holds (read-only, over the distribution API). The real run, the dry run,
// `graph --explain` and `ci matrix` all come through decideTask, so they ask the same questions.
import { decide, type DecideOptions, type Decision, type Facts, type RegistryFact } from '../core/plan/decide.ts';
import { parseImageRef } from '../core/base/image-ref.ts';
import { holdsExactly, type ManifestInfo } from '../core/base/manifest.ts';
import type { StateFile } from '../core/plan/record.ts';
import { publicationTag, stagingRef, testRecordRef } from '../core/plan/staging.ts';
import { readRecord, summaryLookup, testsHash, type Publication, type Summary } from '../core/plan/publication.ts';
import type { Plan } from '../core/plan/plan.ts';
import type { BuildTask, ManifestTask, Task } from '../core/plan/task.ts';
import type { RegistryClient } from '../registries/distribution.ts';
import { RegistryError } from '../registries/distribution.ts';
import { labelledImage, manifestAt } from '../registries/images.ts';
import { HASH_LABEL } from '../core/buildx/argv.ts';
import { dockerArch, localSource } from '../core/buildx/steps.ts';
import { renderFacts } from './disk-facts.ts';
import { readSummary } from './summary.ts';

/** The registry a run may ask, or why it does not. */
export type RegistryView = { client: RegistryClient; stagingRepo: string } | { why: string };

/** An image a build produced or found: the reference children use and its digest. */
export type ImageOf = (buildId: string) => { ref: string; digest?: string } | undefined;

/** What this run and machine can do, for decisions that depend on them rather than on the task alone. */
export interface RunFacts {
  /** Whether a README can be pushed at all (a pusher is configured). */
  readmePush: boolean;
  /** This machine's architecture in Docker's words. */
  hostArch: string;
}

export const HOST_FACTS: RunFacts = { readmePush: true, hostArch: dockerArch(process.arch) };

export class FactFinder {
  /** Build id → its staged manifest, as looked up (a manifest's check reuses it). */
  private readonly staged = new Map<string, ManifestInfo>();
  /** Variant → its publication record, looked up once. */
  private readonly records = new Map<string, Promise<Publication | undefined>>();
  private summaryRead: Promise<Summary | undefined> | undefined;

  constructor(
    private readonly plan: Plan,
    private readonly state: StateFile,
    private readonly packageDir: string,
    readonly registry: RegistryView,
    readonly run: RunFacts = HOST_FACTS,
  ) {}

  /** Facts that cost nothing to gather: the record, and the disk for render tasks. */
  local(t: Task): Facts {
    const record = Object.hasOwn(this.state.tasks, t.id) ? this.state.tasks[t.id] : undefined;
    if (t.kind === 'readme') return { record, readmePush: this.run.readmePush };
    if (t.kind === 'manifest') return { record, localSource: localSource(t, this.plan, this.run.hostArch) !== undefined };
    if (t.kind !== 'render') return { record };
    return { record, ...renderFacts(t, this.packageDir) };
  }

  /** What the registry says about a task; `pending` names builds that will run first (dry run). */
  async fromRegistry(t: Task, image: ImageOf, pending: (buildId: string) => boolean = () => false): Promise<RegistryFact> {
    if ('why' in this.registry) return { state: 'not-consulted', why: this.registry.why };
    const { client, stagingRepo } = this.registry;
    try {
      switch (t.kind) {
        case 'build': {
          const digest = (await this.publication(t.variant))?.builds[t.id];
          if (digest) return { state: 'present', via: 'record', ref: `${stagingRef(stagingRepo, t)}@${digest}`, digest };
          return await this.build(client, stagingRepo, t);
        }
        case 'test': {
          const m = this.manifestOf(t.variant);
          const pub = await this.publication(t.variant);
          if (m && pub && pub.tests === testsHash(m, this.plan.tasks)) return { state: 'present', via: 'record' };
          return (await client.head(parseImageRef(testRecordRef(stagingRepo, t)))) ? { state: 'present' } : { state: 'absent' };
        }
        case 'manifest': {
          const pub = await this.publication(t.variant);
          if (pub) return { state: 'present', via: 'record', digest: pub.published };
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

  private manifestOf(variant: string): ManifestTask | undefined {
    const m = this.plan.tasks.get(`manifest:${this.plan.spec.package}/${variant}`);
    return m?.kind === 'manifest' ? m : undefined;
  }

  /** The publication record of the variant's manifest as it is now; one lookup per variant. */
  private publication(variant: string): Promise<Publication | undefined> {
    let p = this.records.get(variant);
    if (!p) {
      const m = this.manifestOf(variant);
      p = m && 'client' in this.registry ? this.readPublication(this.registry.client, this.registry.stagingRepo, m) : Promise.resolve(undefined);
      this.records.set(variant, p);
    }
    return p;
  }

  /**
   * The package's summary first (one lookup for the whole family), then the manifest's own
   * record for what the summary does not name. A record of this hash older than the summary's
   * later publication of the same task with another hash is stale (the tags moved since): no
   * record then, and the images themselves are checked.
   */
  private async readPublication(client: RegistryClient, stagingRepo: string, m: ManifestTask): Promise<Publication | undefined> {
    const said = summaryLookup(await this.summary(client, stagingRepo), m);
    if (said.state === 'found') return said.publication;
    const found = await client.manifest(parseImageRef(`${stagingRepo}:${publicationTag(m)}`));
    const rec = found ? readRecord(found.doc) : undefined;
    if (rec?.manifest !== m.hash.value) return undefined;
    if (said.state === 'superseded') {
      const created = Date.parse(found!.doc.annotations?.['org.opencontainers.image.created'] ?? '');
      if (Number.isNaN(created) || created < Date.parse(said.at)) return undefined;
    }
    return rec;
  }

  /**
   * The summary, read once per run. Missing, corrupt or unreadable, it names nothing: every
   * manifest then asks for its own record, so a failed lookup here is never read as absent.
   */
  private summary(client: RegistryClient, stagingRepo: string): Promise<Summary | undefined> {
    this.summaryRead ??= readSummary(client, stagingRepo, this.plan.spec.package).then((s) => s?.summary, (e: unknown) => {
      if (e instanceof RegistryError) return undefined;
      throw e;
    });
    return this.summaryRead;
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

export type Decided = { decision: Decision; facts: Facts };

/**
 * Starts every decision that does not wait on work: builds and tests at once (the client
 * bounds what is on the wire), and each manifest as soon as all its builds are decided skips
 * (their digests are then known). A run whose work is mostly skips then spends its time in
 * parallel lookups, not one lookup per worker slot. What is left undecided (a manifest whose
 * builds will run) is decided when its turn comes, as before.
 */
export function prefetch(tasks: Task[], finder: FactFinder, o: DecideOptions, image: ImageOf): Map<string, Promise<Decided | undefined>> {
  const early = new Map<string, Promise<Decided | undefined>>();
  const decided = new Map<string, Decision>();
  const imageOf: ImageOf = (id) => {
    const d = decided.get(id);
    return d?.ref ? { ref: d.ref, digest: d.digest } : image(id);
  };
  for (const t of tasks) {
    if (t.kind !== 'build' && t.kind !== 'test') continue;
    early.set(t.id, decideTask(t, finder, o, imageOf).then((x) => (decided.set(t.id, x.decision), x)));
  }
  for (const t of tasks) {
    if (t.kind !== 'manifest') continue;
    const builds = t.builds.map((id) => early.get(id));
    if (builds.some((b) => !b)) continue;
    early.set(t.id, Promise.all(builds).then((ds) => (ds.every((d) => d?.decision.action === 'skip') ? decideTask(t, finder, o, imageOf) : undefined)));
  }
  // Failures surface where the task is decided; an unhandled rejection must not end the run first.
  for (const p of early.values()) p.catch(() => {});
  return early;
}
