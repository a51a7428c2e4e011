// Reads YAML into plain values while remembering where every key and value came from,
// so a problem found later (schema, rules, merging) can still be reported as file:line:column.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import {
  Alias,
  CST,
  Lexer,
  LineCounter,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  visit,
  type Document,
  type Scalar,
  type YAMLMap,
  type Node as YamlNode,
} from 'yaml';
import type { Diagnostic, Position, SpecPath } from '../base/diagnostics.ts';
import { formatPath } from '../base/diagnostics.ts';

export const MAX_SPEC_BYTES = 4 * 1024 * 1024;
/** Alias uses per file. */
export const MAX_ALIASES = 1_000;
/** Values per file, counting every alias expansion: what bounds time and memory. */
export const MAX_NODES = 200_000;
/**
 * What the parser may build of one file, counted on the lexer's tokens before any document
 * exists: scalars (keys and values), aliases, list items and flow collections. Bytes alone do
 * not bound it: 4 MiB of `[1,1,1,…]` is 1.9 million nodes, and the parsed document of those
 * took 2 GB. The largest example spec file has under 700; this is far above any real spec.
 */
export const MAX_PARSED_NODES = 150_000;
const COUNTED_TOKENS = new Set(['scalar', 'single-quoted-scalar', 'double-quoted-scalar', 'block-scalar-header', 'alias', 'flow-seq-start', 'flow-map-start', 'seq-item-ind']);
/** Nesting, maps and lists within each other. */
export const MAX_DEPTH = 64;

export interface Located {
  key?: Position;
  value: Position;
}

/** Path → where it was written. Keys are `pathKey(path)`. */
export type SourceMap = Map<string, Located>;

/** Where a path of a merged spec was written: what the lookups downstream need of a SourceMap. */
export interface Locations {
  get(key: string): Located | undefined;
}

/**
 * The positions of a layered spec, without merging any maps: a path of the merged value was
 * written by the last layer that mentions it (later layers override, and a path a later layer
 * removed or replaced is never asked for). Merging position maps key by key was quadratic.
 */
export class LayeredLocations implements Locations {
  constructor(private readonly layers: SourceMap[]) {}

  get(key: string): Located | undefined {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i]!.get(key);
      if (l) return l;
    }
    return undefined;
  }
}

export interface SourceFile {
  file: string;
  value: unknown;
  locations: SourceMap;
  diagnostics: Diagnostic[];
}

export function pathKey(path: SpecPath): string {
  return JSON.stringify(path);
}

/**
 * Reads a spec file, refusing anything that is not a regular file (a device such as /dev/zero
 * reports size 0 and never ends; a FIFO would block the open) and reading no more than the
 * limit, whatever the file claims.
 */
export function readSpecFile(file: string): SourceFile {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return fail(file, 'cannot read spec file');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return fail(file, 'spec file is not a regular file');
    if (st.size > MAX_SPEC_BYTES) return fail(file, `spec file is ${st.size} bytes; the limit is ${MAX_SPEC_BYTES}`);
    const buf = Buffer.alloc(MAX_SPEC_BYTES + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > MAX_SPEC_BYTES) return fail(file, `spec file is larger than the limit of ${MAX_SPEC_BYTES} bytes`);
    }
    return parseSpecText(buf.subarray(0, n).toString('utf8'), file);
  } finally {
    closeSync(fd);
  }
}

function fail(file: string, message: string, line = 1, column = 1): SourceFile {
  return {
    file,
    value: undefined,
    locations: new Map(),
    diagnostics: [{ severity: 'error', path: '', message, file, line, column }],
  };
}

