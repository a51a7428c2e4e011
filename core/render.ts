// Template rendering with Eta. Every file the engine reads (the template and each partial it
// includes) is recorded, so a render's hash covers exactly the sources it used.
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { Eta, EtaError } from 'eta';
import etaPkg from 'eta/package.json' with { type: 'json' };
import type { Diagnostic } from './diagnostics.ts';
import { sha256 } from './hash.ts';

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

  render(templatePath: string, data: object): RenderResult {
    const sources: Record<string, string> = {};
    const root = this.root;
    const cache = this.cache;
    const eta = new Eta({
      views: root,
      autoEscape: false,
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
    try {
      const text = readSource(eta.resolvePath!(templatePath, {}));
      const fn = eta.compile(text, { filepath: abs });
      const content = eta.render(fn, data, { filepath: abs });
      return { content, sources };
    } catch (e) {
      throw new TemplateError(templateDiagnostic(e, abs));
    }
  }
}

function templateDiagnostic(e: unknown, file: string): Diagnostic {
  const msg = e instanceof Error ? e.message : String(e);
  // Eta's debug errors list each template on the include chain as `path.eta:line`, then the
  // cause; the innermost location is where the mistake is.
  const sites = [...msg.matchAll(/(\/[^\s:]+\.eta):(\d+)/g)];
  const inner = sites[sites.length - 1];
  const cause = msg
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(>>\s*)?\d+\|/.test(l) && !/^\/[^\s:]+\.eta:\d+$/.test(l))
    .pop() ?? msg;
  const lineMatch = inner ? null : /line (\d+)/i.exec(msg);
  return {
    severity: 'error',
    path: '',
    message: `template error: ${cause}`,
    file: inner ? inner[1] : file,
    line: inner ? Number(inner[2]) : lineMatch ? Number(lineMatch[1]) : undefined,
    column: inner || lineMatch ? 1 : undefined,
  };
}
