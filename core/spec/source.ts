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
  type Document,
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
    // Duplicate keys are found while reading values (core/spec/source.ts): the library's own check
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
    value = toValue(doc, doc.contents as YamlNode | null, [], locations, pos, budget, diagnostics);
  } catch (err) {
    if (err instanceof NodeBudgetError) {
      diagnostics.push({ severity: 'error', path: '', message: err.message, ...err.at });
      return { file, value: undefined, locations: new Map(), diagnostics };
    }
    throw err;
  }
  return { file, value, locations, diagnostics };
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
  doc: Document,
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
    const target = (node as Alias).resolve(doc);
    if (!target) return null;
    const prior = locs.get(pathKey(path));
    const outer = budget.site;
    budget.site ??= here(node);
    const v = toValue(doc, target as YamlNode, path, locs, pos, budget, diagnostics);
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
    for (const pair of node.items) {
      const keyNode = pair.key as YamlNode | null;
      let key: string;
      if (keyNode && isScalar(keyNode)) {
        key = String(keyNode.value);
        const bad = numericKey(keyNode, key, path);
        if (bad) diagnostics.push({ severity: 'error', path: formatPath([...path, key]), message: bad, ...here(keyNode) });
      } else {
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
      if (Object.hasOwn(out, key)) {
        if (!budget.site) diagnostics.push({ severity: 'error', path: formatPath(path), message: `duplicate key "${key}": a key may appear once in a map`, ...keyPos });
        continue;
      }
      locs.set(pathKey(childPath), { key: keyPos, value: keyPos });
      const v = toValue(doc, pair.value as YamlNode | null, childPath, locs, pos, budget, diagnostics);
      if (pair.value === null || pair.value === undefined) {
        locs.set(pathKey(childPath), { key: keyPos, value: keyPos });
      }
      out[key] = v;
    }
    return out;
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
