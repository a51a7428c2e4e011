// Specs are layered: shared defaults files, then one manifest per package. The manifest
// names its bases with `extends`; each base may extend others. Merge rules:
//   - maps merge key by key, recursively;
//   - lists and scalars in a later layer replace the earlier value;
//   - `null` in a later layer removes the key it names (so a package can drop a shared distro);
//   - relative paths (`templates`) are resolved against the file that wrote them.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Diagnostic, Position } from '../base/diagnostics.ts';
import { LayeredLocations, MAX_SPEC_BYTES, pathKey, readSpecFile, type Locations, type SourceMap } from './source.ts';

export interface LayeredSpec {
  /** The merged document, before schema validation. */
  value: Record<string, unknown>;
  locations: Locations;
  /** Every file read, base first, manifest last. */
  files: string[];
  diagnostics: Diagnostic[];
}

const MAX_DEPTH = 16;
/**
 * Bytes all includes of one spec may bring in, counting a file each time it is included: each
 * inclusion is a copy in memory, so a hostile spec naming one large file a thousand times is
 * refused like one large file.
 */
export const MAX_INCLUDED_BYTES = 4 * MAX_SPEC_BYTES;

export interface LayerOptions {
  /**
   * Bases (`extends`) must be inside this directory (after following links): a spec must not
   * make the tool read, and echo in its messages, files of the machine it runs on. Default:
   * the manifest's git repository, else its directory.
   */
  root?: string;
  /** More directories bases may come from (`--allow-extends`). */
  allow?: string[];
  /**
   * Shared defaults every manifest builds on without naming them (the design notes'
   * `docker/manager/specs.yml`): merged first, once, even when the manifest extends them too.
   */
  defaults?: string;
}

/** The enclosing git repository of a directory, else the directory itself. */
export function defaultRoot(dir: string): string {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return resolve(dir);
  }
}

