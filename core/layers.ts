// Specs are layered: shared defaults files, then one manifest per package. The manifest
// names its bases with `extends`; each base may extend others. Merge rules:
//   - maps merge key by key, recursively;
//   - lists and scalars in a later layer replace the earlier value;
//   - `null` in a later layer removes the key it names (so a package can drop a shared distro);
//   - relative paths (`templates`) are resolved against the file that wrote them.
import { dirname, resolve } from 'node:path';
import type { Diagnostic, SpecPath } from './diagnostics.ts';
import { pathKey, readSpecFile, type Located, type SourceMap } from './source.ts';

export interface LayeredSpec {
  /** The merged document, before schema validation. */
  value: Record<string, unknown>;
  locations: SourceMap;
  /** Every file read, base first, manifest last. */
  files: string[];
  diagnostics: Diagnostic[];
}

const MAX_DEPTH = 16;

export function loadLayers(manifestFile: string): LayeredSpec {
  const diagnostics: Diagnostic[] = [];
  const files: string[] = [];
  const merged: { value: Record<string, unknown>; locations: SourceMap } = {
    value: {},
    locations: new Map(),
  };
  const visit = (file: string, chain: string[]) => {
    const abs = resolve(file);
    if (chain.includes(abs)) {
      diagnostics.push({
        severity: 'error',
        path: 'extends',
        message: `extends forms a cycle: ${[...chain, abs].join(' -> ')}`,
        file: chain[chain.length - 1],
      });
      return;
    }
    if (chain.length >= MAX_DEPTH) {
      diagnostics.push({ severity: 'error', path: 'extends', message: `extends nests deeper than ${MAX_DEPTH}`, file: abs });
      return;
    }
    const src = readSpecFile(abs);
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
      const target = resolve(dirname(abs), b);
      const l = src.locations.get(pathKey(typeof ext === 'string' ? ['extends'] : ['extends', i]));
      const before = diagnostics.length;
      visit(target, [...chain, abs]);
      for (const d of diagnostics.slice(before)) {
        if (d.message === 'cannot read spec file' && d.file === target && l) {
          d.message = `cannot read spec file ${target} (named by extends)`;
          Object.assign(d, { file: l.value.file, line: l.value.line, column: l.value.column, path: 'extends' });
        }
      }
    });
    const { extends: _drop, ...rest } = doc;
    resolveRelativePaths(rest, abs);
    mergeInto(merged.value, rest, [], merged.locations, src.locations);
    files.push(abs);
  };
  visit(manifestFile, []);
  return { value: merged.value, locations: merged.locations, files, diagnostics };
}

/** Keys whose string values are paths relative to the file that wrote them. */
function resolveRelativePaths(doc: Record<string, unknown>, file: string): void {
  if (typeof doc['templates'] === 'string') doc['templates'] = resolve(dirname(file), doc['templates']);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function copyLocations(from: SourceMap, to: SourceMap, path: SpecPath): void {
  const prefix = pathKey(path).slice(0, -1);
  for (const [k, v] of from) {
    if (k === pathKey(path) || k.startsWith(prefix + ',')) to.set(k, v);
  }
}

function dropLocations(to: SourceMap, path: SpecPath): void {
  const prefix = pathKey(path).slice(0, -1);
  for (const k of [...to.keys()]) {
    if (k === pathKey(path) || k.startsWith(prefix + ',')) to.delete(k);
  }
}

export function mergeInto(
  target: Record<string, unknown>,
  overlay: Record<string, unknown>,
  path: (string | number)[],
  targetLocs: SourceMap,
  overlayLocs: SourceMap,
): void {
  const here: Located | undefined = overlayLocs.get(pathKey(path));
  if (here) targetLocs.set(pathKey(path), here);
  for (const [key, value] of Object.entries(overlay)) {
    const childPath = [...path, key];
    if (value === null && key in target) {
      delete target[key];
      dropLocations(targetLocs, childPath);
      continue;
    }
    const existing = target[key];
    if (isPlainObject(existing) && isPlainObject(value)) {
      mergeInto(existing, value, childPath, targetLocs, overlayLocs);
      continue;
    }
    dropLocations(targetLocs, childPath);
    target[key] = structuredClone(value);
    copyLocations(overlayLocs, targetLocs, childPath);
  }
}

