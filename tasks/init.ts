// `manager init`: a starter manifest and templates that validate as written, so a new
// package starts from something that builds rather than from a blank page.
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../core/base/errors.ts';
import { loadSpec } from '../core/load/validate.ts';
import { SpecError } from '../core/base/errors.ts';
import { writeFileAtomic } from './atomic.ts';

interface CatalogDistro {
  alias: string;
  family: string;
  package_manager: string;
  /** The plain distro image. */
  image: string;
  /** The official Python image on this distro, used when the family has a python axis. */
  pythonImage?: string;
  architectures: string[];
}

/** Well-known distros a starter manifest can name; any other can be added by hand. */
export const DISTRO_CATALOG: Record<string, CatalogDistro> = {
  debian11: { alias: 'debian', family: 'debian', package_manager: 'apt', image: 'docker.io/library/debian:bullseye-slim', pythonImage: 'docker.io/library/python:{python}-slim-bullseye', architectures: ['amd64', 'arm64v8', 'arm32v7', 'ppc64le', 's390x'] },
  debian12: { alias: 'bookworm', family: 'debian', package_manager: 'apt', image: 'docker.io/library/debian:bookworm-slim', pythonImage: 'docker.io/library/python:{python}-slim-bookworm', architectures: ['amd64', 'arm64v8', 'arm32v7', 'ppc64le', 's390x'] },
  ubi8: { alias: 'ubi8', family: 'rhel', package_manager: 'dnf', image: 'registry.access.redhat.com/ubi8/ubi:8.8-1032', architectures: ['amd64', 'arm64v8', 'ppc64le', 's390x'] },
  'alpine3.18': { alias: 'alpine', family: 'alpine', package_manager: 'apk', image: 'docker.io/library/alpine:3.18', pythonImage: 'docker.io/library/python:{python}-alpine3.18', architectures: ['amd64', 'arm64v8', 'arm32v7', 'ppc64le', 's390x'] },
  amazonlinux2: { alias: 'ami2', family: 'amazonlinux', package_manager: 'yum', image: 'docker.io/library/amazonlinux:2.0.20230612.0', architectures: ['amd64', 'arm64v8'] },
};

/** One axis of the new family: `pg` with values 15, 16, 17. */
export interface InitAxis {
  name: string;
  values: string[];
}

const ARCHES: Record<string, string> = { amd64: 'linux/amd64', arm64v8: 'linux/arm64', arm32v7: 'linux/arm/v7', ppc64le: 'linux/ppc64le', s390x: 'linux/s390x' };

export interface InitOptions {
  root: string;
  name: string;
  releases: string[];
  distros: string[];
  /** The family's axes, in order; one named python becomes the `python:` shorthand. */
  axes: InitAxis[];
  manifest?: string;
  force: boolean;
}

/**
 * `pg=15,16,17 flavor=slim,full` (from flags or the prompt) → axes. Names are what specs accept;
 * `gpu_supported` releases add the cuda axis themselves.
 */
export function parseInitAxes(words: string[]): InitAxis[] {
  const out: InitAxis[] = [];
  for (const w of words) {
    const m = /^([a-z][a-z0-9_-]*)=(.+)$/.exec(w.trim());
    if (!m) throw new UsageError(`bad axis "${w}": expected NAME=VALUE[,VALUE…] (a lowercase name)`);
    const values = m[2]!.split(',').map((v) => v.trim()).filter(Boolean);
    if (!values.length || values.some((v) => !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v))) throw new UsageError(`bad axis "${w}": values are letters, digits, . _ -`);
    if (out.some((a) => a.name === m[1])) throw new UsageError(`axis "${m[1]}" is given twice`);
    out.push({ name: m[1]!, values });
  }
  return out;
}

/** The build arg a starter axis sets: `pg` → PG_VERSION (PYTHON_VERSION for python). */
export function axisArg(name: string): string {
  return `${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_VERSION`;
}

interface ParsedRelease {
  name: string;
  parent?: string;
  gpu: boolean;
}

