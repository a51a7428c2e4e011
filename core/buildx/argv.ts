// docker buildx, as data: every invocation is an argv array built by a pure function, and
// every answer is parsed by a pure function. Nothing here runs a program.
import type { BuilderCapabilities } from '../plan/multi-platform.ts';

export const HASH_LABEL = 'org.image-matrix.hash';
export const TASK_LABEL = 'org.image-matrix.task';

export interface CacheOptions {
  type: 'registry' | 'gha' | 'local';
  /** registry: image reference; gha: scope; local: directory. */
  location: string;
  mode?: 'min' | 'max';
  /** Whether the builder can export cache (the docker driver cannot). */
  export: boolean;
}

/** `--cache-from` / `--cache-to` given on the command line: buildx's own syntax, placeholders filled per build. */
export interface CacheOverride {
  from: string[];
  to: string[];
}

export interface BuildInvocation {
  contextDir: string;
  dockerfile?: string;
  platforms: string[];
  buildArgs: Record<string, string>;
  tags: string[];
  labels: Record<string, string>;
  output: 'push' | 'load';
  builder?: string;
  cache?: CacheOptions;
  /** Replaces `cache` where given (each list on its own). */
  cacheOverride?: CacheOverride;
  /** `--pull`: always fetch the base image; `--no-cache`: build every step again. */
  pull?: boolean;
  noCache?: boolean;
  provenance?: string;
  sbom?: string;
  metadataFile?: string;
  /** buildx `--secret` values (`id=ID,env=VAR` or `id=ID,src=FILE`): names of where secrets are, never the secrets. */
  secrets?: string[];
  /** buildx `--ssh` values (`default`, `ID=PATH,…`). */
  ssh?: string[];
  /** buildx `--allow` entitlements. */
  allow?: string[];
}

const sortedEntries = (o: Record<string, string>) => Object.entries(o).sort(([a], [b]) => a.localeCompare(b));

export function buildArgv(b: BuildInvocation): string[] {
  const argv = ['docker', 'buildx', 'build', '--progress', 'plain'];
  if (b.builder) argv.push('--builder', b.builder);
  argv.push('--platform', b.platforms.join(','));
  if (b.dockerfile) argv.push('--file', b.dockerfile);
  for (const [k, v] of sortedEntries(b.buildArgs)) argv.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of sortedEntries(b.labels)) argv.push('--label', `${k}=${v}`);
  for (const t of b.tags) argv.push('--tag', t);
  for (const c of cacheFromList(b)) argv.push('--cache-from', c);
  for (const c of cacheToList(b)) argv.push('--cache-to', c);
  if (b.pull) argv.push('--pull');
  if (b.noCache) argv.push('--no-cache');
  if (b.provenance !== undefined) argv.push(`--provenance=${b.provenance}`);
  if (b.sbom !== undefined) argv.push(`--sbom=${b.sbom}`);
  for (const s of b.secrets ?? []) argv.push('--secret', s);
  for (const s of b.ssh ?? []) argv.push('--ssh', s);
  for (const a of b.allow ?? []) argv.push('--allow', a);
  if (b.metadataFile) argv.push('--metadata-file', b.metadataFile);
  argv.push(b.output === 'push' ? '--push' : '--load');
  argv.push(b.contextDir);
  return argv;
}

/** `--cache-from` / bake `cache-from` entry. */
export function cacheFrom(c: CacheOptions): string {
  if (c.type === 'registry') return `type=registry,ref=${c.location}`;
  if (c.type === 'gha') return `type=gha,scope=${c.location}`;
  return `type=local,src=${c.location}`;
}

/** `--cache-to` / bake `cache-to` entry. */
export function cacheTo(c: CacheOptions): string {
  const mode = `,mode=${c.mode ?? 'max'}`;
  if (c.type === 'registry') return `type=registry,ref=${c.location}${mode}`;
  if (c.type === 'gha') return `type=gha,scope=${c.location}${mode}`;
  return `type=local,dest=${c.location}${mode}`;
}

/** Where a build reads cache from: the overrides when given, else the spec's (or default) location. */
export function cacheFromList(b: Pick<BuildInvocation, 'cache' | 'cacheOverride'>): string[] {
  if (b.cacheOverride?.from.length) return b.cacheOverride.from;
  return b.cache ? [cacheFrom(b.cache)] : [];
}

