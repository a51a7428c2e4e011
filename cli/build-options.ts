// What the engine commands (build, test, bake) share: option parsers, the cache flags, and what
// the spec's repository says for the OCI labels.
import { dirname } from 'node:path';
import { Option } from 'commander';
import { UsageError } from '../core/base/errors.ts';
import { browsableUrl, epochToIso, type VcsInfo } from '../core/buildx/oci-labels.ts';
import type { CacheSpec } from '../core/load/spec.ts';
import type { ExecuteOptions } from '../tasks/execute.ts';
import { run } from '../tasks/runner.ts';
import { ciDescribes, gitRoot, specCommit, type Loaded } from './workspace.ts';

/**
 * What the repository holding the manifest says for the OCI labels (revision, source, commit
 * time): asked here, at the edge, of that repository and not of the current directory's;
 * core/buildx/oci-labels.ts decides the labels.
 */
export async function specVcs(manifest: string): Promise<VcsInfo> {
  const env = process.env;
  const repo = gitRoot(dirname(manifest));
  const revision = specCommit(manifest, env);
  const ci = ciDescribes(manifest, env) && env['GITHUB_SERVER_URL'] && env['GITHUB_REPOSITORY'] ? `${env['GITHUB_SERVER_URL']}/${env['GITHUB_REPOSITORY']}` : undefined;
  const source = ci ?? (repo ? browsableUrl((await gitOut(repo, ['remote', 'get-url', 'origin'])) ?? '') : undefined);
  const created = epochToIso(env['SOURCE_DATE_EPOCH']) ?? (revision && repo ? epochToIso(await gitOut(repo, ['show', '-s', '--format=%ct', revision])) : undefined);
  return { revision, source, created };
}

async function gitOut(root: string, args: string[]): Promise<string | undefined> {
  const r = await run(['git', '-C', root, ...args]);
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`expected a positive integer, got "${v}"`);
  return n;
}

export function multiPlatformOption(): Option {
  return new Option('--multi-platform <mode>', 'one build per platform merged by a manifest (split), one build for all platforms (single), or what the builder can do (auto; default: spec build.multi_platform)').choices(['auto', 'single', 'split']);
}

export function withCache(l: Loaded, type: CacheSpec['type']): Loaded {
  const spec = { ...l.plan.spec, build: { ...l.plan.spec.build, cache: { type } } };
  return { ...l, plan: { ...l.plan, spec } };
}

/** GitHub's cache service is there when its runtime token and URL are (exposed to run steps by the workflow). */
export function ghaAvailable(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env['ACTIONS_RUNTIME_TOKEN'] && (env['ACTIONS_CACHE_URL'] || env['ACTIONS_RESULTS_URL']));
}

/** `--cache-from`, `--cache-to`, `--pull`, `--no-cache` as the run and bake take them. */
export function cacheOptions(o: Record<string, unknown>): Pick<ExecuteOptions, 'cacheOverride' | 'pull' | 'noCache'> {
  const from = (o['cacheFrom'] as string[] | undefined) ?? [];
  const to = (o['cacheTo'] as string[] | undefined) ?? [];
  return {
    ...(from.length || to.length ? { cacheOverride: { from, to } } : {}),
    ...(o['pull'] ? { pull: true } : {}),
    // commander's --no-cache sets cache: false.
    ...(o['cache'] === false ? { noCache: true } : {}),
  };
}
