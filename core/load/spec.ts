// The normalized spec: every default filled in, list forms turned into maps, axis values and
// architecture sets resolved per distro × release. Everything downstream reads only this.
import type { LockFile } from './lock-file.ts';
import type { Locations } from './source.ts';

export type Vars = Record<string, unknown>;

export interface AxisValue {
  vars: Vars;
  /** Architectures the value exists on, with per-arch vars; undefined = every architecture. */
  architectures?: Record<string, Vars>;
}

/**
 * One dimension of the matrix (Python, a CUDA version, a database major, a flavor). The
 * top-level `python:` list is shorthand for the axis `python` with build arg PYTHON_VERSION,
 * id `py`, on every release.
 */
export interface Axis {
  name: string;
  description?: string;
  default: string;
  /** Values in the order written: what `values` maps cannot keep for numeric-looking keys. */
  order: string[];
  values: Record<string, AxisValue>;
  /** Build arg that carries the value into the Dockerfile, if any. */
  arg?: string;
  /** Prefix of the value in image keys and task ids: `py` gives `…/py3.10`. */
  id: string;
  /** Expanded on every release (the python shorthand); other axes on the releases that name them. */
  everywhere: boolean;
  /**
   * `per-value`: templates see the value and its data, and each value has its own generated
   * directory; `shared`: one Dockerfile serves every value, which arrives as the build arg.
   */
  /** `per-file`: like per-value, but each value's Dockerfile sits in the shared directory as `Dockerfile-<value>` (the default's is `Dockerfile`), BentoML's `Dockerfile-conda`. */
  render: 'shared' | 'per-value' | 'per-file';
}

/** Data for some values of some axes, written under a distro or a distro release: axis → value → vars. */
export type AxisVars = Record<string, Record<string, Vars>>;

/** Data for some values of some axes per architecture, written under a distro or a distro release: axis → value → arch → vars. */
export type AxisArchVars = Record<string, Record<string, Record<string, Vars>>>;

/** One `exclude:` rule: key (`distro`, `release`, `arch` or an axis) → the values it matches. */
export interface ExcludeRule {
  /** Its place in `exclude`, for messages. */
  index: number;
  match: Record<string, string[]>;
}

export interface TagTemplate {
  template: string;
  when?: Record<string, string[]>;
  /** Carried by several images together (disjoint platforms), published as one index. */
  shared?: boolean;
}

/** A build arg that follows a git ref; locked to a commit by `manager lock`. */
export interface GitRef {
  url: string;
  ref: string;
}

export interface ImageTest {
  name: string;
  run: string | string[];
  expect: { exitCode: number; output?: string };
  timeout?: number;
  /** `image`: the command is given to the image's own entrypoint instead of replacing it. */
  entrypoint?: 'image';
}

export interface FileTemplate {
  /** Relative to the image's directory, or to `directory` when set; may hold subdirectories. */
  path: string;
  /** Exactly one of template (rendered) and source (copied byte for byte). */
  template?: string;
  source?: string;
  /** Permission bits; absent means 0644. */
  mode?: number;
  /** A pattern like the layout's `directory`, naming a directory that holds the image's. */
  directory?: string;
}

export interface Release {
  name: string;
  description?: string;
  parent?: string;
  /** The release's part of its images' directories, `{release.path}`: the name, or a relative path such as `runtime/cudnn`. */
  path: string;
  dockerfile: string;
  files: FileTemplate[];
  tags: TagTemplate[];
  /** Axes this release expands over: every-release axes, then ancestors', then its own. */
  axes: string[];
  /** Values as written; a floating arg holds its ref here and its repository in gitArgs. */
  buildArgs: Record<string, string>;
  gitArgs: Record<string, GitRef>;
  tests: ImageTest[];
  vars: Vars;
  timeout?: number;
  /** Build secrets its Dockerfile mounts (`RUN --mount=type=secret,id=…`); only their ids are hashed. */
  secrets: BuildSecret[];
  /** SSH agent sockets or keys its Dockerfile mounts (`RUN --mount=type=ssh`); only their ids are hashed. */
  ssh: SshMount[];
  /** Entitlements its build needs (`RUN --network=host`, `--security=insecure`); refused unless the run allows them. */
  entitlements: Entitlement[];
}

/** A build secret: from an environment variable (`env`) or a file (`src`), never a value in the spec. */
export interface BuildSecret {
  id: string;
  env?: string;
  src?: string;
}

/** An SSH mount: the agent (`default`) or named keys or sockets. */
export interface SshMount {
  id: string;
  paths: string[];
}

export const ENTITLEMENTS = ['network.host', 'security.insecure'] as const;
export type Entitlement = (typeof ENTITLEMENTS)[number];

