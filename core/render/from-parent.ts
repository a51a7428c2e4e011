// Whether a rendered Dockerfile really builds FROM the image the tool hands it. A child gets its
// parent's exact staged reference (`repo:tag@sha256:…`), a locked root its base image's digest,
// in one build arg; a Dockerfile whose final stage's ancestry never reads that arg as its whole
// base reference builds on whatever else it names, silently. Pure: text in, verdict out.
//
// The parser reads what decides the base of the final stage and nothing more: parser
// directives (`# escape=`), comments, line continuations, heredoc bodies (which are not
// instructions), global ARGs with their defaults, and FROM with its flags and stage name.
import type { Diagnostic } from '../base/diagnostics.ts';

/** Build args BuildKit defines in the global scope: FROM may read them undeclared. */
const PLATFORM_ARGS = new Set(['TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT', 'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT']);

export interface GlobalArg {
  name: string;
  /** The default as written (quotes removed), undefined when the ARG has none. */
  default?: string;
}

export interface Stage {
  /** 0-based, in file order. */
  index: number;
  /** The image expression as written, e.g. `${BASE_IMAGE}` or `cuda-${CUDA_VERSION}-${TARGETARCH}`. */
  image: string;
  /** The `AS` name, lower-cased (stage names are case-insensitive). */
  name?: string;
  /** Where the FROM keyword is in the Dockerfile, 1-based. */
  line: number;
  column: number;
  /** The FROM instruction's first physical line, as written. */
  text: string;
}

export interface ParsedDockerfile {
  escape: string;
  /** ARGs before the first FROM, in order: the only ones a FROM line can read. */
  globalArgs: GlobalArg[];
  stages: Stage[];
}

const DIRECTIVE = /^#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$/;
const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

