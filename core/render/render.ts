// Template rendering with Eta. Every file the engine reads (the template and each partial it
// includes) is recorded, so a render's hash covers exactly the sources it used.
//
// Templates are code the spec's owner trusts, as a Makefile is. What is done here catches
// mistakes, not attackers: the usual globals (process, require, Function, …) are shadowed,
// dynamic import is refused, a value that is not there fails the render instead of printing
// "undefined", and every error names the template, line and column.
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { Eta, EtaError } from 'eta';
import etaPkg from 'eta/package.json' with { type: 'json' };
import type { Diagnostic } from '../base/diagnostics.ts';
import { sha256 } from '../base/hash.ts';

export const ENGINE_VERSION = `eta@${etaPkg.version}`;

export class TemplateError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

export interface RenderResult {
  content: string;
  /** Template-root-relative path → sha256 of each source read (main template first). */
  sources: Record<string, string>;
}

/** Globals a template has no business with; each is `undefined` inside the template's code. */
const SHADOWED = ['process', 'require', 'module', 'exports', 'globalThis', 'global', 'Function', 'eval', 'Buffer', 'fetch', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'WebAssembly', 'Reflect', 'Proxy', 'XMLHttpRequest', 'WebSocket'];
const HEADER = `const ${SHADOWED.map((g) => `${g} = undefined`).join(', ')};`;

/** Where, in a template's code, something the sandbox refuses appears. */
function refused(text: string): { index: number; what: string } | undefined {
  for (const m of text.matchAll(/<%([\s\S]*?)%>/g)) {
    const code = m[1]!;
    const bad = /\bimport\s*\(|\bimport\.meta\b/.exec(code);
    if (bad) return { index: m.index! + 2 + bad.index, what: bad[0].replace(/\s+/g, '') };
  }
  return undefined;
}

/** Where JSON.parse gives up on `text`: the offset of the first character that cannot continue it (its length when it ends too soon). */
export function jsonErrorAt(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const lit = (word: string) => {
    for (const c of word) if (text[i++] !== c) (i--, fail());
  };
  const str = () => {
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined || c < ' ') fail();
      if (c === '"') return void i++;
      if (c === '\\') {
        i++;
        const e = text[i];
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) (i += k, fail());
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail();
      } else i++;
    }
  };
  const number = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
  const num = () => {
    number.lastIndex = i;
    const m = number.exec(text);
    if (!m) {
      if (text[i] === '-') i++;
      fail();
    }
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    }
    if (c === '"') return str();
    if (c === 't') return lit('true');
    if (c === 'f') return lit('false');
    if (c === 'n') return lit('null');
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return num();
    fail();
  };
  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (at) {
    // Nesting too deep to scan this way: no position, rather than a wrong one.
    return typeof at === 'number' ? Math.min(at, text.length) : 0;
  }
}

function lineCol(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index);
  return { line: before.split('\n').length, column: index - before.lastIndexOf('\n') };
}

/**
 * The data a template sees, read strictly: asking for a key a fixed-shape object (it.distro,
 * it.release, an architecture, …) does not have is an error naming the key and what is there.
 * Free-form maps (vars, per-architecture axis data) answer undefined, and printing that is
 * caught by the output filter instead.
 */
