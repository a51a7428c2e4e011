// apply-plan for files: writes the generated tree. Incremental (unchanged files keep their
// inode and mtime), all-or-nothing (tasks/commit.ts), and it owns only what it wrote
// (tasks/owned.ts): a file it did not write is never replaced or removed without --adopt.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, WorkError } from '../core/base/errors.ts';
import type { Plan } from '../core/plan/plan.ts';
import type { StateFile } from '../core/plan/record.ts';
import type { RenderedFile, RenderTask } from '../core/plan/task.ts';
import { alive, hasContent } from './atomic.ts';
import { commitTree, realFs, STAGING_PREFIX, type CommitFs } from './commit.ts';
import { checkOutputPath, isLink, lstatOrNone } from './links.ts';
import { metadataFiles } from './metadata.ts';
import { DEFAULT_MODE, OWNED_PATH, ownedFile, ownedPackage, ownedText, readOwned, sha256, type FileBody, type Owned } from './owned.ts';
import { record } from '../core/plan/record.ts';
import { decide, DEFAULT_DECIDE, type Action } from '../core/plan/decide.ts';
import { renderFacts } from './disk-facts.ts';
import { readState, statePath, stateText } from './state.ts';

export interface GenerateOptions {
  /** The package's generated directory, e.g. `generated/bento-server`. */
  packageDir: string;
  dockerfiles: boolean;
  docs: boolean;
  metadata: boolean;
  overwrite: boolean;
  /** Replace files the tool did not write that stand where it writes, and own them from now on. */
  adopt?: boolean;
  /** The spec root or `--output`: no link on the way from it to packageDir may lead out of it. */
  base?: string;
  /** The commit's filesystem steps (tests inject failures). */
  fs?: CommitFs;
}

export interface GenerateResult {
  packageDir: string;
  written: string[];
  unchanged: string[];
  removed: string[];
  /** Files the tool had not written (no record of them) that it owns from now on. */
  adopted: string[];
  /** Files it wrote that left the spec after someone edited them: left in place, no longer its own. */
  kept: string[];
  /** Each render task in scope, as decide() judged it before the write. */
  renders: RenderDecision[];
}

export interface RenderDecision {
  id: string;
  action: Action;
  reason: string;
}

const DOC_FILES = new Set(['README.md', 'versions']);
const METADATA_FILES = new Set(['dockerfiles.json', 'images.json']);

/** Every file in scope, with its bytes and mode; a file of a shared directory, which several renders carry, once. */
export function desiredFiles(plan: Plan, opts: Pick<GenerateOptions, 'dockerfiles' | 'docs' | 'metadata'>): Map<string, FileBody> {
  const out = new Map<string, FileBody>();
  for (const t of plan.tasks.values()) {
    if (t.kind !== 'render') continue;
    if (t.dir === '' ? !opts.docs : !opts.dockerfiles) continue;
    for (const f of t.files) out.set(f.path, fileBody(f));
  }
  if (opts.metadata) for (const [p, c] of Object.entries(metadataFiles(plan))) out.set(p, { content: c });
  return out;
}

/** What is written for a planned file: a copied file's bytes, else its text; its mode. */
export function fileBody(f: RenderedFile): FileBody {
  return f.mode === undefined ? { content: f.bytes ?? f.content } : { content: f.bytes ?? f.content, mode: f.mode };
}

const bodyOf = (v: string | FileBody): FileBody => (typeof v === 'string' ? { content: v } : v);

/**
 * What a tree generated before the record existed is taken to own: the files of each render
 * its state file records (that version wrote exactly those), and metadata files that exist
 * (only the tool wrote them). Anything else there is left alone or, in the way, refused.
 */
export function legacyOwned(dir: string, renders: Iterable<RenderTask>, state: StateFile): Owned {
  const out: Owned = new Map();
  const hashOf = (p: string) => {
    try {
      return sha256(readFileSync(join(dir, p)));
    } catch {
      return undefined;
    }
  };
  const take = (p: string) => {
    const h = hashOf(p);
    if (h !== undefined) out.set(p, { sha256: h });
  };
  for (const t of renders) if (state.tasks[t.id]) for (const f of t.files) take(f.path);
  if (Object.keys(state.tasks).length) for (const f of METADATA_FILES) take(f);
  return out;
}