/** The stages and global ARGs of a Dockerfile. */
export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  let i = 0;
  // Parser directives only count before any comment, blank line or instruction.
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]!.trim());
    if (!m || !lines[i]!.trimStart().startsWith('#')) break;
    if (m[1]!.toLowerCase() === 'escape' && (m[2] === '`' || m[2] === '\\')) escape = m[2];
  }
  const continued = new RegExp(`${escape === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const globalArgs: GlobalArg[] = [];
  const stages: Stage[] = [];
  while (i < lines.length) {
    const first = lines[i]!;
    if (/^\s*(#|$)/.test(first)) {
      i++;
      continue;
    }
    const start = i;
    // One instruction: physical lines joined while they end in the escape character; comment
    // and blank lines inside a continuation are dropped, as the builder drops them.
    let logical = '';
    let line = first;
    for (;;) {
      if (!continued.test(line)) {
        logical += line;
        i++;
        break;
      }
      logical += line.replace(continued, '');
      i++;
      while (i < lines.length && /^\s*(#|$)/.test(lines[i]!)) i++;
      if (i >= lines.length) break;
      line = lines[i]!;
    }
    const m = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(logical);
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    const args = (m[2] ?? '').trim();
    if (keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD') {
      // Heredoc bodies follow the instruction, one per marker, each up to its terminator.
      for (const h of args.matchAll(HEREDOC)) {
        const strip = h[1] === '-';
        const word = h[3]!;
        while (i < lines.length) {
          const body = lines[i++]!;
          if ((strip ? body.replace(/^\t+/, '') : body) === word) break;
        }
      }
      continue;
    }
    if (keyword === 'ARG' && stages.length === 0) {
      for (const word of words(args, escape)) {
        const eq = word.indexOf('=');
        globalArgs.push(eq < 0 ? { name: word } : { name: word.slice(0, eq), default: word.slice(eq + 1) });
      }
      continue;
    }
    if (keyword === 'FROM') {
      const ws = words(args, escape);
      let k = 0;
      while (k < ws.length && ws[k]!.startsWith('--')) k++;
      const image = ws[k] ?? '';
      const name = ws[k + 1]?.toLowerCase() === 'as' ? ws[k + 2]?.toLowerCase() : undefined;
      const column = first.search(/\S/) + 1;
      stages.push({ index: stages.length, image, ...(name ? { name } : {}), line: start + 1, column, text: first.trim() });
    }
  }
  return { escape, globalArgs, stages };
}

/** Whitespace-separated words; quotes group and are removed, escapes are kept for expansion. */
function words(s: string, escape: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let inWord = false;
  for (let k = 0; k < s.length; k++) {
    const c = s[k]!;
    if (c === escape && k + 1 < s.length) {
      cur += c + s[++k]!;
      inWord = true;
    } else if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** A piece of an expanded expression: text, the reference the tool passes, or a value unknown here. */
type Part = { lit: string } | { parent: true } | { unknown: string };

interface Value {
  parts: Part[];
  /** Whether the arg is set at build time: known, or undefined when it depends on the build. */
  set: boolean | undefined;
}

const EMPTY: Value = { parts: [], set: false };

function nonEmpty(parts: Part[]): boolean | undefined {
  if (parts.some((p) => ('lit' in p && p.lit !== '') || 'parent' in p)) return true;
  return parts.some((p) => 'unknown' in p) ? undefined : false;
}

/**
 * Expands `$A`, `${A}`, `${A:-w}`, `${A:+w}`, `${A-w}`, `${A+w}` as the builder does, over what
 * is known of each arg; any other modifier leaves the value unknown.
 */
function expand(expr: string, env: Map<string, Value>, escape: string): Part[] {
  const out: Part[] = [];
  const lookup = (name: string): Value => env.get(name) ?? (PLATFORM_ARGS.has(name) ? { parts: [{ unknown: name }], set: true } : EMPTY);
  let k = 0;
  while (k < expr.length) {
    const c = expr[k]!;
    if (c === escape && k + 1 < expr.length) {
      out.push({ lit: expr[k + 1]! });
      k += 2;
      continue;
    }
    if (c !== '$') {
      out.push({ lit: c });
      k++;
      continue;
    }
    if (expr[k + 1] === '{') {
      let depth = 1;
      let end = k + 2;
      for (; end < expr.length && depth; end++) {
        if (expr[end] === escape) end++;
        else if (expr[end] === '{') depth++;
        else if (expr[end] === '}') depth--;
      }
      const inner = expr.slice(k + 2, end - 1);
      k = end;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)([\s\S]*)$/.exec(inner);
      if (!m) {
        out.push({ unknown: inner });
        continue;
      }
      const v = lookup(m[1]!);
      const rest = m[2]!;
      const op = /^(:?[-+])([\s\S]*)$/.exec(rest);
      if (rest === '') out.push(...v.parts);
      else if (!op) out.push({ unknown: m[1]! });
      else {
        const test = op[1]!.startsWith(':') ? (v.set === false ? false : nonEmpty(v.parts)) : v.set;
        const word = () => expand(op[2]!, env, escape);
        if (test === undefined) out.push({ unknown: m[1]! });
        else if (op[1]!.endsWith('-')) out.push(...(test ? v.parts : word()));
        else out.push(...(test ? word() : []));
      }
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expr.slice(k + 1));
    if (!m) {
      out.push({ lit: '$' });
      k++;
      continue;
    }
    out.push(...lookup(m[0]).parts);
    k += 1 + m[0].length;
  }
  return merge(out);
}

function merge(parts: Part[]): Part[] {
  const out: Part[] = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if ('lit' in p && last && 'lit' in last) out[out.length - 1] = { lit: last.lit + p.lit };
    else if (!('lit' in p) || p.lit !== '') out.push(p);
  }
  return out.filter((p) => !('lit' in p) || p.lit !== '');
}

/** What the global ARGs hold when FROM lines are read: the passed arg is the tool's reference. */
function globalEnv(df: ParsedDockerfile, arg: string): Map<string, Value> {
  const env = new Map<string, Value>();
  for (const a of df.globalArgs) {
    if (a.name === arg) env.set(a.name, { parts: [{ parent: true }], set: true });
    else if (a.default !== undefined) env.set(a.name, { parts: expand(a.default, env, df.escape), set: true });
    // Declared without a default: set by the build or not, unknown here.
    else env.set(a.name, { parts: [{ unknown: a.name }], set: undefined });
  }
  return env;
}

export interface NotFromArg {
  /** The stage whose FROM ends the final stage's ancestry without reading the arg. */
  stage: Stage;
  /** Why, in words that fit after "it builds FROM `…`, which". */
  reason: string;
  /** The stage ancestry from the final stage down, by FROM text, when it is longer than one. */
  via: Stage[];
}

export interface FromArgVerdict {
  consumes: boolean;
  /** Every root of the final stage's ancestry that does not read the arg (empty when it consumes). */
  failures: NotFromArg[];
}

/**
 * Whether the final stage of a Dockerfile builds FROM exactly the value of build arg `arg`.
 * The ancestry follows FROM names of earlier stages (not `COPY --from`); a computed name
 * (`FROM cuda-${CUDA_VERSION}-${TARGETARCH}`) stands for every earlier stage it can match,
 * and each of them must build FROM the arg.
 */
export function fromArgVerdict(text: string, arg: string): FromArgVerdict {
  const df = parseDockerfile(text);
  const final = df.stages[df.stages.length - 1];
  if (!final) return { consumes: false, failures: [] };
  const env = globalEnv(df, arg);
  const declared = df.globalArgs.some((a) => a.name === arg);
  const failures: NotFromArg[] = [];
  const visit = (stage: Stage, via: Stage[]): void => {
    const parts = expand(stage.image, env, df.escape);
    const fail = (reason: string): void => void failures.push({ stage, reason, via });
    if (parts.length === 1 && 'parent' in parts[0]!) return;
    if (parts.some((p) => 'parent' in p)) {
      return fail(`reads \${${arg}} with more around it; the value of ${arg} is the full image reference (repository:tag@sha256:…), so nothing may be added to it`);
    }
    const earlier = df.stages.slice(0, stage.index).filter((s) => s.name !== undefined);
    if (parts.every((p) => 'lit' in p)) {
      const name = parts.map((p) => (p as { lit: string }).lit).join('').toLowerCase();
      const named = [...earlier].reverse().find((s) => s.name === name);
      if (named) return visit(named, [...via, stage]);
      if (!declared && new RegExp(`\\$\\{?${arg}\\b`).test(stage.image)) return fail(`reads \${${arg}}, but no ARG before the first FROM declares ${arg}, so it is empty there`);
      return fail(name ? `names its base image itself (${name}), not \${${arg}}` : `is empty`);
    }
    const pattern = new RegExp(`^${parts.map((p) => ('lit' in p ? p.lit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : '.*')).join('')}$`, 'i');
    const matched = earlier.filter((s) => pattern.test(s.name!));
    if (!matched.length) {
      const unknown = parts.filter((p): p is { unknown: string } => 'unknown' in p).map((p) => p.unknown);
      return fail(`names an image computed from ${[...new Set(unknown)].map((u) => `\${${u}}`).join(', ')} (it matches no earlier stage's name), not \${${arg}}`);
    }
    for (const s of matched) visit(s, [...via, stage]);
  };
  visit(final, []);
  return { consumes: failures.length === 0, failures };
}

