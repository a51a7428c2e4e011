// Reads YAML into plain values while remembering where every key and value came from,
// so a problem found later (schema, rules, merging) can still be reported as file:line:column.
import { readFileSync, statSync } from 'node:fs';
import {
  Alias,
  LineCounter,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import type { Diagnostic, Position, SpecPath } from './diagnostics.ts';
import { formatPath } from './diagnostics.ts';

export const MAX_SPEC_BYTES = 4 * 1024 * 1024;
const MAX_ALIAS_COUNT = 200;
const MAX_NODES = 2_000_000;

export interface Located {
  key?: Position;
  value: Position;
}

/** Path → where it was written. Keys are `pathKey(path)`. */
export type SourceMap = Map<string, Located>;

export interface SourceFile {
  file: string;
  value: unknown;
  locations: SourceMap;
  diagnostics: Diagnostic[];
}

export function pathKey(path: SpecPath): string {
  return JSON.stringify(path);
}

export function readSpecFile(file: string): SourceFile {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return fail(file, `cannot read spec file`);
  }
  if (size > MAX_SPEC_BYTES) {
    return fail(file, `spec file is ${size} bytes; the limit is ${MAX_SPEC_BYTES}`);
  }
  return parseSpecText(readFileSync(file, 'utf8'), file);
}

function fail(file: string, message: string): SourceFile {
  return {
    file,
    value: undefined,
    locations: new Map(),
    diagnostics: [{ severity: 'error', path: '', message, file }],
  };
}

export function parseSpecText(text: string, file: string): SourceFile {
  if (text.includes('\u0000')) return fail(file, 'spec file contains a NUL byte');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
    strict: true,
    merge: true,
    version: '1.2',
  });
  const pos = (offset: number | undefined): Position => {
    const lp = lineCounter.linePos(offset ?? 0);
    return { file, line: lp.line, column: lp.col };
  };
  const diagnostics: Diagnostic[] = [];
  for (const e of doc.errors) {
    diagnostics.push({
      severity: 'error',
      path: '',
      message: yamlMessage(e.code, e.message),
      ...pos(e.pos[0]),
    });
  }
  for (const w of doc.warnings) {
    diagnostics.push({ severity: 'warning', path: '', message: w.message.split('\n')[0]!, ...pos(w.pos[0]) });
  }
  if (diagnostics.some((d) => d.severity === 'error')) {
    return { file, value: undefined, locations: new Map(), diagnostics };
  }
  // Let the library refuse alias bombs before we expand anything ourselves.
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    diagnostics.push({
      severity: 'error',
      path: '',
      message: `YAML aliases expand too far (${(err as Error).message}); limit ${MAX_ALIAS_COUNT}`,
      file,
      line: 1,
      column: 1,
    });
    return { file, value: undefined, locations: new Map(), diagnostics };
  }
  const locations: SourceMap = new Map();
  const budget = { nodes: 0 };
  let value: unknown;
  try {
    value = toValue(doc, doc.contents as YamlNode | null, [], locations, pos, budget, diagnostics);
  } catch (err) {
    if (err instanceof NodeBudgetError) {
      diagnostics.push({ severity: 'error', path: '', message: err.message, file, line: 1, column: 1 });
      return { file, value: undefined, locations: new Map(), diagnostics };
    }
    throw err;
  }
  return { file, value, locations, diagnostics };
}

class NodeBudgetError extends Error {}

function yamlMessage(code: string, message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  if (code === 'DUPLICATE_KEY') return `duplicate key: ${first}`;
  return first;
}

function toValue(
  doc: Document,
  node: YamlNode | null,
  path: (string | number)[],
  locs: SourceMap,
  pos: (offset: number | undefined) => Position,
  budget: { nodes: number },
  diagnostics: Diagnostic[],
): unknown {
  if (++budget.nodes > MAX_NODES) throw new NodeBudgetError(`spec has more than ${MAX_NODES} YAML nodes`);
  if (node === null || node === undefined) return null;
  const here = (n: YamlNode) => pos(n.range?.[0]);
  if (isAlias(node)) {
    const target = (node as Alias).resolve(doc);
    if (!target) return null;
    const prior = locs.get(pathKey(path));
    const v = toValue(doc, target as YamlNode, path, locs, pos, budget, diagnostics);
    // The alias site is where the reader looks; keep it for the root of the alias.
    locs.set(pathKey(path), { key: prior?.key, value: here(node) });
    return v;
  }
  if (isScalar(node)) {
    const prior = locs.get(pathKey(path));
    locs.set(pathKey(path), { key: prior?.key, value: here(node) });
    return node.value;
  }
  if (isMap(node)) {
    const prior = locs.get(pathKey(path));
    locs.set(pathKey(path), { key: prior?.key, value: here(node) });
    const out: Record<string, unknown> = Object.create(null);
    for (const pair of node.items) {
      const keyNode = pair.key as YamlNode | null;
      let key: string;
      if (keyNode && isScalar(keyNode)) key = String(keyNode.value);
      else {
        diagnostics.push({
          severity: 'error',
          path: formatPath(path),
          message: 'only plain scalar keys are allowed',
          ...(keyNode ? here(keyNode) : here(node)),
        });
        continue;
      }
      const childPath = [...path, key];
      const keyPos = keyNode ? here(keyNode) : here(node);
      locs.set(pathKey(childPath), { key: keyPos, value: keyPos });
      const v = toValue(doc, pair.value as YamlNode | null, childPath, locs, pos, budget, diagnostics);
      if (pair.value === null || pair.value === undefined) {
        locs.set(pathKey(childPath), { key: keyPos, value: keyPos });
      }
      out[key] = v;
    }
    return { ...out };
  }
  if (isSeq(node)) {
    const prior = locs.get(pathKey(path));
    locs.set(pathKey(path), { key: prior?.key, value: here(node) });
    return node.items.map((item, i) =>
      toValue(doc, item as YamlNode | null, [...path, i], locs, pos, budget, diagnostics),
    );
  }
  return null;
}

/** Best position for a path: the value if known, else the nearest ancestor's. */
export function locate(locs: SourceMap, path: SpecPath, prefer: 'key' | 'value' = 'value'): Position | undefined {
  for (let n = path.length; n >= 0; n--) {
    const l = locs.get(pathKey(path.slice(0, n)));
    if (l) return prefer === 'key' || n < path.length ? (l.key ?? l.value) : l.value;
  }
  return undefined;
}