export function ownedOf(dir: string, renders: Iterable<RenderTask>, state: StateFile): { owned: Owned; recorded: boolean } {
  const rec = readOwned(dir);
  return rec ? { owned: rec, recorded: true } : { owned: legacyOwned(dir, renders, state), recorded: false };
}

interface Claim {
  write: string[];
  unchanged: string[];
  adopted: string[];
  removed: string[];
}

/**
 * Decides, from what is on disk and the record, what a write of `desired` (and a removal of
 * `removable`, recorded files that left the spec) may do; throws before anything is written
 * when a file the tool did not write stands in the way.
 */
export function claim(dir: string, desired: Map<string, string | FileBody>, owned: Owned, removable: string[], o: { adopt: boolean; overwrite: boolean }): Claim {
  const c: Claim = { write: [], unchanged: [], adopted: [], removed: [] };
  const foreign: string[] = [];
  const blocked: string[] = [];
  const goes = new Set(removable);
  const seen = new Set<string>();
  const adoptOrRefuse = (p: string) => {
    if (o.adopt) c.adopted.push(p);
    else foreign.push(p);
  };
  // Every directory on the way: no link (it would take the write elsewhere), no file of someone else's.
  const ancestors = (p: string) => {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const a = parts.slice(0, i).join('/');
      if (seen.has(a)) continue;
      seen.add(a);
      const st = lstatOrNone(join(dir, a));
      if (!st) return;
      if (st.isSymbolicLink()) throw new WorkError(`refusing to generate into ${dir}: ${join(dir, a)} is a symbolic link`);
      if (st.isDirectory()) continue;
      if (owned.has(a) && !goes.has(a)) {
        // Ours, and no longer a file of the spec's: it gives way to the directory.
        goes.add(a);
        c.removed.push(a);
      } else if (!owned.has(a)) {
        if (!st.isFile()) blocked.push(`${a} (not a regular file)`);
        else {
          adoptOrRefuse(a);
          if (o.adopt) c.removed.push(a);
        }
      }
      return;
    }
  };
  for (const [p, wanted] of desired) {
    const { content, mode } = bodyOf(wanted);
    ancestors(p);
    const st = lstatOrNone(join(dir, p));
    if (!st) {
      c.write.push(p);
      continue;
    }
    if (st.isSymbolicLink()) throw new WorkError(`refusing to generate into ${dir}: ${join(dir, p)} is a symbolic link`);
    if (!st.isFile()) {
      blocked.push(`${p} (${st.isDirectory() ? 'a directory' : 'not a regular file'})`);
      continue;
    }
    const sameBytes = hasContent(join(dir, p), content);
    if (!owned.has(p)) {
      // The same bytes it would write: taking them over changes nothing on disk (a mode it fixes).
      if (sameBytes) c.adopted.push(p);
      else adoptOrRefuse(p);
    }
    // A mode-only difference is a write too: the file goes in again with the mode it should have.
    if (sameBytes && hasContent(join(dir, p), content, mode ?? DEFAULT_MODE) && !o.overwrite) c.unchanged.push(p);
    else c.write.push(p);
  }
  for (const p of removable) {
    if (goes.has(p) && c.removed.includes(p)) continue;
    ancestors(p);
    const st = lstatOrNone(join(dir, p));
    if (!st || st.isDirectory()) continue;
    if (st.isSymbolicLink()) throw new WorkError(`refusing to generate into ${dir}: ${join(dir, p)} is a symbolic link`);
    c.removed.push(p);
  }
  if (blocked.length) throw new UsageError(`cannot generate into ${dir}: ${list(blocked)} ${blocked.length === 1 ? 'stands' : 'stand'} where generate writes a file; move ${blocked.length === 1 ? 'it' : 'them'} away`);
  if (foreign.length) {
    throw new UsageError(`${dir}: ${list(foreign)} ${foreign.length === 1 ? 'is' : 'are'} not written by manager (not in ${OWNED_PATH}) and ${foreign.length === 1 ? 'stands' : 'stand'} where generate writes; move ${foreign.length === 1 ? 'it' : 'them'} away, or pass --adopt to replace ${foreign.length === 1 ? 'it' : 'them'} and own ${foreign.length === 1 ? 'it' : 'them'} from now on`);
  }
  return c;
}

