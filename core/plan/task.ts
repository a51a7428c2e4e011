// The typed tasks of a plan. Each has a stable id, its dependencies and a content hash.
import type { Hash } from '../base/hash.ts';
import type { BuildSecret, Entitlement, SshMount } from '../load/spec.ts';

export interface RenderedFile {
  /** Path relative to the package's generated directory, e.g. `ubi8/cudnn/Dockerfile`. */
  path: string;
  /** The text; of a file copied as it is (`source:`), its bytes read as UTF-8, for display. */
  content: string;
  /** A file copied as it is: its bytes, never decoded, which are what is written and hashed. */
  bytes?: Buffer;
  sha256: string;
  /** Permission bits; absent means 0644. Reaches the disk, the build context and the build's hash. */
  mode?: number;
}

interface TaskBase {
  id: string;
  deps: string[];
  hash: Hash;
}

export interface RenderTask extends TaskBase {
  kind: 'render';
  /** `debian11/cudnn`, or '' for the package-level docs (README.md, versions). */
  dir: string;
  /** The Dockerfile's name in dir (`Dockerfile`, or `Dockerfile-conda` for a per-file axis value); absent for the docs. */
  dockerfile?: string;
  distro?: string;
  release?: string;
  files: RenderedFile[];
  /** The data the templates saw (written to dockerfiles.json). */
  data: object;
}

export interface BuildTask extends TaskBase {
  kind: 'build';
  variant: string;
  distro: string;
  release: string;
  /** Axis values of the image (python among them, when the spec has it). */
  axes: Record<string, string>;
  /** One architecture per build (split), or all of the image's in one build (single). */
  arches: string[];
  platforms: string[];
  /** Generated directory used as build context, relative to the package's generated dir. */
  context: string;
  /** The Dockerfile in it: `Dockerfile`, or a per-file axis value's (`Dockerfile-conda`). */
  dockerfile: string;
  buildArgs: Record<string, string>;
  /** Floating (git) build args → the commit the lock pins them to; overrides buildArgs when set. */
  floatingArgs: Record<string, string>;
  /** The parent release's build of the same platforms, if any. */
  parentBuild?: string;
  /** Root releases build FROM this image: the distro image, variables expanded, pinned by digest when locked. */
  baseImage?: string;
  timeout: number;
  /** What the build mounts and may do beyond a plain build (absent when none): ids hashed, values never. */
  secrets?: BuildSecret[];
  ssh?: SshMount[];
  entitlements?: Entitlement[];
}

export interface TestTask extends TaskBase {
  kind: 'test';
  build: string;
  variant: string;
  platform: string;
  tests: { name: string; run: string | string[]; exitCode: number; output?: string; timeout: number; entrypoint?: 'image' }[];
}

export interface ManifestTask extends TaskBase {
  kind: 'manifest';
  /** The image's key; `@shared/<tag>` for the index of a tag several images share. */
  variant: string;
  /** For a shared tag's index: the images it merges (their distro, release and axes are the first's). */
  variants?: string[];
  distro: string;
  release: string;
  axes: Record<string, string>;
  builds: string[];
  platforms: string[];
  tags: string[];
  /** Every public reference: registry host/namespace/repository:tag. */
  refs: string[];
}

export interface ReadmeTask extends TaskBase {
  kind: 'readme';
  registry: string;
  /** host/namespace/repository */
  repository: string;
  /** The docs render task providing README.md. */
  docs: string;
}

export type Task = RenderTask | BuildTask | TestTask | ManifestTask | ReadmeTask;
export type TaskKind = Task['kind'];
