// The one run/skip rule. The real run, `--dry-run`, `graph --explain` and `ci matrix` gather
// facts (the state file's record, what the registry holds, what is on disk) and ask this
// function; none of them decides on its own, so they cannot disagree. Pure.
import { diffParts, type PartChange } from '../base/hash.ts';
import type { TaskRecord } from './record.ts';
import type { Task } from './task.ts';

export type Action = 'run' | 'skip' | 'fail';

/** What the registry said about a task, if it was asked. */
export type RegistryFact =
  /** Not asked: offline, --no-registry-check, --load, or nothing to ask about. */
  | { state: 'not-consulted'; why: string }
  | { state: 'absent' }
  /**
   * A build: the staged image with this hash; a manifest: every tag holds exactly the staged
   * images; a test: a pass recorded on this image. `record`: known from the publication
   * record a finished run left (the registry's counterpart of the state file), not looked at.
   */
  | { state: 'present'; ref?: string; digest?: string; via?: 'record' }
  /** A manifest whose builds will run first: their digests are not known yet. */
  | { state: 'pending'; why: string }
  /** The lookup itself failed (after retries): never read as "absent". */
  | { state: 'error'; error: string };

export interface Facts {
  record?: TaskRecord;
  registry?: RegistryFact;
  /** Render tasks: every file on disk already holds what the templates render now. */
  filesCurrent?: boolean;
  /** Render tasks: some files exist but differ or are missing. */
  filesPresent?: boolean;
  /** README tasks: whether this run can push a README at all (false: nothing configured to push it). */
  readmePush?: boolean;
  /** Manifest tasks under `--load`: whether one of its builds is of this host's platform (or the only one). */
  localSource?: boolean;
}

export interface DecideOptions {
  force: boolean;
  /** Run image tests even when they passed on this image before (`manager test`). */
  retest: boolean;
  /** A failed registry lookup counts as "absent" (warned) instead of failing the task. */
  assumeMissing: boolean;
  mode: 'push' | 'load';
}

export interface Decision {
  action: Action;
  reason: string;
  /** Inputs that differ from the last recorded run, when there is one. */
  changed?: PartChange[];
  /** Where a skip's evidence came from. */
  source?: 'state' | 'registry' | 'disk';
  /** A registry skip known from a publication record rather than from the images themselves. */
  via?: 'record';
  /** For a skipped image: the reference children and manifests use, and its digest. */
  ref?: string;
  digest?: string;
}

export const DEFAULT_DECIDE: DecideOptions = { force: false, retest: false, assumeMissing: false, mode: 'push' };

/** "inputs changed: base_image, file:Dockerfile", or why there is no comparison. */
function runReason(t: Task, rec: TaskRecord | undefined, tail = ''): Pick<Decision, 'reason' | 'changed'> {
  if (!rec) return { reason: `no record of an earlier run${tail}` };
  const changed = diffParts(rec.parts, t.hash.parts);
  if (!changed.length) return { reason: `recorded with another hash format${tail}` };
  return { reason: `inputs changed: ${changed.map((c) => c.part).join(', ')}${tail}`, changed };
}

const unchanged = (t: Task, rec: TaskRecord | undefined) => !!rec && rec.hash === t.hash.value;

export function decide(t: Task, f: Facts, o: DecideOptions = DEFAULT_DECIDE): Decision {
  const rec = f.record;
  const reg = f.registry;
  if (t.kind === 'render') {
    if (f.filesCurrent) return { action: 'skip', reason: 'files unchanged', source: 'disk' };
    if (unchanged(t, rec)) return { action: 'run', reason: f.filesPresent ? 'generated files differ from the templates\' output (edited by hand?)' : 'generated files are missing' };
    return { action: 'run', ...runReason(t, rec) };
  }
  if (t.kind === 'manifest' && t.refs.length === 0) return { action: 'skip', reason: 'no tags to publish' };
  if (t.kind === 'readme' && o.mode === 'load') return { action: 'skip', reason: '--load publishes nothing' };
  if (t.kind === 'readme' && f.readmePush === false) return { action: 'skip', reason: 'README push not configured' };
  if (t.kind === 'manifest' && o.mode === 'load') {
    return f.localSource === false
      ? { action: 'skip', reason: '--load keeps one platform per tag; none matches this host' }
      : { action: 'run', reason: '--load: tag the local image' };
  }
  if (o.force) return { action: 'run', reason: '--force' };
  if (t.kind === 'test' && o.retest) return { action: 'run', reason: 'manager test runs every selected test' };

  if (unchanged(t, rec) && (t.kind !== 'build' || rec!.ref)) {
    const reason = t.kind === 'test' ? 'passed before on this exact image' : 'unchanged since the last run';
    return { action: 'skip', reason, source: 'state', ref: rec!.ref, digest: rec!.digest };
  }
  switch (reg?.state) {
    case 'present': {
      const reason = reg.via === 'record'
        ? {
            build: 'unchanged: published from this hash (the registry\'s record of the last run)',
            manifest: 'unchanged: the registry\'s record says every tag was published from these images',
            test: 'passed before on this exact image (recorded in the registry)',
            readme: 'unchanged: recorded in the registry',
          }[t.kind]
        : {
            build: 'unchanged: the registry already has an image with this hash',
            manifest: 'unchanged: every tag already points at these images',
            test: 'passed before on this exact image (recorded in the registry)',
            readme: 'unchanged: the registry already has this README',
          }[t.kind];
      return { action: 'skip', reason, source: 'registry', ref: reg.ref, digest: reg.digest, ...(reg.via ? { via: reg.via } : {}) };
    }
    case 'pending':
      return { action: 'run', reason: reg.why, changed: rec ? diffParts(rec.parts, t.hash.parts) : undefined };
    case 'error':
      if (!o.assumeMissing) return { action: 'fail', reason: `registry lookup failed: ${reg.error}` };
      return { action: 'run', ...runReason(t, rec, `; registry lookup failed (${reg.error}), --assume-missing treats it as absent`) };
    case 'absent':
      return { action: 'run', ...runReason(t, rec, rec ? '' : t.kind === 'test' ? '; not tested on this image yet' : '; not in the registry either') };
    default:
      return { action: 'run', ...runReason(t, rec) };
  }
}