/** `runtime,cudnn(gpu_supported),devel:runtime` → releases with parents, in hierarchy order. */
export function parseReleases(items: string[]): ParsedRelease[] {
  const out: ParsedRelease[] = [];
  for (const item of items) {
    const m = /^([A-Za-z0-9][\w.-]*)(\(gpu_supported\))?(?::([A-Za-z0-9][\w.-]*))?$/.exec(item);
    if (!m) throw new UsageError(`bad release "${item}": expected name, name(gpu_supported) or name:parent`);
    const prev = out[out.length - 1];
    out.push({ name: m[1]!, gpu: Boolean(m[2]), parent: m[3] ?? prev?.name });
  }
  if (out[0] && out[0].name !== 'base' && !out.some((r) => r.name === 'base')) {
    out.unshift({ name: 'base', gpu: false });
    if (!items[0]!.includes(':')) out[1]!.parent = 'base';
  }
  const names = out.map((r) => r.name);
  for (const r of out) {
    if (r.parent && !names.includes(r.parent)) throw new UsageError(`release "${r.name}" names parent "${r.parent}", which is not in --releases`);
    if (names.indexOf(r.name) !== names.lastIndexOf(r.name)) throw new UsageError(`release "${r.name}" is listed twice`);
  }
  return out;
}

export function initPackage(o: InitOptions): { manifest: string; files: string[] } {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(o.name)) throw new UsageError(`bad package name "${o.name}": lowercase letters, digits, . _ -`);
  for (const d of o.distros) if (!DISTRO_CATALOG[d]) throw new UsageError(`unknown distro "${d}" (catalog: ${Object.keys(DISTRO_CATALOG).join(', ')})`);
  const releases = parseReleases(o.releases);
  const manifest = resolve(o.manifest ?? join(o.root, 'manifests', `${o.name}.yaml`));
  const templatesDir = join(o.root, 'templates', o.name);
  const gpu = releases.some((r) => r.gpu);
  if (gpu && o.axes.some((a) => a.name === 'cuda')) throw new UsageError('a (gpu_supported) release adds the cuda axis itself; drop --axis cuda');
  const python = o.axes.find((a) => a.name === 'python');
  const own = o.axes.filter((a) => a.name !== 'python');
  const q = (v: string) => JSON.stringify(v);
  // Tags name every axis value, so no two images share one.
  const axisPart = (names: string[]) => names.map((n) => `-${n}{${n}}`).join('');
  // A GPU release's descendants expand over CUDA too.
  const gpuSet = new Set<string>();
  for (const r of releases) if (r.gpu || (r.parent && gpuSet.has(r.parent))) gpuSet.add(r.name);

  const y: string[] = [
    `# Starter manifest written by \`manager init\`. Every key is documented in docs/spec.md of the`,
    `# image-matrix-manager package (node_modules/image-matrix-manager/docs/spec.md where it is`,
    `# installed); \`manager schema\` prints the JSON Schema editors complete this file from.`,
    `package: ${o.name}`,
    `version: 0.1.0`,
    `templates: ${relative(dirname(manifest), templatesDir) || '.'}`,
    ...(python ? [`python: [${python.values.map(q).join(', ')}]`] : []),
    `architectures:`,
    ...[...new Set(o.distros.flatMap((d) => DISTRO_CATALOG[d]!.architectures))].map((a) => `  ${a}: ${ARCHES[a]}`),
  ];
  if (own.length || gpu) y.push('axes:');
  for (const a of own) y.push(`  ${a.name}:`, `    arg: ${axisArg(a.name)}`, `    values: [${a.values.map(q).join(', ')}]`);
  if (gpu) {
    y.push(
      '  cuda:',
      '    default: "12.2.2"',
      '    values:',
      '      "12.2.2":',
      '        vars: { major: "12", minor: "2" }',
      '        architectures: { amd64: { cudnn: "8.9.5.29-1" } }',
    );
  }
  y.push('releases:');
  for (const r of releases) {
    y.push(`  ${r.name}:`);
    if (r.parent) y.push(`    parent: ${r.parent}`);
    // Roots expand over the family's axes; children inherit them.
    const axes = [...(!r.parent && own.length ? own.map((a) => a.name) : []), ...(r.gpu ? ['cuda'] : [])];
    if (axes.length) y.push(`    axes: [${axes.join(', ')}]`);
    if (r.gpu) y.push('    build_args: { CUDA_VERSION: "{cuda}" }');
    const names = [...(python ? ['python'] : []), ...own.map((a) => a.name)];
    const tag = r.parent ? `{version}${axisPart(names)}-{distro}-${r.name}` : `${r.name}${axisPart(names)}-{distro}`;
    y.push(`    tags: ["${tag}${gpuSet.has(r.name) ? '-cuda{cuda}' : ''}"]`);
  }
  y.push('distros:');
  for (const d of o.distros) {
    const c = DISTRO_CATALOG[d]!;
    y.push(
      `  ${d}:`,
      `    alias: ${c.alias}`,
      `    family: ${c.family}`,
      `    package_manager: ${c.package_manager}`,
      `    image: ${python && c.pythonImage ? c.pythonImage : c.image}`,
      `    architectures: [${c.architectures.join(', ')}]`,
      `    releases: [${releases.map((r) => r.name).join(', ')}]`,
    );
  }
  y.push('registries:', '  docker.io:', '    kind: dockerhub', `    namespace: ${o.name.replace(/[^a-z0-9]/g, '')}`, '    credentials: { username_env: DOCKER_USER, password_env: DOCKER_PASSWORD }', '');

  const files = new Map<string, string>([[manifest, y.join('\n')]]);
  for (const fam of new Set(o.distros.map((d) => DISTRO_CATALOG[d]!.family))) {
    for (const r of releases) files.set(join(templatesDir, fam, `${r.name}.Dockerfile.eta`), starterTemplate(r, fam));
  }
  for (const f of files.keys()) {
    if (existsSync(f) && !o.force) throw new UsageError(`${f} exists; pass --force to overwrite`);
  }
  for (const [f, c] of files) writeFileAtomic(f, c);
  const ignore = join(o.root, '.gitignore');
  const ignored = gitignoreText(existsSync(ignore) ? readFileSync(ignore, 'utf8') : undefined);
  if (ignored !== undefined) writeFileAtomic(ignore, ignored);
  const check = loadSpec(manifest);
  if (!check.spec) throw new SpecError(check.diagnostics);
  return { manifest, files: [...files.keys(), ...(ignored !== undefined ? [ignore] : [])] };
}