/** Where a build writes cache to; nothing when the builder cannot export (the docker driver). */
export function cacheToList(b: Pick<BuildInvocation, 'cache' | 'cacheOverride'>): string[] {
  if (b.cacheOverride?.to.length) return b.cacheOverride.to;
  return b.cache?.export ? [cacheTo(b.cache)] : [];
}

export function imagetoolsCreateArgv(tags: string[], sources: string[], builder?: string, annotations: string[] = []): string[] {
  const argv = ['docker', 'buildx', 'imagetools', 'create'];
  if (builder) argv.push('--builder', builder);
  for (const a of annotations) argv.push('--annotation', a);
  for (const t of tags) argv.push('--tag', t);
  return [...argv, ...sources];
}

export function inspectBuilderArgv(builder?: string): string[] {
  return builder ? ['docker', 'buildx', 'inspect', builder] : ['docker', 'buildx', 'inspect'];
}

export interface BuilderNode {
  platform?: string;
  endpoint: string;
}

export function builderCreateArgv(name: string, driver: string, node: BuilderNode | undefined, append: boolean, driverOpts: string[] = []): string[] {
  const argv = ['docker', 'buildx', 'create', '--name', name, '--driver', driver];
  if (append) argv.push('--append');
  for (const o of driverOpts) argv.push('--driver-opt', o);
  if (node?.platform) argv.push('--platform', node.platform);
  if (node?.endpoint) argv.push(node.endpoint);
  return argv;
}

/**
 * One image test. By default the command replaces the image's entrypoint, so it runs as
 * written; with `entrypoint: image` it is handed to the entrypoint (a test of tini as PID 1).
 */
export function runTestArgv(ref: string, platform: string, run: string | string[], entrypoint?: 'image'): string[] {
  const argv = ['docker', 'run', '--rm', '--pull', 'missing', '--platform', platform];
  const command = typeof run === 'string' ? ['/bin/sh', '-c', run] : run;
  if (entrypoint === 'image') return [...argv, ref, ...command];
  return [...argv, '--entrypoint', command[0]!, ref, ...command.slice(1)];
}

export interface BuilderInfo {
  name: string;
  driver: string;
  platforms: string[];
  buildkit?: string;
  nodes: number;
  /** The docker driver's engine stores images in containerd (multi-platform) or not. */
  imageStore?: 'containerd' | 'classic';
  /** The docker driver's engine version: its BuildKit is built in, and distribution builds report it as v0.0.0. */
  engine?: string;
  /** The docker driver's engine CPUs (`docker info` NCPU): its builds share them (core/buildx/workers.ts). */
  cpus?: number;
}

/**
 * The engine's version, its storage driver status, which names the containerd snapshotter when
 * it is in use, and its CPUs, which the default worker count is chosen from.
 */
export function dockerInfoArgv(context?: string): string[] {
  const argv = ['docker'];
  if (context && context !== 'default') argv.push('--context', context);
  return [...argv, 'info', '--format', '{{json .ServerVersion}} {{json .DriverStatus}} {{json .NCPU}}'];
}

export function parseDockerInfo(text: string): { engine?: string; imageStore?: 'containerd' | 'classic'; cpus?: number } {
  const m = /^("[^"]*")\s+(.*?)(?:\s+(\d+))?$/s.exec(text.trim());
  if (!m) return {};
  try {
    const engine = JSON.parse(m[1]!) as string;
    const status = JSON.parse(m[2]!) as [string, string][] | null;
    const imageStore = !Array.isArray(status) ? undefined : status.some(([k, v]) => k === 'driver-type' && /containerd\.snapshotter/.test(v)) ? 'containerd' : 'classic';
    const cpus = m[3] !== undefined && Number(m[3]) > 0 ? Number(m[3]) : undefined;
    return { engine: engine || undefined, imageStore, ...(cpus ? { cpus } : {}) };
  } catch {
    return {};
  }
}

/** Parses `docker buildx inspect` text output. */
export function parseBuilderInspect(text: string): BuilderInfo {
  const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  const platforms = [...text.matchAll(/^Platforms:\s*(.*)$/gm)].flatMap((m) => m[1]!.split(',').map((p) => p.trim().replace(/\*$/, '')).filter(Boolean));
  return {
    name: field('Name') ?? 'default',
    driver: field('Driver') ?? 'unknown',
    platforms: [...new Set(platforms)],
    buildkit: field('BuildKit version') ?? field('Buildkit'),
    nodes: [...text.matchAll(/^Endpoint:/gm)].length || 1,
  };
}