export function strictView<T>(value: T, path = 'it', loose: (path: string) => boolean = (p) => /\.(vars|axes|computed)(\.|\[|$)/.test(p)): T {
  if (!value || typeof value !== 'object' || loose(path)) return value;
  const isArray = Array.isArray(value);
  // Each child's view is made once and kept while its value stays: a template reads the same
  // objects over and over (the README filters every image once per distro), and a new proxy
  // per read was most of a large README's render.
  const children = new Map<string, { value: unknown; view: unknown }>();
  return new Proxy(value as object, {
    get(target, key, receiver) {
      // Read first, asked after: a key that is there with a value (nearly every read) costs one lookup.
      const v = Reflect.get(target, key, receiver);
      if (typeof key === 'symbol') return v;
      if (v === undefined && !(key in target)) {
        // JSON.stringify asks every object for toJSON; an object without one is not a mistake.
        if (key === 'toJSON') return undefined;
        const keys = Object.keys(target);
        throw new Error(`${path}.${key} is not defined (${path} has ${keys.length ? keys.join(', ') : 'nothing'})`);
      }
      // Only objects get a view; an array's own methods and length are read as they are.
      if (!v || typeof v !== 'object' || (isArray && !/^\d+$/.test(key))) return v;
      const known = children.get(key);
      if (known && known.value === v) return known.view;
      const view = strictView(v, isArray ? `${path}[${key}]` : `${path}.${key}`, loose);
      children.set(key, { value: v, view });
      return view;
    },
  }) as T;
}

/** Printed values: a missing value fails the render rather than writing "undefined". */
function printable(v: unknown): string {
  if (v === undefined) throw new Error('the template printed an undefined value (a misspelled key, or a var the spec does not set?)');
  return String(v);
}

/**
 * A renderer bound to one template root. Includes resolve relative to the including file when
 * they start with `./` or `../`, otherwise from the root; nothing outside the root is readable.
 */
export class Renderer {
  private readonly root: string;
  private readonly cache = new Map<string, string>();

  constructor(root: string) {
    this.root = resolve(root);
  }

  private realRootCache: string | undefined;

  private realRoot(): string {
    return (this.realRootCache ??= realpathSync(this.root));
  }

  /**
   * A data template: its output is JSON, parsed into a plain object. A parse error names the
   * template line and column that wrote the offending character, which needs the output traced
   * back to the template: each piece of text and each output tag records where it starts.
   */
  renderData(templatePath: string, data: object, maxBytes = MAX_DATA_BYTES): { value: Record<string, unknown>; sources: Record<string, string> } {
    const trace: Trace = { out: [], pieces: [], template: '' };
    const r = this.render(templatePath, data, trace);
    const file = resolve(this.root, templatePath.endsWith('.eta') ? templatePath : `${templatePath}.eta`);
    const fail = (message: string, at: { line: number; column: number }) => {
      throw new TemplateError({ severity: 'error', path: '', message: `data template error: ${message}`, file, ...at });
    };
    if (Buffer.byteLength(r.content) > maxBytes) fail(`the output is ${Buffer.byteLength(r.content)} bytes; a data template may write at most ${maxBytes}`, { line: 1, column: 1 });
    let value: unknown;
    try {
      value = JSON.parse(r.content);
    } catch {
      // V8's messages name a position only for some mistakes; the scan finds it for all.
      const at = jsonErrorAt(r.content);
      const what = at >= r.content.length ? 'the output ends before the JSON does' : `unexpected ${JSON.stringify(r.content[at])}`;
      const out = lineCol(r.content, at);
      fail(`the output is not JSON: ${what} at output line ${out.line}, column ${out.column} (near ${JSON.stringify(r.content.slice(Math.max(0, at - 20), at + 20))})`, outputSite(trace, at));
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) fail(`the output must be a JSON object ({ … }), not ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}`, { line: 1, column: 1 });
    return { value: value as Record<string, unknown>, sources: r.sources };
  }

  render(templatePath: string, data: object, trace?: Trace): RenderResult {
    const sources: Record<string, string> = {};
    const root = this.root;
    const cache = this.cache;
    // Where each tag of this render stands, so a runtime error names the tag's line and column.
    const tags = new TagSites();
    let compiling = { file: '', text: '' };
    const eta = new Eta({
      plugins: [{
        processAST: (ast: AstNode[]) => {
          const numbered = tags.number(ast, compiling.text);
          return trace && compiling.file === abs ? traced(numbered, compiling.text, tags, trace) : numbered;
        },
      }],
      views: root,
      autoEscape: false,
      autoFilter: true,
      filterFunction: printable,
      functionHeader: HEADER,
      // Control lines end in `-%>` to drop their newline; output tags keep theirs.
      autoTrim: false,
      cache: false,
      cacheFilepaths: false,
      debug: true,
      defaultExtension: '.eta',
    });
    const readSource = (abs: string): string => {
      let text = cache.get(abs);
      if (text === undefined) {
        text = readFileSync(abs, 'utf8');
        cache.set(abs, text);
      }
      const nul = text.indexOf('\u0000');
      if (nul >= 0) throw new TemplateError({ severity: 'error', path: '', message: 'template error: the template contains a NUL byte', file: abs, ...lineCol(text, nul) });
      const bad = refused(text);
      if (bad) throw new TemplateError({ severity: 'error', path: '', message: `template error: ${bad.what} is not available to templates`, file: abs, ...lineCol(text, bad.index) });
      sources[relative(root, abs)] = sha256(text);
      return text;
    };
    eta.readFile = (path: string) => readSource(path);
    eta.resolvePath = (name: string, options?: { filepath?: string }) => {
      const withExt = name.endsWith('.eta') ? name : `${name}.eta`;
      const base = (name.startsWith('./') || name.startsWith('../')) && options?.filepath ? dirname(options.filepath) : root;
      const abs = resolve(base, withExt);
      const rel = relative(root, abs);
      if (rel.startsWith('..') || isAbsolute(rel)) {
        throw new EtaError(`template "${name}" resolves outside the template root ${root}`);
      }
      try {
        const real = realpathSync(abs);
        const realRoot = this.realRoot();
        const realRel = relative(realRoot, real);
        if (realRel.startsWith('..') || isAbsolute(realRel)) throw new EtaError(`template "${name}" is a link outside the template root`);
      } catch (e) {
        if (e instanceof EtaError) throw e;
        throw new EtaError(`template "${name}" not found (looked for ${abs})`);
      }
      return abs;
    };
    const abs = resolve(root, templatePath.endsWith('.eta') ? templatePath : `${templatePath}.eta`);
    // Includes compile inside the render; the file being compiled when a syntax error strikes is the culprit.
    const compile = eta.compile.bind(eta);
    compiling = { file: abs, text: '' };
    eta.compile = ((text: string, options?: { filepath?: string }) => {
      const outer = compiling;
      compiling = { file: options?.filepath ?? abs, text };
      const fn = compile(text, options as never);
      compiling = outer;
      return fn;
    }) as typeof eta.compile;
    try {
      const text = readSource(eta.resolvePath!(templatePath, {}));
      const fn = eta.compile(text, { filepath: abs });
      const content = eta.render(fn, strictView(data), { filepath: abs, ...(trace ? { marks: trace.out } : {}) });
      return { content, sources };
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      throw new TemplateError(templateDiagnostic(e, compiling.file, compiling.text, eta, tags));
    }
  }
}

/**
 * The template tag a syntax error is in. Eta reports such errors against its generated code,
 * which says nothing about the template, so the template is compiled up to each tag in turn:
 * the first prefix that fails for a reason other than "not finished yet" ends at the culprit;
 * if none does, a block opened at the first failing prefix is never closed.
 */
function syntaxErrorSite(eta: Eta, text: string): { line: number; column: number; code: string; unclosed: boolean } | undefined {
  let ast: ReturnType<Eta['parse']>;
  try {
    ast = eta.parse(text);
  } catch {
    return undefined;
  }
  const incomplete = /Unexpected end of input|Unexpected token 'catch'|missing \) after argument list/;
  let offset = 0;
  let firstFailing: { line: number; column: number; code: string } | undefined;
  for (const t of ast) {
    if (typeof t === 'string') {
      offset = text.indexOf(t, offset) + t.length;
      continue;
    }
    const at = text.indexOf(t.val, offset);
    const end = text.indexOf('%>', at) + 2;
    offset = end;
    const site = { ...lineCol(text, at), code: t.val.trim().slice(0, 80) };
    try {
      new Function('it', 'options', eta.compileToString(text.slice(0, end)));
    } catch (err) {
      if (!(err instanceof SyntaxError)) continue;
      firstFailing ??= site;
      if (!incomplete.test(err.message)) return { ...site, unclosed: false };
    }
  }
  return firstFailing ? { ...firstFailing, unclosed: true } : undefined;
}