export function parseSpecText(text: string, file: string): SourceFile {
  const nul = text.indexOf('\u0000');
  if (nul >= 0) {
    const before = text.slice(0, nul);
    return fail(file, 'spec file contains a NUL byte', before.split('\n').length, nul - before.lastIndexOf('\n'));
  }
  // The YAML library parses nesting recursively: refuse what would exhaust its stack first.
  const deep = tooDeep(text);
  if (deep) return fail(file, `spec nests deeper than ${MAX_DEPTH} levels`, deep.line, deep.column);
  const crowded = tooManyNodes(text);
  if (crowded) return fail(file, `spec file holds more than ${MAX_PARSED_NODES} values (keys, scalars, list items); the limit bounds what parsing it builds`, crowded.line, crowded.column);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    // Duplicate keys are found while reading values (core/load/source.ts): the library's own check
    // scans every earlier key for each key, quadratic in a map's size.
    uniqueKeys: false,
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
    const key = e.code === 'DUPLICATE_KEY' ? /^[^\n:]{1,80}/.exec(text.slice(e.pos[0]))?.[0].trim() : undefined;
    diagnostics.push({
      severity: 'error',
      path: '',
      message: key ? `duplicate key "${key}": a key may appear once in a map` : yamlMessage(e.code, e.message),
      ...pos(e.pos[0]),
    });
  }
  for (const w of doc.warnings) {
    diagnostics.push({ severity: 'warning', path: '', message: w.message.split('\n')[0]!, ...pos(w.pos[0]) });
  }
  if (diagnostics.some((d) => d.severity === 'error')) {
    return { file, value: undefined, locations: new Map(), diagnostics };
  }
  const locations: SourceMap = new Map();
  const budget: Budget = { nodes: 0, aliases: 0, depth: 0 };
  let value: unknown;
  try {
    value = toValue(anchorIndex(doc), doc.contents as YamlNode | null, [], locations, pos, budget, diagnostics);
  } catch (err) {
    if (err instanceof NodeBudgetError) {
      diagnostics.push({ severity: 'error', path: '', message: err.message, ...err.at });
      return { file, value: undefined, locations: new Map(), diagnostics };
    }
    throw err;
  }
  return { file, value, locations, diagnostics };
}

/** An alias's target: the closest anchor of that name written before it. */
type Anchors = (alias: Alias) => YamlNode | undefined;

/**
 * Every anchor of the document, indexed once. The library's own `Alias.resolve` walks the whole
 * document for each alias: a thousand aliases (the limit) took seconds; this takes milliseconds.
 */
function anchorIndex(doc: Document): Anchors {
  const byName = new Map<string, { at: number; node: YamlNode }[]>();
  visit(doc, {
    Node(_, n) {
      const name = (n as { anchor?: string }).anchor;
      if (name && !isAlias(n)) {
        const list = byName.get(name) ?? [];
        list.push({ at: n.range?.[0] ?? 0, node: n as YamlNode });
        byName.set(name, list);
      }
    },
  });
  return (alias) => {
    const at = alias.range?.[0] ?? 0;
    let found: YamlNode | undefined;
    for (const a of byName.get(alias.source) ?? []) if (a.at < at) found = a.node;
    return found;
  };
}

/** What an accepted spec may cost, whatever its size on disk: aliases expand, so bytes do not bound work. */
interface Budget {
  nodes: number;
  aliases: number;
  depth: number;
  /** The alias being expanded, where a budget spent inside it is reported. */
  site?: Position;
}

/**
 * Where the text first nests deeper than MAX_DEPTH (flow brackets and block indentation, with
 * `- ` entries), by one linear pass; quoted text and comments are skipped. An estimate that
 * errs on the side of parsing: the exact depth is checked again while reading values.
 */
export function tooDeep(text: string): { line: number; column: number } | undefined {
  const indents: number[] = [];
  let flow = 0;
  let line = 0;
  for (const raw of text.split('\n')) {
    line++;
    const body = raw.replace(/^\s+/, '');
    if (flow === 0 && body && !body.startsWith('#')) {
      const indent = raw.length - body.length;
      while (indents.length && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
      const dashes = /^(-\s+)+/.exec(body)?.[0].match(/-/g)?.length ?? 0;
      if (indents.length + dashes > MAX_DEPTH) return { line, column: indent + 1 };
    }
    let quote = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i]!;
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) quote = '';
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      else if (c === '#' && (i === 0 || /\s/.test(raw[i - 1]!))) break;
      else if (c === '[' || c === '{') {
        if (++flow + indents.length > MAX_DEPTH) return { line, column: i + 1 };
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
  }
  return undefined;
}

/**
 * Where the text's nodes first exceed MAX_PARSED_NODES, counted on the lexer's token stream
 * (a generator: nothing of the document is built, and the count stops at the limit).
 */
export function tooManyNodes(text: string): { line: number; column: number } | undefined {
  let n = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    if (COUNTED_TOKENS.has(CST.tokenType(token) ?? '') && ++n > MAX_PARSED_NODES) {
      const before = text.slice(0, offset);
      return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
    }
    offset += token.length;
  }
  return undefined;
}

class NodeBudgetError extends Error {
  constructor(message: string, readonly at: Position) {
    super(message);
  }
}

function yamlMessage(code: string, message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  if (code === 'DUPLICATE_KEY') return `duplicate key: ${first}`;
  return first;
}

