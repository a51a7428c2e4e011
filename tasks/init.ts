// `manager init`: a starter manifest and templates that validate as written, so a new
// package starts from something that builds rather than from a blank page.
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../core/errors.ts';
import { loadSpec } from '../core/validate.ts';
import { SpecError } from '../core/errors.ts';
import { writeFileAtomic } from './atomic.ts';

interface CatalogDistro {
  alias: string;
  family: string;
  package_manager: string;
  image: string;
  architectures: string[];
}

/** Well-known distros a starter manifest can name; any other can be added by hand. */
export const DISTRO_CATALOG: Record<string, CatalogDistro> = {
  debian11: { alias: 'debian', family: 'debian', package_manager: 'apt', image: 'docker.io/library/python:{python}-slim-bullseye', architectures: ['amd64', 'arm64v8', 'arm32v7', 'ppc64le', 's390x'] },
  debian12: { alias: 'bookworm', family: 'debian', package_manager: 'apt', image: 'docker.io/library/python:{python}-slim-bookworm', architectures: ['amd64', 'arm64v8', 'arm32v7', 'ppc64le', 's390x'] },
  ubi8: { alias: 'ubi8', family: 'rhel', package_manager: 'dnf', image: 'registry.access.redhat.com/ubi8/ubi:8.8-1032', architectures: ['amd64', 'arm64v8', 'ppc64le', 's390x'] },
  'alpine3.18': { alias: 'alpine', family: 'alpine', package_manager: 'apk', image: 'docker.io/library/python:{python}-alpine3.18', architectures: ['amd64', 'arm64v8', 'arm32v7', 'ppc64le', 's390x'] },
  amazonlinux2: { alias: 'ami2', family: 'amazonlinux', package_manager: 'yum', image: 'docker.io/library/amazonlinux:2.0.20230612.0', architectures: ['amd64', 'arm64v8'] },
};

const ARCHES: Record<string, string> = { amd64: 'linux/amd64', arm64v8: 'linux/arm64', arm32v7: 'linux/arm/v7', ppc64le: 'linux/ppc64le', s390x: 'linux/s390x' };

export interface InitOptions {
  root: string;
  name: string;
  releases: string[];
  distros: string[];
  manifest?: string;
  force: boolean;
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
  // A GPU release's descendants expand over CUDA too.
  const gpuSet = new Set<string>();
  for (const r of releases) if (r.gpu || (r.parent && gpuSet.has(r.parent))) gpuSet.add(r.name);

  const y: string[] = [
    `# Starter manifest written by \`manager init\`. See docs/spec.md for every key.`,
    `package: ${o.name}`,
    `version: 0.1.0`,
    `templates: ${relative(dirname(manifest), templatesDir) || '.'}`,
    `python: ["3.10", "3.11"]`,
    `architectures:`,
    ...[...new Set(o.distros.flatMap((d) => DISTRO_CATALOG[d]!.architectures))].map((a) => `  ${a}: ${ARCHES[a]}`),
  ];
  if (gpu) {
    y.push(
      'axes:',
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
    if (r.gpu) y.push('    axes: [cuda]', '    build_args: { CUDA_VERSION: "{cuda}" }');
    const tag = r.parent ? `{version}-python{python}-{distro}-${r.name}` : `${r.name}-python{python}-{distro}`;
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
      `    image: ${c.image}`,
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
  const check = loadSpec(manifest);
  if (!check.spec) throw new SpecError(check.diagnostics);
  return { manifest, files: [...files.keys()] };
}

function starterTemplate(r: ParsedRelease, family: string): string {
  const install: Record<string, string> = {
    debian: 'apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*',
    rhel: 'dnf install -y ca-certificates && dnf clean all',
    alpine: 'apk add --no-cache ca-certificates',
    amazonlinux: 'yum install -y ca-certificates && yum clean all',
  };
  const head = r.parent
    ? 'ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\nARG PYTHON_VERSION\n'
    : 'ARG PYTHON_VERSION\nARG <%= it.from.arg %>=<%= it.from.default %>\nFROM ${<%= it.from.arg %>}\nARG PYTHON_VERSION\n';
  return `${head}LABEL org.opencontainers.image.title="<%= it.package.name %>-<%= it.release.name %>"\nRUN ${install[family] ?? 'true'}\n`;
}