function list(paths: string[]): string {
  const shown = paths.slice(0, 5).join(', ');
  return paths.length > 5 ? `${shown} and ${paths.length - 5} more` : shown;
}

export function generate(plan: Plan, given: GenerateOptions): GenerateResult {
  const dir = given.packageDir;
  return asWorkError(dir, () => {
    if (given.base) checkOutputPath(given.base, dir);
    refuseLink(dir);
    refuseOtherPackage(dir, plan.spec.package);
    const state = readState(dir);
    const renders = [...plan.tasks.values()].filter((t): t is RenderTask => t.kind === 'render');
    const { owned, recorded } = ownedOf(dir, renders, state);
    // Metadata files once written describe the tree: they are kept current from then on.
    const opts = { ...given, metadata: given.metadata || [...METADATA_FILES].some((f) => owned.has(f)) };
    const desired = desiredFiles(plan, opts);
    const inScope = (p: string) =>
      opts.overwrite ||
      (p.includes('/') ? opts.dockerfiles : (DOC_FILES.has(p) && opts.docs) || (METADATA_FILES.has(p) && opts.metadata));
    const leaving = [...owned.keys()].filter((p) => !desired.has(p) && inScope(p));
    // What it wrote and someone edited since is theirs now (a README taken over by hand when
    // output.readme goes false): it stays, and the record lets go of it.
    const kept = leaving.filter((p) => editedSince(join(dir, p), owned.get(p)!.sha256));
    const removable = leaving.filter((p) => !kept.includes(p));
    const c = claim(dir, desired, owned, removable, { adopt: Boolean(given.adopt), overwrite: opts.overwrite });

    const next: Owned = new Map(owned);
    for (const p of leaving) next.delete(p);
    for (const p of c.removed) next.delete(p);
    for (const [p, body] of desired) next.set(p, ownedFile(body));
    const writes = new Map<string, string | FileBody>(c.write.map((p) => [p, desired.get(p)!]));
    const text = ownedText(next, plan.spec.package);
    if (!recorded || text !== readText(dir, OWNED_PATH)) writes.set(OWNED_PATH, text);

    // Each render's run/skip is the one rule every command uses (core/plan/decide.ts), on the
    // facts the run gathers too. The record changes only where a render's hash did: a no-op
    // generate writes nothing at all.
    let changed = false;
    const decisions: RenderDecision[] = [];
    for (const t of renders) {
      if (!(t.dir === '' ? opts.docs : opts.dockerfiles)) continue;
      const prior = Object.hasOwn(state.tasks, t.id) ? state.tasks[t.id] : undefined;
      const d = decide(t, { record: prior, ...renderFacts(t, dir) }, { ...DEFAULT_DECIDE, force: opts.overwrite });
      decisions.push({ id: t.id, action: d.action, reason: d.reason });
      if (prior?.hash === t.hash.value) continue;
      state.tasks[t.id] = record(t.hash);
      changed = true;
    }
    // The state file commits with the tree: both, or neither.
    if (changed) writes.set(statePath(''), stateText(state));

    commitTree(dir, writes, c.removed, given.fs ?? realFs);
    removeStaleStaging(dir);
    return { packageDir: dir, written: c.write.sort(), unchanged: c.unchanged.sort(), removed: c.removed.sort(), adopted: c.adopted.sort(), kept: kept.sort(), renders: decisions };
  });
}