/** Whether a Dockerfile's final stage builds FROM build arg `arg`. */
export function buildsFromArg(text: string, arg: string): boolean {
  return fromArgVerdict(text, arg).consumes;
}

export interface SourceText {
  file: string;
  text: string;
}

/**
 * Where in the templates a rendered FROM line came from: the first line, main template first,
 * that is the same text, or that is a FROM whose literal pieces around its template tags match.
 */
export function templateLineOf(fromText: string, sources: SourceText[]): { file: string; line: number; column: number } | undefined {
  const want = fromText.trim();
  const at = (s: SourceText, n: number, l: string) => ({ file: s.file, line: n + 1, column: l.search(/\S/) + 1 });
  for (const s of sources) {
    const lines = s.text.split(/\r?\n/);
    const n = lines.findIndex((l) => l.trim() === want);
    if (n >= 0) return at(s, n, lines[n]!);
  }
  for (const s of sources) {
    const lines = s.text.split(/\r?\n/);
    for (const [n, l] of lines.entries()) {
      if (!/^\s*from\b/i.test(l) || !l.includes('<%')) continue;
      const re = new RegExp(`^${l.trim().split(/<%[\s\S]*?%>/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*?')}$`);
      if (re.test(want)) return at(s, n, l);
    }
  }
  return undefined;
}

export interface FromCheck {
  /** The generated Dockerfile, relative to the package's generated directory. */
  dockerfile: string;
  content: string;
  arg: string;
  /** `parent`: a child's parent reference; `base`: a root's locked base image digest. */
  carries: 'parent' | 'base';
  /** The template that rendered it, then the partials it included (absolute paths and text). */
  sources: SourceText[];
  /** Spec path the diagnostic names, e.g. `releases.runtime`. */
  path: string;
  /** Where the arg's name is set, for the hint. */
  argSetting: string;
}

/** The spec error of a Dockerfile that does not build FROM the arg, or undefined when it does. */
export function fromCheckDiagnostic(c: FromCheck): Diagnostic | undefined {
  const verdict = fromArgVerdict(c.content, c.arg);
  if (verdict.consumes) return undefined;
  const what = c.carries === 'parent' ? 'its parent image' : "its distro's locked base image";
  const passes = c.carries === 'parent' ? "the parent's exact image reference" : "the lock file's digest of the base image";
  const first = verdict.failures[0];
  const main = c.sources[0];
  const position = (first && templateLineOf(first.stage.text, c.sources)) ?? (main ? { file: main.file, line: 1, column: 1 } : {});
  const said = verdict.failures.map((f) => {
    const chain = f.via.length ? `its final stage (\`${f.via[0]!.text}\`, line ${f.via[0]!.line}) descends from \`${f.stage.text}\` (line ${f.stage.line}), which` : `its final stage builds \`${f.stage.text}\` (line ${f.stage.line}), which`;
    return `${chain} ${f.reason}`;
  });
  const none = verdict.failures.length ? '' : 'it has no FROM instruction; ';
  return {
    severity: 'error',
    path: c.path,
    message: `${c.dockerfile} does not build FROM ${what}: ${none}${said.join('; ')}. The build passes ${passes} in build arg ${c.arg}, which nothing would read: declare \`ARG ${c.arg}\` before the first FROM and build the final stage (or the stage it descends from) \`FROM \${${c.arg}}\`, or name the arg the template reads in ${c.argSetting}`,
    ...position,
  };
}