/**
 * Several platforms in one build, and cache export, need a driver other than `docker`, or a
 * docker driver whose engine uses the containerd image store.
 */
export function supportsMultiPlatform(b: BuilderInfo): boolean {
  return b.driver !== 'docker' || b.imageStore === 'containerd';
}

export function supportsCacheExport(b: BuilderInfo): boolean {
  return supportsMultiPlatform(b);
}

/**
 * Loading several platforms of one image needs the containerd image store; for drivers other
 * than docker the store of the engine it loads into is not known, so it is not assumed.
 */
export function builderCapabilities(b: BuilderInfo): BuilderCapabilities {
  return { name: b.name, driver: b.driver, multiPlatform: supportsMultiPlatform(b), multiPlatformLoad: b.imageStore === 'containerd' };
}

/**
 * Named build contexts (`--build-context`, bake `target:`) need BuildKit ≥ 0.10 (Dockerfile
 * 1.4). A docker-driver engine whose BuildKit reports no version (distribution builds say
 * v0.0.0) is judged by its own version: Docker Engine 23.0 came with BuildKit 0.10.
 */
export function supportsNamedContexts(b: BuilderInfo): boolean {
  const version = (text: string | undefined) => {
    const m = /v?(\d+)\.(\d+)/.exec(text ?? '');
    return m ? [Number(m[1]), Number(m[2])] as const : undefined;
  };
  const bk = version(b.buildkit);
  if (bk && (bk[0] > 0 || bk[1] > 0)) return bk[0] > 0 || bk[1] >= 10;
  const engine = b.driver === 'docker' ? version(b.engine) : undefined;
  return !!engine && engine[0] >= 23;
}

/**
 * Attestations (provenance, SBOM) need BuildKit ≥ 0.11 and a store that keeps an index per
 * image: not the classic docker driver. Distribution engines report BuildKit v0.0.0: then the
 * engine's version decides (Docker 24 ships BuildKit 0.11).
 */
export function supportsAttestations(b: BuilderInfo): boolean {
  if (!supportsMultiPlatform(b)) return false;
  const m = /v?(\d+)\.(\d+)/.exec(b.buildkit ?? '');
  if (m && (m[1] !== '0' || m[2] !== '0')) return Number(m[1]) > 0 || Number(m[2]) >= 11;
  const e = b.driver === 'docker' ? /v?(\d+)\./.exec(b.engine ?? '') : null;
  return e ? Number(e[1]) >= 24 : true;
}

/** The attestations a run asks for: the command line's, else the spec's `build.attest`. */
export function attestations(spec: { provenance?: 'min' | 'max' | false; sbom?: boolean } | undefined, cli: { provenance?: string; sbom?: string }): { provenance?: string; sbom?: string } {
  const provenance = cli.provenance ?? (spec?.provenance === undefined ? undefined : spec.provenance === false ? 'false' : `mode=${spec.provenance}`);
  const sbom = cli.sbom ?? (spec?.sbom === undefined ? undefined : String(spec.sbom));
  return { ...(provenance !== undefined ? { provenance } : {}), ...(sbom !== undefined ? { sbom } : {}) };
}

/** Whether these ask the builder to attach anything (`false` everywhere asks for nothing). */
export function wantsAttestations(a: { provenance?: string; sbom?: string }): boolean {
  return [a.provenance, a.sbom].some((v) => v !== undefined && v !== 'false' && v !== 'mode=false');
}

export function parseMetadataFile(json: string): { digest?: string; configDigest?: string } {
  try {
    const m = JSON.parse(json) as Record<string, unknown>;
    return {
      digest: typeof m['containerimage.digest'] === 'string' ? m['containerimage.digest'] : undefined,
      configDigest: typeof m['containerimage.config.digest'] === 'string' ? m['containerimage.config.digest'] : undefined,
    };
  } catch {
    return {};
  }
}

/** The engine cannot be reached at all: worth one clear message instead of N build failures. */
export function isEngineDown(stderr: string): boolean {
  return /Cannot connect to the Docker daemon|error during connect|connect: no such file or directory|dial unix .*docker\.sock/i.test(stderr);
}
