// apply-plan for files: writes the generated tree. Incremental (unchanged files keep their
// inode and mtime), and all-or-nothing: new content is staged first, then renamed into place.
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { WorkError } from '../core/errors.ts';
import type { Plan } from '../core/plan.ts';
import { hasContent, writeFileAtomic } from './atomic.ts';
import { metadataFiles } from './metadata.ts';
import { withSignalsDeferred } from './signals.ts';
import { record } from '../core/record.ts';
import { readState, writeState } from './state.ts';

export interface GenerateOptions {
  /** The package's generated directory, e.g. `generated/bento-server`. */
  packageDir: string;
  dockerfiles: boolean;
  docs: boolean;
  metadata: boolean;
  overwrite: boolean;
}

export interface GenerateResult {
  packageDir: string;
  written: string[];
  unchanged: string[];
  removed: string[];
}

const DOC_FILES = new Set(['README.md', 'versions']);
const METADATA_FILES = new Set(['dockerfiles.json', 'images.json']);

export function desiredFiles(plan: Plan, opts: Pick<GenerateOptions, 'dockerfiles' | 'docs' | 'metadata'>): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of plan.tasks.values()) {
    if (t.kind !== 'render') continue;
    if (t.dir === '' ? !opts.docs : !opts.dockerfiles) continue;
    for (const f of t.files) out.set(f.path, f.content);
  }
  if (opts.metadata) for (const [p, c] of Object.entries(metadataFiles(plan))) out.set(p, c);
  return out;
}

/** Existing files (relative paths) that this tool manages; refuses symlinks anywhere inside. */
function scanExisting(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  const walk = (d: string, top: boolean) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (top && e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isSymbolicLink()) throw new WorkError(`refusing to generate into ${dir}: ${p} is a symbolic link`);
      if (e.isDirectory()) walk(p, false);
      else if (e.isFile()) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) throw new WorkError(`refusing to generate into ${dir}: it is a symbolic link`);
  walk(dir, true);
  return out;
}

export function generate(plan: Plan, given: GenerateOptions): GenerateResult {
  const dir = given.packageDir;
  // Metadata files once written describe the tree: they are kept current from then on.
  const opts = { ...given, metadata: given.metadata || [...METADATA_FILES].some((f) => existsSync(join(dir, f))) };
  const desired = desiredFiles(plan, opts);
  const existing = scanExisting(dir);
  const existingSet = new Set(existing);

  const written: string[] = [];
  const unchanged: string[] = [];
  for (const [path, content] of desired) {
    if (!opts.overwrite && existingSet.has(path) && hasContent(join(dir, path), content)) unchanged.push(path);
    else written.push(path);
  }
  const inScope = (p: string) =>
    opts.overwrite ||
    (p.includes('/') ? opts.dockerfiles : (DOC_FILES.has(p) && opts.docs) || (METADATA_FILES.has(p) && opts.metadata));
  const removed = existing.filter((p) => !desired.has(p) && inScope(p));

  writeGenerated(dir, desired, written, removed);
  // Cleanup of staging dirs left by an interrupted earlier run.
  if (existsSync(dir)) for (const e of readdirSync(dir)) if (e.startsWith('.staging-')) rmSync(join(dir, e), { recursive: true, force: true });

  // The record changes only where a render's hash did: a no-op generate writes nothing at all.
  const state = readState(dir);
  let recorded = false;
  for (const t of plan.tasks.values()) {
    if (t.kind !== 'render' || !(t.dir === '' ? opts.docs : opts.dockerfiles)) continue;
    if (state.tasks[t.id]?.hash === t.hash.value) continue;
    state.tasks[t.id] = record(t.hash);
    recorded = true;
  }
  if (recorded) writeState(dir, state);
  return { packageDir: dir, written: written.sort(), unchanged: unchanged.sort(), removed: removed.sort() };
}

/**
 * Writes `written` (from `desired`) and removes `removed` under dir, all or nothing: new
 * content is staged beside the tree, then renamed into place with signals held.
 */
export function writeGenerated(dir: string, desired: Map<string, string>, written: string[], removed: string[] = []): void {
  if (!written.length && !removed.length) return;
  const fresh = !existsSync(dir);
  const staging = fresh
    ? join(dirname(dir), `.${dir.split(sep).pop()}.staging-${process.pid}`)
    : join(dir, `.staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    for (const p of written) writeFileAtomic(join(staging, p), desired.get(p)!);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw new WorkError(`could not write generated files under ${dir}: ${(e as Error).message}`);
  }
  withSignalsDeferred(() => {
    if (fresh) {
      mkdirSync(dirname(dir), { recursive: true });
      renameSync(staging, dir);
      return;
    }
    for (const p of written) {
      const target = join(dir, p);
      mkdirSync(dirname(target), { recursive: true });
      renameSync(join(staging, p), target);
    }
    for (const p of removed) rmSync(join(dir, p), { force: true });
    rmSync(staging, { recursive: true, force: true });
    if (removed.length) pruneEmptyDirs(dir);
  });
}

/** Refuses to write through a symbolic link anywhere between dir and the given files. */
export function refuseLinks(dir: string, paths: string[]): void {
  const seen = new Set<string>();
  const check = (p: string) => {
    if (seen.has(p)) return;
    seen.add(p);
    if (existsSync(p) || isDanglingLink(p)) {
      if (lstatSync(p).isSymbolicLink()) throw new WorkError(`refusing to generate into ${dir}: ${p} is a symbolic link`);
    }
  };
  check(dir);
  for (const rel of paths) {
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) check(join(dir, ...parts.slice(0, i)));
  }
}

function isDanglingLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function pruneEmptyDirs(root: string): void {
  const walk = (d: string): boolean => {
    let empty = true;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (d === root && e.name.startsWith('.')) {
        empty = false;
        continue;
      }
      if (e.isDirectory()) {
        if (walk(join(d, e.name))) rmdirSync(join(d, e.name));
        else empty = false;
      } else empty = false;
    }
    return empty;
  };
  walk(root);
}