function toValue(
  anchors: Anchors,
  node: YamlNode | null,
  path: (string | number)[],
  locs: SourceMap,
  pos: (offset: number | undefined) => Position,
  budget: Budget,
  diagnostics: Diagnostic[],
): unknown {
  const here = (n: YamlNode) => pos(n.range?.[0]);
  if (node === null || node === undefined) return null;
  if (++budget.nodes > MAX_NODES) {
    throw new NodeBudgetError(`spec expands to more than ${MAX_NODES} values${budget.site ? ' through this alias' : ''}; aliases that repeat aliases multiply (an alias bomb?)`, budget.site ?? here(node));
  }
  if (path.length > MAX_DEPTH) throw new NodeBudgetError(`spec nests deeper than ${MAX_DEPTH} levels`, here(node));
  if (isAlias(node)) {
    if (++budget.aliases > MAX_ALIASES) throw new NodeBudgetError(`spec uses more than ${MAX_ALIASES} aliases`, here(node));
    const target = anchors(node as Alias);
    if (!target) return null;
    const prior = locs.get(pathKey(path));
    const outer = budget.site;
    budget.site ??= here(node);
    const v = toValue(anchors, target as YamlNode, path, locs, pos, budget, diagnostics);
    budget.site = outer;
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
    const entries = mapEntries(anchors, node as YAMLMap, path, here, budget, diagnostics, 0);
    // YAML's merge rule: a key written in the map wins over any merged in, wherever `<<` stands.
    const written = new Set(entries.filter((e) => !e.merged).map((e) => e.key));
    for (const e of entries) {
      if (e.merged && (written.has(e.key) || Object.hasOwn(out, e.key))) continue;
      const childPath = [...path, e.key];
      const keyPos = here(e.keyNode);
      if (Object.hasOwn(out, e.key)) {
        if (!budget.site) diagnostics.push({ severity: 'error', path: formatPath(path), message: `duplicate key "${e.key}": a key may appear once in a map`, ...keyPos });
        continue;
      }
      // A merged-in key is reported where it was written (under its anchor), not at the `<<`.
      locs.set(pathKey(childPath), { key: keyPos, value: keyPos });
      const outer = budget.site;
      if (e.merged) budget.site ??= e.site;
      const v = toValue(anchors, e.value, childPath, locs, pos, budget, diagnostics);
      budget.site = outer;
      if (e.value === null || e.value === undefined) locs.set(pathKey(childPath), { key: keyPos, value: keyPos });
      out[e.key] = v;
    }
    return out;
  }
  if (isSeq(node)) {
    const prior = locs.get(pathKey(path));
    locs.set(pathKey(path), { key: prior?.key, value: here(node) });
    return node.items.map((item, i) =>
      toValue(anchors, item as YamlNode | null, [...path, i], locs, pos, budget, diagnostics),
    );
  }
  return null;
}

interface MapEntry {
  key: string;
  keyNode: YamlNode;
  value: YamlNode | null;
  /** Brought in by a `<<` merge key rather than written in the map itself. */
  merged: boolean;
  /** For a merged entry: the `<<` it came through, where budgets spent inside are reported. */
  site?: Position;
}

/** Merges inside merges: far more than any spec shares, few enough to stop a cycle at once. */
const MAX_MERGE_DEPTH = 16;

/** A merged source's own entries as that map reads: its written keys over what it merged in. */
function effective(entries: MapEntry[]): MapEntry[] {
  const written = new Set(entries.filter((e) => !e.merged).map((e) => e.key));
  const seen = new Set<string>();
  return entries.filter((e) => {
    if ((e.merged && written.has(e.key)) || seen.has(e.key)) return false;
    seen.add(e.key);
    return true;
  });
}

function isMergeKey(n: YamlNode | null): boolean {
  if (!n || !isScalar(n)) return false;
  const v = (n as Scalar).value;
  return typeof v === 'symbol' && v.description === '<<' && (!(n as Scalar).type || (n as Scalar).type === 'PLAIN');
}

/**
 * A map's entries in the order written, each `<<: *anchor` (or `<<: [*a, *b]`, or an inline map)
 * replaced by the merged maps' own entries, flattened: earlier sources come first, so the first
 * to name a key wins among merged keys, as YAML's merge type says.
 */
