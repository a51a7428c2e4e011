// `manager build --check`: BuildKit's Dockerfile checks (`docker buildx build --call check`) on
// every selected Dockerfile, as `docker buildx bake --call check` runs them per target. The argv,
// what the builder must be able to do, and the report are pure; tasks/ runs the argv.
import { relative } from 'node:path';
import type { BuildInvocation, BuilderInfo } from './argv.ts';

/** buildx took `--call` in 0.15; the Dockerfile frontend with checks is BuildKit 0.14's (1.8). */
export const CHECKS_NEED = { buildx: [0, 15] as const, buildkit: [0, 14] as const };

const semver = (text: string | undefined) => {
  const m = /v?(\d+)\.(\d+)/.exec(text ?? '');
  return m ? ([Number(m[1]), Number(m[2])] as const) : undefined;
};
const atLeast = (v: readonly [number, number], need: readonly [number, number]) => v[0] > need[0] || (v[0] === need[0] && v[1] >= need[1]);

/** buildx's own version, from `docker buildx version` (`github.com/docker/buildx v0.17.1 …`, Debian's `0.13.1+ds1`). */
export function buildxVersion(text: string): string | undefined {
  return /(?:^|\s)v?(\d+\.\d+\.\d+)\S*/.exec(text.trim().split('\n')[0] ?? '')?.[1];
}

/** Why checks cannot run here, or undefined when they can: said plainly, with what each part needs. */
export function checksUnsupported(buildx: string | undefined, builder: BuilderInfo): string | undefined {
  const problems: string[] = [];
  const bx = semver(buildx);
  if (!bx || !atLeast(bx, CHECKS_NEED.buildx)) problems.push(`buildx ${buildx ?? '(version unknown)'} has no --call check (it came in buildx ${CHECKS_NEED.buildx.join('.')})`);
  const bk = semver(builder.buildkit);
  // Distribution engines say v0.0.0: then nothing is known, and the builder is asked anyway.
  if (bk && (bk[0] > 0 || bk[1] > 0) && !atLeast(bk, CHECKS_NEED.buildkit)) problems.push(`builder "${builder.name}" runs BuildKit ${builder.buildkit}, whose Dockerfile frontend has no checks (BuildKit ${CHECKS_NEED.buildkit.join('.')} or later; a # syntax= line could fetch a newer frontend, where the network allows)`);
  return problems.length ? `Dockerfile checks cannot run here: ${problems.join('; ')}` : undefined;
}

/** The check of one Dockerfile: the build's own file, build args and platform, nothing pushed or loaded. */
export function checkArgv(b: Pick<BuildInvocation, 'contextDir' | 'dockerfile' | 'buildArgs' | 'platforms' | 'builder'>): string[] {
  const argv = ['docker', 'buildx', 'build', '--call', 'check,format=json', '--progress', 'quiet'];
  if (b.builder) argv.push('--builder', b.builder);
  argv.push('--platform', b.platforms[0]!);
  if (b.dockerfile) argv.push('--file', b.dockerfile);
  for (const [k, v] of Object.entries(b.buildArgs).sort(([x], [y]) => x.localeCompare(y))) argv.push('--build-arg', `${k}=${v}`);
  argv.push(b.contextDir);
  return argv;
}

export interface CheckWarning {
  rule: string;
  description: string;
  url?: string;
  detail?: string;
  line?: number;
}

/**
 * What `--call check,format=json` printed: `{warnings: [{ruleName, description, url, detail,
 * location: {ranges: [{start: {line}}]}}]}`. Undefined when it is not that document.
 */
export function parseCheckOutput(text: string): CheckWarning[] | undefined {
  const start = text.indexOf('{');
  if (start < 0) return undefined;
  let doc: { warnings?: unknown };
  try {
    doc = JSON.parse(text.slice(start)) as { warnings?: unknown };
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== 'object') return undefined;
  const list = Array.isArray(doc.warnings) ? doc.warnings : [];
  return list.flatMap((w): CheckWarning[] => {
    if (!w || typeof w !== 'object') return [];
    const x = w as { ruleName?: unknown; description?: unknown; url?: unknown; detail?: unknown; location?: { ranges?: { start?: { line?: unknown } }[] } };
    const detail = Array.isArray(x.detail) ? x.detail.join(' ') : typeof x.detail === 'string' ? x.detail : undefined;
    const line = x.location?.ranges?.[0]?.start?.line;
    return [{
      rule: typeof x.ruleName === 'string' ? x.ruleName : 'unknown',
      description: typeof x.description === 'string' ? x.description : '',
      ...(typeof x.url === 'string' ? { url: x.url } : {}),
      ...(detail ? { detail } : {}),
      ...(typeof line === 'number' ? { line } : {}),
    }];
  });
}

export interface DockerfileCheck {
  /** The generated Dockerfile, relative to the package directory. */
  dockerfile: string;
  /** The images built from it (variant keys). */
  images: string[];
  warnings: CheckWarning[];
}

/** One line per warning, `path/Dockerfile:LINE: Rule: description (detail) url`, as a compiler says it. */
export function checkLines(checks: DockerfileCheck[], packageDir: string, cwd: string): string[] {
  const rel = (p: string) => relative(cwd, `${packageDir}/${p}`) || p;
  return checks.flatMap((c) => c.warnings.map((w) => `${rel(c.dockerfile)}:${w.line ?? 1}: ${w.rule}: ${w.description}${w.detail ? ` (${w.detail})` : ''}${w.url ? ` ${w.url}` : ''}`));
}
