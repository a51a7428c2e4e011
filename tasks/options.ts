// A run's settings, grouped by what they are for. execute() takes them as one bag (the CLI's
// flags arrive flat), and each part of the run is typed on the groups it reads; the defaults
// every caller shares are filled in one place.
import { join } from 'node:path';
import type { BuilderInfo, CacheOverride } from '../core/buildx/argv.ts';
import type { Plan } from '../core/plan/plan.ts';
import type { ReadmeTask } from '../core/plan/task.ts';
import type { Renderer } from '../core/views/result.ts';
import type { RegistryClient } from '../registries/distribution.ts';

/** What to run. */
export interface Selection {
  selected: Set<string>;
  mode: 'push' | 'load';
  dryRun: boolean;
}

/** How the scheduler hands out workers. */
export interface Scheduling {
  /**
   * Builds and tests at once (--max-workers); unset, the spec's build.max_workers, else chosen
   * from the builder when the first build runs (core/buildx/workers.ts).
   */
  maxWorkers?: number;
  keepGoing: boolean;
  atomic: boolean;
}

/** How each task is decided, and which facts the decisions may ask for. */
export interface Deciding {
  force: boolean;
  /** Run image tests even when they passed on this image before (`manager test`). */
  retest?: boolean;
  /** With push: trust the registry's hash labels when the state file has no record. */
  registryCheck: boolean;
  /** Decide from the state file alone: no registry lookups (the dry run's and the run's). */
  offline?: boolean;
  /** A registry lookup that fails counts as "absent" (with a warning) instead of failing the task. */
  assumeMissing?: boolean;
}

/** Where the run writes. */
export interface Writing {
  packageDir: string;
  logDir: string;
  /** Render tasks may replace files the tool did not write (and own them from then on). */
  adopt?: boolean;
  /** `--metadata-file`: where the CLI writes Summary.metadata after a real run. */
  metadataFile?: string;
}

/** The engine, and what a build's invocation depends on besides the plan. */
export interface Engine {
  builder?: string;
  /** The builder as already inspected (to choose the multi-platform strategy): not asked again. */
  builderInfo?: BuilderInfo;
  stagingRepository?: string;
  provenance?: string;
  sbom?: string;
  cacheOverride?: CacheOverride;
  /** Whether GitHub's cache service is reachable (core/buildx/invocation.ts cacheFor). */
  ghaAvailable?: boolean;
  pull?: boolean;
  noCache?: boolean;
  /** Overrides every task's timeout (seconds). */
  timeoutSec?: number;
  /** VCS revision of the spec, for the org.opencontainers.image.revision label (not hashed). */
  revision?: string;
  /** source/url and created labels (core/buildx/oci-labels.ts; not hashed). */
  source?: string;
  created?: string;
  /** `build --secret` / `--ssh`: for every build that runs, beside the spec's; not inputs, so not hashed. */
  secrets?: string[];
  ssh?: string[];
  /** `build --merge`: manifest tasks publish through the registry API (default) or `imagetools create`. */
  merge?: 'api' | 'imagetools';
}

/** What the run says as it goes. */
export interface Showing {
  renderer: Renderer;
  /** `--progress json`: each task's start and result, one JSON line each, on stderr. */
  events?: (line: string) => void;
  /** Progress lines for the non-listr parts (preflight, dry run). */
  log: (line: string) => void;
}

/** What the caller provides for the run to talk to registries. */
export interface Services {
  /** Pushes one README; provided by the registries layer. */
  pushReadme?: (task: ReadmeTask, readme: string, log: (line: string) => void, signal?: AbortSignal) => Promise<void>;
  /** The registry client (push mode); made by the caller so tests and benchmarks can count requests. */
  client?: RegistryClient;
}

export type ExecuteOptions = Selection & Scheduling & Deciding & Writing & Engine & Showing & Services;

/** What a caller must say; everything else has a default. */
export type GivenOptions = Partial<ExecuteOptions> & Pick<ExecuteOptions, 'packageDir' | 'selected' | 'renderer' | 'log'>;

/** A real run of everything given, pushed, its logs beside the tree; the workers are execute()'s to choose. */
export function executeDefaults(plan: Plan, given: GivenOptions): ExecuteOptions {
  return {
    logDir: join(given.packageDir, '.logs'),
    mode: 'push',
    dryRun: false,
    force: false,
    keepGoing: false,
    atomic: false,
    registryCheck: true,
    ...given,
  };
}