type AstNode = ReturnType<Eta['parse']>[number];

/** What a data template may write: its JSON becomes every template's `it.computed`, so it stays small. */
export const MAX_DATA_BYTES = 1024 * 1024;

/**
 * Where a traced render's output came from: `out` gets [output offset, piece] as each piece is
 * written; `pieces` holds each piece's origin: a template offset (literal text) or a tag's site.
 */
interface Trace {
  out: [number, number][];
  pieces: ({ offset: number } | { site: number })[];
  template: string;
  sites?: TagSites;
}

/**
 * The top template's AST, each literal text and output tag first recording where the output
 * stands. Each stays one expression statement, so a brace-less `if` or `for` still governs it.
 */
function traced(ast: AstNode[], text: string, sites: TagSites, trace: Trace): AstNode[] {
  Object.assign(trace, { template: text, sites });
  let offset = 0;
  let line = TagSites.BASE;
  return ast.map((node) => {
    const record = `options.marks.push([__eta.res.length, ${trace.pieces.length}])`;
    if (typeof node === 'string') {
      const raw = node.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      const at = text.indexOf(raw, offset);
      trace.pieces.push(at >= 0 ? { offset: at } : { site: line });
      if (at >= 0) offset = at + raw.length;
      return { t: 'r', val: `(${record}, '${node}')`, lineNo: line } as unknown as AstNode;
    }
    const tag = node as { t: string; val: string; lineNo?: number };
    line = tag.lineNo ?? line;
    const end = text.indexOf(tag.val, offset);
    if (end >= 0) offset = end + tag.val.length;
    if (tag.t !== 'r' && tag.t !== 'i') return node;
    trace.pieces.push({ site: line });
    return { ...tag, val: `(${record}, (${tag.val}\n))` } as unknown as AstNode;
  });
}