function mapEntries(
  anchors: Anchors,
  node: YAMLMap,
  path: (string | number)[],
  here: (n: YamlNode) => Position,
  budget: Budget,
  diagnostics: Diagnostic[],
  depth: number,
  chain: Set<YAMLMap> = new Set([node]),
): MapEntry[] {
  const entries: MapEntry[] = [];
  // A map read again (through an alias or a merge) was checked where it was written: say it once.
  const report = (d: Diagnostic) => {
    if (depth === 0 && !budget.site) diagnostics.push(d);
  };
  for (const pair of node.items) {
    const keyNode = pair.key as YamlNode | null;
    if (isMergeKey(keyNode)) {
      const site = here(keyNode!);
      if (depth >= MAX_MERGE_DEPTH) {
        report({ severity: 'error', path: formatPath(path), message: `merge keys nest deeper than ${MAX_MERGE_DEPTH} levels`, ...site });
        continue;
      }
      const value = pair.value as YamlNode | null;
      const sources = value && isSeq(value) ? (value.items as YamlNode[]) : [value];
      for (const src of sources) {
        let target: unknown = src;
        if (src && isAlias(src)) {
          if (++budget.aliases > MAX_ALIASES) throw new NodeBudgetError(`spec uses more than ${MAX_ALIASES} aliases`, here(src));
          target = anchors(src as Alias);
        }
        if (target && isMap(target) && chain.has(target as YAMLMap)) {
          report({ severity: 'error', path: formatPath(path), message: '`<<` merges a map into itself (its alias names the map it stands in)', ...here(src as YamlNode) });
          continue;
        }
        if (!target || !isMap(target)) {
          report({ severity: 'error', path: formatPath(path), message: '`<<` merges maps: give it an alias of a map (`<<: *defaults`) or a list of them', ...(src ? here(src) : site) });
          continue;
        }
        for (const e of effective(mapEntries(anchors, target as YAMLMap, path, here, budget, diagnostics, depth + 1, new Set([...chain, target as YAMLMap])))) {
          entries.push({ ...e, merged: true, site: e.site ?? site });
        }
      }
      continue;
    }
    if (!keyNode || !isScalar(keyNode)) {
      report({ severity: 'error', path: formatPath(path), message: 'only plain scalar keys are allowed', ...(keyNode ? here(keyNode) : here(node as YamlNode)) });
      continue;
    }
    const key = String(keyNode.value);
    const bad = numericKey(keyNode, key, path);
    if (bad) report({ severity: 'error', path: formatPath([...path, key]), message: bad, ...here(keyNode) });
    entries.push({ key, keyNode, value: pair.value as YamlNode | null, merged: false });
  }
  return entries;
}

/**
 * A key YAML reads as a number is a name turned into something else: `3.10:` becomes "3.1",
 * `010:` becomes "10". Names (releases, distros, axis values, …) must be written as strings;
 * inside `vars`, free-form data, only a key that does not read back as written is refused.
 */
function numericKey(node: YamlNode, key: string, path: (string | number)[]): string | undefined {
  const value = (node as { value?: unknown }).value;
  if (typeof value !== 'number' && typeof value !== 'bigint') return undefined;
  const written = (node as { source?: string }).source ?? key;
  const lossy = written !== key;
  if (path.includes('vars') && !lossy) return undefined;
  return lossy
    ? `key ${written} is read by YAML as the number ${key}: quote it ("${written}")`
    : `key ${written} is a number to YAML; names are strings: quote it ("${written}")`;
}

/**
 * Keys in the order they were written (file by file, as the layers were read): what a map
 * cannot keep when its keys look like integers ("17", "16" iterate as 16, 17).
 */
export function writtenOrder(locs: Locations, files: string[], path: SpecPath, keys: string[]): string[] {
  const at = (k: string) => {
    const l = locs.get(pathKey([...path, k]));
    const p = l?.key ?? l?.value;
    return p ? [files.indexOf(p.file), p.line, p.column] : [Infinity, 0, 0];
  };
  const pos = new Map(keys.map((k) => [k, at(k)]));
  return [...keys].sort((a, b) => {
    const x = pos.get(a)!;
    const y = pos.get(b)!;
    return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
  });
}

/** Best position for a path: the value if known, else the nearest ancestor's. */
export function locate(locs: Locations, path: SpecPath, prefer: 'key' | 'value' = 'value'): Position | undefined {
  for (let n = path.length; n >= 0; n--) {
    const l = locs.get(pathKey(path.slice(0, n)));
    if (l) return prefer === 'key' || n < path.length ? (l.key ?? l.value) : l.value;
  }
  return undefined;
}