/**
 * Writes one render's files (a build's render task) under the same rules: only into files
 * the tool wrote or that already hold these bytes, unless adopt; the record takes them.
 */
export function writeRendered(dir: string, files: Map<string, string | FileBody>, owner: { renders: Iterable<RenderTask>; state: StateFile; package?: string }, o: { adopt?: boolean; fs?: CommitFs } = {}): string[] {
  return asWorkError(dir, () => {
    refuseLink(dir);
    if (owner.package !== undefined) refuseOtherPackage(dir, owner.package);
    const { owned, recorded } = ownedOf(dir, owner.renders, owner.state);
    const c = claim(dir, files, owned, [], { adopt: Boolean(o.adopt), overwrite: true });
    const next: Owned = new Map(owned);
    for (const p of c.removed) next.delete(p);
    for (const [p, body] of files) next.set(p, ownedFile(bodyOf(body)));
    const writes = new Map<string, string | FileBody>(c.write.map((p) => [p, files.get(p)!]));
    const text = ownedText(next, owner.package);
    if (!recorded || text !== readText(dir, OWNED_PATH)) writes.set(OWNED_PATH, text);
    commitTree(dir, writes, c.removed, o.fs ?? realFs);
    return c.write;
  });
}

/** The files of a build's render tasks that a file the tool did not write would block (for a check before a run). */
export function foreignInTheWay(dir: string, renders: RenderTask[], state: StateFile, adopt: boolean, pkg?: string): void {
  asWorkError(dir, () => {
    refuseLink(dir);
    if (pkg !== undefined) refuseOtherPackage(dir, pkg);
    if (!lstatOrNone(dir)) return;
    const { owned } = ownedOf(dir, renders, state);
    claim(dir, new Map(renders.flatMap((t) => t.files.map((f) => [f.path, fileBody(f)] as const))), owned, [], { adopt, overwrite: true });
  });
}

/**
 * A directory whose record names another package is that package's tree (two specs whose
 * `output.directory` meet, or one moved onto another's default directory): neither may
 * replace or remove the other's files.
 */
function refuseOtherPackage(dir: string, pkg: string): void {
  const other = ownedPackage(dir);
  if (other !== undefined && other !== pkg) {
    throw new UsageError(`cannot generate package "${pkg}" into ${dir}: it is package "${other}"'s generated directory (${join(dir, OWNED_PATH)} names it); give one of them another output.directory`);
  }
}

/** A regular file whose bytes are no longer the ones recorded (a link or nothing there is not). */
function editedSince(path: string, recorded: string): boolean {
  const st = lstatOrNone(path);
  if (!st?.isFile()) return false;
  return sha256(readFileSync(path)) !== recorded;
}

function readText(dir: string, p: string): string | undefined {
  try {
    return readFileSync(join(dir, p), 'utf8');
  } catch {
    return undefined;
  }
}

/** The tree and its record's directory are written into: neither may be a link. */
function refuseLink(dir: string): void {
  if (isLink(dir)) throw new WorkError(`refusing to generate into ${dir}: it is a symbolic link`);
  if (isLink(join(dir, '.manager'))) throw new WorkError(`refusing to generate into ${dir}: ${join(dir, '.manager')} is a symbolic link`);
}

/** A staging directory a killed run left (its pid gone): nothing in it is needed any more. */
function removeStaleStaging(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    // Only the exact name a commit stages under: at a repository root, `.staging-notes` is someone's.
    if (!n.startsWith(STAGING_PREFIX) || !/^[1-9]\d*$/.test(n.slice(STAGING_PREFIX.length))) continue;
    const pid = Number(n.slice(STAGING_PREFIX.length));
    if (pid !== process.pid && alive(pid)) continue;
    rmSync(join(dir, n), { recursive: true, force: true });
  }
}

/** A filesystem fault (no space, read-only, a file where a directory goes) is failed work, said in one line. */
function asWorkError<T>(dir: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code)) throw new WorkError(`cannot generate into ${dir}: ${e.message}`);
    throw e;
  }
}