/** The template line and column that wrote the output's character at `at`. */
function outputSite(trace: Trace, at: number): { line: number; column: number } {
  let last: [number, number] | undefined;
  for (const x of trace.out) if (x[0] <= at) last = x;
  const origin = last ? trace.pieces[last[1]] : undefined;
  if (!last || !origin) return { line: 1, column: 1 };
  if ('site' in origin) return trace.sites?.at(origin.site) ?? { line: 1, column: 1 };
  return lineCol(trace.template, Math.min(origin.offset + (at - last[0]), trace.template.length));
}

/**
 * Eta's debug mode records the line of the tag being run (`__eta.line`) and names it when the
 * tag throws: a line, no column. Each tag's number is replaced by a unique site number past
 * any real line, and the site keeps its line and column: several tags on one line, or a tag
 * inside a loop, are then named exactly.
 */
class TagSites {
  static readonly BASE = 1_000_000;
  private readonly sites: { line: number; column: number }[] = [];

  number(ast: AstNode[], text: string): AstNode[] {
    let offset = 0;
    for (const t of ast) {
      if (typeof t === 'string') continue;
      const tag = t as { val: string; lineNo?: number };
      const line = tag.lineNo ?? 1;
      const open = text.indexOf('<%', offset);
      const at = open >= 0 ? lineCol(text, open) : undefined;
      // The scan can be fooled by `<%` or `%>` inside a tag's strings; Eta's line is then kept.
      const site = at && at.line === line ? at : { line, column: 1 };
      if (open >= 0) offset = Math.max(open + 2, text.indexOf('%>', text.indexOf(tag.val, open + 2) + tag.val.length) + 2);
      this.sites.push(site);
      tag.lineNo = TagSites.BASE + this.sites.length - 1;
    }
    return ast;
  }

  /** A line number from Eta's message: a site number gives its tag's place; anything else is a line. */
  at(n: number): { line: number; column: number } {
    return n >= TagSites.BASE ? (this.sites[n - TagSites.BASE] ?? { line: 1, column: 1 }) : { line: n, column: 1 };
  }
}

function templateDiagnostic(e: unknown, file: string, text: string, eta: Eta, tags: TagSites): Diagnostic {
  const msg = e instanceof Error ? e.message : String(e);
  // Eta's parser names line and column itself ("unclosed tag at line 3 col 5").
  const parse = /^(.*?) at line (\d+) col (\d+):/s.exec(msg);
  if (parse) return { severity: 'error', path: '', message: `template error: ${parse[1]}`, file, line: Number(parse[2]), column: Number(parse[3]) };
  if (/Bad template syntax/.test(msg)) {
    const cause = msg.split('\n').map((l) => l.trim()).find((l) => l && !/Bad template syntax/.test(l)) ?? 'syntax error';
    const site = text ? syntaxErrorSite(eta, text) : undefined;
    const message = site?.unclosed ? `a block opened in \`${site.code}\` is never closed` : `${cause}${site ? ` in \`${site.code}\`` : ''}`;
    return { severity: 'error', path: '', message: `template error: ${message}`, file, line: site?.line ?? 1, column: site?.column ?? 1 };
  }
  // Eta's debug errors list each template on the include chain as `path.eta:line`, then the
  // cause; the innermost location is where the mistake is.
  const sites = [...msg.matchAll(/(\/[^\s:]+\.eta):(\d+)/g)];
  const inner = sites[sites.length - 1];
  const cause = msg
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(>>\s*)?\d+\|/.test(l) && !/^\/[^\s:]+\.eta:\d+$/.test(l))
    .pop() ?? msg;
  return {
    severity: 'error',
    path: '',
    message: `template error: ${cause}`,
    file: inner ? inner[1] : file,
    ...(inner ? tags.at(Number(inner[2])) : { line: 1, column: 1 }),
  };
}
