// The official-images library file (docker-library/official-images `library/<name>`): what a
// maintainer hands to the official-images program, which builds each entry's Directory at its
// GitCommit with bashbrew. RFC 2822-style: a header (Maintainers, GitRepo, Builder), then one
// paragraph per image (Tags, SharedTags, Architectures, GitCommit, Directory). Pure.
import { WorkError } from '../base/errors.ts';
import type { Variant } from '../matrix/expand.ts';
import type { Plan } from '../plan/plan.ts';

export interface LibraryEntry {
  tags: string[];
  sharedTags: string[];
  architectures: string[];
  gitCommit: string;
  directory: string;
  /** bashbrew's `File:`, given only for a per-file axis value's Dockerfile. */
  file?: string;
}

/**
 * Images in the order the official files list them: by the values of the per-value axes
 * (newest first when the spec lists them so), then distros and releases in spec order, then
 * the other axes.
 */
export function libraryOrder(plan: Plan): Variant[] {
  const { spec } = plan;
  const distros = Object.keys(spec.distros);
  const rank = (v: Variant): number[] => {
    const axes = Object.entries(v.axes);
    const perValue = axes.filter(([a]) => spec.axes[a]!.render === 'per-value').map(([a, x]) => spec.axes[a]!.order.indexOf(x));
    const shared = axes.filter(([a]) => spec.axes[a]!.render !== 'per-value').map(([a, x]) => spec.axes[a]!.order.indexOf(x));
    return [...perValue, distros.indexOf(v.distro), spec.releaseOrder.indexOf(v.release), ...shared];
  };
  return [...plan.variants].sort((a, b) => {
    const x = rank(a);
    const y = rank(b);
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? -1) !== (y[i] ?? -1)) return (x[i] ?? -1) - (y[i] ?? -1);
    return 0;
  });
}

/**
 * bashbrew builds a directory's Dockerfile as it is, with no build args and no parent passed
 * in: an image that needs either cannot be listed. Every such image is named.
 */
export function unlistable(plan: Plan): string[] {
  const out: string[] = [];
  for (const v of plan.variants) {
    const args = Object.keys(v.buildArgs);
    if (v.parent) out.push(`${v.key}: builds FROM its parent release through the ${plan.spec.build.parentArg} build arg, which bashbrew does not pass`);
    else if (args.length) out.push(`${v.key}: needs build args (${args.join(', ')}), which bashbrew does not pass; make the axis \`render: per-value\` or write the value into the template`);
  }
  return out;
}

/** bashbrew's architecture names, by docker platform. */
const BASHBREW: Record<string, string> = {
  'linux/amd64': 'amd64',
  'linux/arm/v5': 'arm32v5',
  'linux/arm/v6': 'arm32v6',
  'linux/arm/v7': 'arm32v7',
  'linux/arm64': 'arm64v8',
  'linux/arm64/v8': 'arm64v8',
  'linux/386': 'i386',
  'linux/mips64le': 'mips64le',
  'linux/ppc64le': 'ppc64le',
  'linux/riscv64': 'riscv64',
  'linux/s390x': 's390x',
  'windows/amd64': 'windows-amd64',
};

export function bashbrewArch(platform: string): string | undefined {
  return Object.hasOwn(BASHBREW, platform) ? BASHBREW[platform] : undefined;
}

/** `git rev-parse --show-toplevel`: the repository holding the generated tree. */
export function gitTopLevelArgv(dir: string): string[] {
  return ['git', '-C', dir, 'rev-parse', '--show-toplevel'];
}

/**
 * A directory's pathspec: the path, minus the image directories nested in it (NVIDIA's
 * `runtime/cudnn/` inside `runtime/`), which its build context leaves out too; a change there
 * is the nested image's, and must not move the outer image's GitCommit.
 */
function pathspec(path: string, nested: string[]): string[] {
  const base = path === '.' ? '' : `${path}/`;
  return ['--', path, ...nested.map((d) => `:(exclude)${base}${d}`)];
}

/** Uncommitted changes (tracked or not) under a path: a GitCommit would not hold them. */
export function gitStatusArgv(root: string, path: string, nested: string[] = []): string[] {
  return ['git', '-C', root, 'status', '--porcelain', '--untracked-files=all', ...pathspec(path, nested)];
}

/** The last commit that changed anything under a path (docker-library's dirCommit), nested image directories left out. */
export function gitLastCommitArgv(root: string, path: string, nested: string[] = []): string[] {
  return ['git', '-C', root, 'log', '-1', '--format=%H', ...pathspec(path, nested)];
}

export function libraryEntries(plan: Plan, commitOf: (dir: string) => string, directoryOf: (dir: string) => string): LibraryEntry[] {
  const problems = unlistable(plan);
  for (const p of new Set(plan.variants.flatMap((v) => v.arches.map((a) => plan.spec.architectures[a]!)))) {
    if (!bashbrewArch(p)) problems.push(`platform ${p} has no official-images architecture name (known: ${Object.keys(BASHBREW).join(', ')})`);
  }
  if (problems.length) throw new WorkError(`the official-images library format cannot describe ${problems.length === 1 ? 'this image' : 'these images'}`, problems.map((p) => `  ${p}`).join('\n'));
  return libraryOrder(plan).map((v) => ({
    tags: v.tags,
    sharedTags: v.sharedTags,
    architectures: v.arches.map((a) => bashbrewArch(plan.spec.architectures[a]!)!),
    gitCommit: commitOf(v.dir),
    directory: directoryOf(v.dir),
    ...(v.dockerfile !== 'Dockerfile' ? { file: v.dockerfile } : {}),
  }));
}

export function libraryFile(header: { maintainers: string[]; gitRepo: string; builder?: string; source?: string }, entries: LibraryEntry[]): string {
  const lines: string[] = [];
  if (header.source) lines.push(`# this file is generated by \`manager export library\` from ${header.source}`, '');
  // Continuation lines start with whitespace; aligning them under the first value is the convention.
  const indent = ' '.repeat('Maintainers: '.length);
  lines.push(`Maintainers: ${header.maintainers.join(`,\n${indent}`)}`);
  lines.push(`GitRepo: ${header.gitRepo}`);
  if (header.builder) lines.push(`Builder: ${header.builder}`);
  for (const e of entries) {
    lines.push('', `Tags: ${e.tags.join(', ')}`);
    if (e.sharedTags.length) lines.push(`SharedTags: ${e.sharedTags.join(', ')}`);
    lines.push(`Architectures: ${e.architectures.join(', ')}`, `GitCommit: ${e.gitCommit}`, `Directory: ${e.directory}`);
    if (e.file) lines.push(`File: ${e.file}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A library file read back: the header fields and one map per paragraph (for comparing files). */
export function parseLibraryFile(text: string): { header: Record<string, string>; entries: Record<string, string>[] } {
  const paragraphs = text.replace(/^#.*\n/gm, '').trim().split(/\n\s*\n/);
  const fields = (p: string) => {
    const out: Record<string, string> = {};
    let last = '';
    for (const line of p.split('\n')) {
      if (/^\s/.test(line) && last) out[last] += ` ${line.trim()}`;
      else {
        const m = /^([A-Za-z]+):\s*(.*)$/.exec(line);
        if (m) out[(last = m[1]!)] = m[2]!;
      }
    }
    return out;
  };
  const [head, ...rest] = paragraphs.map(fields);
  return { header: head ?? {}, entries: rest };
}