/**
 * What a repository keeps out of git once it uses the tool: each machine's state, run lock,
 * reports and logs, temporaries of a killed write, and the .env that holds credentials. The
 * tree's record (.manager/files.json) stays in: a fresh clone needs it to know what it wrote.
 */
export const GITIGNORE_LINES = [
  'generated/*/.manager/*',
  '!generated/*/.manager/files.json',
  'generated/*/.logs/',
  'generated/*/.staging-*',
  '.*.tmp-*',
  '.env',
];
const GITIGNORE_HEADER = '# manager: per-machine state, logs and reports; credentials (.env)';

/**
 * The .gitignore with the tool's lines added: a repository's own file is kept as it is and
 * only the lines it lacks are appended, so init run twice adds nothing. Undefined: no change.
 */
export function gitignoreText(existing: string | undefined): string | undefined {
  const have = new Set((existing ?? '').split(/\r?\n/).map((l) => l.trim()));
  const missing = GITIGNORE_LINES.filter((l) => !have.has(l));
  if (!missing.length) return undefined;
  const head = existing === undefined || existing === '' ? '' : existing.endsWith('\n') ? `${existing}\n` : `${existing}\n\n`;
  return `${head}${have.has(GITIGNORE_HEADER) ? '' : `${GITIGNORE_HEADER}\n`}${missing.join('\n')}\n`;
}

function starterTemplate(r: ParsedRelease, family: string): string {
  const install: Record<string, string> = {
    debian: 'apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*',
    rhel: 'dnf install -y ca-certificates && dnf clean all',
    alpine: 'apk add --no-cache ca-certificates',
    amazonlinux: 'yum install -y ca-certificates && yum clean all',
  };
  // The axes' build args: declared before FROM (the base image may use them) and again after.
  const axisArgs = '<% for (const a of it.axis_args) { -%>\nARG <%= a %>\n<% } -%>\n';
  const head = r.parent
    ? `ARG <%= it.parent_arg %>\nFROM \${<%= it.parent_arg %>}\n${axisArgs}`
    : `${axisArgs}ARG <%= it.from.arg %>=<%= it.from.default %>\nFROM \${<%= it.from.arg %>}\n${axisArgs}`;
  return `${head}LABEL org.opencontainers.image.title="<%= it.package.name %>-<%= it.release.name %>"\nRUN ${install[family] ?? 'true'}\n`;
}

/**
 * Asks for the family's axes on a terminal: one line, `NAME=V1,V2 …`, blank for none. The
 * answer goes through parseInitAxes like the flags; a bad answer is asked again (three times).
 */
export async function askAxes(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<string[]> {
  const rl = createInterface({ input, output, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      output.write('Axes of the family, as NAME=VALUE,VALUE … (e.g. "pg=15,16 flavor=slim,full"; python=3.11,3.12 for Python; blank for none): ');
      const next = await lines.next();
      if (next.done) return [];
      const words = String(next.value).trim().split(/\s+/).filter(Boolean);
      try {
        parseInitAxes(words);
        return words;
      } catch (e) {
        output.write(`${(e as Error).message}\n`);
      }
    }
    throw new UsageError('no usable axes given; pass --axis NAME=VALUES or --no-axes');
  } finally {
    rl.close();
  }
}