function inside(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function real(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

export function loadLayers(manifestFile: string, o: LayerOptions = {}): LayeredSpec {
  const roots = [o.root ?? defaultRoot(dirname(resolve(manifestFile))), ...(o.allow ?? [])].map((d) => real(d) ?? resolve(d));
  const diagnostics: Diagnostic[] = [];
  const files: string[] = [];
  const merged: { value: Record<string, unknown> } = { value: {} };
  const layerLocations: SourceMap[] = [];
  /** `at`: the `extends` entry that named this file, where problems reading it are reported. */
  const implicit = o.defaults ? resolve(o.defaults) : undefined;
  const budget = { left: MAX_INCLUDED_BYTES };
  const visit = (file: string, chain: string[], at?: Position) => {
    const abs = resolve(file);
    if (at && abs === implicit) return; // merged first already
    const where = at ?? { file: abs, line: 1, column: 1 };
    if (chain.includes(abs)) {
      diagnostics.push({ severity: 'error', path: 'extends', message: `extends forms a cycle: ${[...chain, abs].join(' -> ')}`, ...where });
      return;
    }
    if (chain.length >= MAX_DEPTH) {
      diagnostics.push({ severity: 'error', path: 'extends', message: `extends nests deeper than ${MAX_DEPTH}`, ...where });
      return;
    }
    if (at) {
      const r = real(abs);
      if (!r) {
        diagnostics.push({ severity: 'error', path: 'extends', message: `cannot read spec file ${abs} (named by extends)`, ...where });
        return;
      }
      if (!roots.some((d) => inside(d, r))) {
        diagnostics.push({ severity: 'error', path: 'extends', message: `extends names ${abs}, outside the spec root ${roots[0]} (a base must live in the repository; --allow-extends DIR allows another directory)`, ...where });
        return;
      }
    }
    const src = readSpecFile(abs);
    // Problems reading a base are reported where the manifest names it.
    if (at) for (const d of src.diagnostics) if (d.file === abs && d.line === 1 && d.column === 1 && src.value === undefined) Object.assign(d, { ...where, path: 'extends', message: `${d.message}: ${abs} (named by extends)` });
    diagnostics.push(...src.diagnostics);
    if (src.value === undefined) return;
    if (src.value === null || typeof src.value !== 'object' || Array.isArray(src.value)) {
      if (src.value !== null) {
        diagnostics.push({ severity: 'error', path: '', message: 'a spec file must be a YAML mapping', file: abs, line: 1, column: 1 });
      }
      files.push(abs);
      return;
    }
    const doc = src.value as Record<string, unknown>;
    const ext = doc['extends'];
    const bases = typeof ext === 'string' ? [ext] : Array.isArray(ext) ? ext : [];
    if (ext !== undefined && ext !== null && !(typeof ext === 'string' || (Array.isArray(ext) && ext.every((e) => typeof e === 'string')))) {
      const l = src.locations.get(pathKey(['extends']));
      diagnostics.push({ severity: 'error', path: 'extends', message: 'expected a file path or a list of file paths', ...l?.value });
    }
    bases.forEach((b, i) => {
      if (typeof b !== 'string') return;
      const l = src.locations.get(pathKey(typeof ext === 'string' ? ['extends'] : ['extends', i]));
      visit(resolve(dirname(abs), b), [...chain, abs], l?.value ?? { file: abs, line: 1, column: 1 });
    });
    const { extends: _drop, ...rest } = doc;
    resolveRelativePaths(rest, abs);
    for (const inc of includeSites(rest)) {
      const l = src.locations.get(pathKey([...inc.path, 'include']));
      const named = l?.value ?? { file: abs, line: 1, column: 1 };
      const got = readInclude(resolve(dirname(abs), inc.file), roots, named, diagnostics, budget);
      if (!got) continue;
      inc.holder[inc.key] = got.value;
      // Positions of the included data point into its own file.
      for (const [k, loc] of got.locations) src.locations.set(pathKey([...inc.path, ...(JSON.parse(k) as (string | number)[])]), loc);
      if (!files.includes(got.file)) files.push(got.file);
    }
    mergeInto(merged.value, rest);
    layerLocations.push(src.locations);
    files.push(abs);
  };
  if (implicit && implicit !== resolve(manifestFile)) visit(implicit, []);
  visit(manifestFile, []);
  return { value: merged.value, locations: new LayeredLocations(layerLocations), files, diagnostics };
}

/**
 * Where a layer may include a data file: an axis value's data for one architecture,
 * `axes.cuda.values."11.6.2".architectures.amd64: { include: cuda/11.6.2/amd64.yaml }`, as the
 * CUDA stack is kept one file per version and architecture; and the same under a distro's or
 * a distro release's axis selection (`distros.ubuntu2204.axes.cuda.values."12.4.1".architectures`),
 * where pins per distro × version × architecture live. The entry must be only `include`.
 */
function includeSites(doc: Record<string, unknown>): { path: (string | number)[]; holder: Record<string, unknown>; key: string; file: string }[] {
  const out: { path: (string | number)[]; holder: Record<string, unknown>; key: string; file: string }[] = [];
  const fromAxes = (axes: unknown, at: string[]) => {
    if (!isPlainObject(axes)) return;
    for (const [ax, a] of Object.entries(axes)) {
      if (!isPlainObject(a) || !isPlainObject(a['values'])) continue;
      for (const [v, def] of Object.entries(a['values'])) {
        if (!isPlainObject(def) || !isPlainObject(def['architectures'])) continue;
        const archs = def['architectures'];
        for (const [arch, data] of Object.entries(archs)) {
          if (!isPlainObject(data) || !Object.hasOwn(data, 'include')) continue;
          const file = data['include'];
          if (typeof file !== 'string' || Object.keys(data).length !== 1) continue; // the schema reports it
          out.push({ path: [...at, 'axes', ax, 'values', v, 'architectures', arch], holder: archs, key: arch, file });
        }
      }
    }
  };
  fromAxes(doc['axes'], []);
  const distros = doc['distros'];
  if (isPlainObject(distros)) {
    for (const [d, def] of Object.entries(distros)) {
      if (!isPlainObject(def)) continue;
      fromAxes(def['axes'], ['distros', d]);
      const releases = def['releases'];
      if (!isPlainObject(releases)) continue;
      for (const [r, rel] of Object.entries(releases)) if (isPlainObject(rel)) fromAxes(rel['axes'], ['distros', d, 'releases', r]);
    }
  }
  return out;
}

/** An included data file: inside the spec root, a regular file within the spec size limit, a mapping. */
function readInclude(abs: string, roots: string[], at: Position, diagnostics: Diagnostic[], budget: { left: number }): { file: string; value: Record<string, unknown>; locations: SourceMap } | undefined {
  const err = (message: string) => {
    diagnostics.push({ severity: 'error', path: 'include', message, ...at });
    return undefined;
  };
  const r = real(abs);
  if (!r) return err(`cannot read data file ${abs} (named by include)`);
  if (!roots.some((d) => inside(d, r))) return err(`include names ${abs}, outside the spec root ${roots[0]} (a data file must live in the repository; --allow-extends DIR allows another directory)`);
  const size = statSync(r).size;
  if (size > budget.left) return err(`include of ${abs} goes over the ${MAX_INCLUDED_BYTES} bytes all included data files may bring in (each inclusion counts)`);
  budget.left -= size;
  const src = readSpecFile(abs);
  if (src.value === undefined) {
    for (const d of src.diagnostics) if (d.line === 1 && d.column === 1) Object.assign(d, { ...at, path: 'include', message: `${d.message}: ${abs} (named by include)` });
    diagnostics.push(...src.diagnostics);
    return undefined;
  }
  diagnostics.push(...src.diagnostics);
  if (!isPlainObject(src.value)) return err(`data file ${abs} (named by include) must be a YAML mapping`);
  return { file: abs, value: src.value, locations: src.locations };
}

/** Keys whose string values are paths relative to the file that wrote them. */
function resolveRelativePaths(doc: Record<string, unknown>, file: string): void {
  if (typeof doc['templates'] === 'string') doc['templates'] = resolve(dirname(file), doc['templates']);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function mergeInto(target: Record<string, unknown>, overlay: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(overlay)) {
    if (value === null && Object.hasOwn(target, key)) {
      delete target[key];
      continue;
    }
    const existing = Object.hasOwn(target, key) ? target[key] : undefined;
    if (isPlainObject(existing) && isPlainObject(value)) {
      mergeInto(existing, value);
      continue;
    }
    target[key] = structuredClone(value);
  }
}