export interface DistroRelease {
  architectures: string[];
  files: FileTemplate[];
  buildArgs: Record<string, string>;
  gitArgs: Record<string, GitRef>;
  vars: Vars;
  /** Every axis of the release → the values built here (restrictions and the parent's applied). */
  axes: Record<string, string[]>;
  /** Per-value data written here, over the distro's and the axis's own. */
  axisVars: AxisVars;
  /** Per-value, per-architecture data written here, over the distro's and the axis value's own. */
  axisArchVars: AxisArchVars;
}

export interface Distro {
  name: string;
  description?: string;
  alias: string;
  family: string;
  packageManager: string;
  image: string;
  templates: string;
  /** The data template (in `templates`), whose JSON output templates see as `it.computed`. */
  data?: string;
  architectures: string[];
  /** Every axis → the values this distro builds (its own restriction applied). */
  axes: Record<string, string[]>;
  /** Per-value data written on the distro, over the axis's own. */
  axisVars: AxisVars;
  /** Per-value, per-architecture data written on the distro, over the axis value's own. */
  axisArchVars: AxisArchVars;
  /** Supported releases, in release topological order. */
  releases: Record<string, DistroRelease>;
  buildArgs: Record<string, string>;
  gitArgs: Record<string, GitRef>;
  vars: Vars;
}

export type RegistryKind = 'dockerhub' | 'quay' | 'harbor' | 'ghcr' | 'gcr' | 'ecr' | 'generic';

export interface Registry {
  name: string;
  kind: RegistryKind;
  host: string;
  namespace: string;
  repository: string;
  /** Where images wait before their manifest publishes them: host/namespace/repository. */
  staging: string;
  credentials: { usernameEnv?: string; passwordEnv?: string; tokenEnv?: string };
  readme: boolean;
  region?: string;
  api?: string;
}

export interface CacheSpec {
  type: 'registry' | 'gha' | 'local';
  ref?: string;
  scope?: string;
  dir?: string;
  mode?: 'min' | 'max';
}

export interface BuildSettings {
  /** Unset: chosen from the builder when the first build runs (core/buildx/workers.ts). */
  maxWorkers?: number;
  timeout: number;
  parentArg: string;
  cache?: CacheSpec;
  attest?: { provenance?: 'min' | 'max' | false; sbom?: boolean };
  multiPlatform: 'auto' | 'single' | 'split';
  /** CI runner label per platform; platforms without one run under QEMU on `defaultRunner`. */
  runners: Record<string, string>;
  defaultRunner: string;
}

export interface Spec {
  package: string;
  description?: string;
  /** Lines atop every generated Dockerfile, and the shared ENV block templates place. */
  dockerfile?: { header: string[]; env: Record<string, string> };
  /** `{sha}` / `{date}` of this run, when the caller found them. */
  run?: { sha?: string; date: string };
  /** Spec `labels:` over the OCI defaults (core/buildx/oci-labels.ts). */
  labels?: Record<string, string>;
  version?: string;
  templatesDir: string;
  architectures: Record<string, string>;
  /** Every axis, every-release ones (python) first, then in spec order. */
  axes: Record<string, Axis>;
  releases: Record<string, Release>;
  /** Release names, parents before children. */
  releaseOrder: string[];
  distros: Record<string, Distro>;
  /** Combinations not planned (`exclude:`); absent when the spec has none. */
  exclude?: ExcludeRule[];
  registries: Record<string, Registry>;
  /** Registries this package publishes to, in spec order. */
  publish: string[];
  /** Template of each generated directory (`{python}/{distro}`); undefined: `{distro}/{release}` and per-value axes. */
  directory?: string;
  /**
   * `output:`: the package's generated directory (relative to the generated root, `{package}`
   * expanded, `.` the root itself) and whether README.md and versions are written there;
   * absent: `{package}`, both written.
   */
  output?: { directory: string; readme: boolean; versions: boolean };
  /** The official-images library file's header, for `export library`. */
  library?: { maintainers: string[]; gitRepo: string; builder?: string };
  build: BuildSettings;
  vars: Vars;
  /** The lock file beside the manifest, when there is one. */
  lock?: LockFile;
  /** Where it came from: the files, every path's position, and the merged document as validated (for `--print`). */
  source: { manifest: string; files: string[]; locations: Locations; merged: Record<string, unknown> };
}

export const DEFAULT_HOSTS: Record<RegistryKind, string | undefined> = {
  dockerhub: 'docker.io',
  quay: 'quay.io',
  ghcr: 'ghcr.io',
  gcr: 'gcr.io',
  harbor: undefined,
  ecr: undefined,
  generic: undefined,
};
