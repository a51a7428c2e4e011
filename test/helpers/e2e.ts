// The end-to-end environment: provisioned by scripts/provision-test-env.sh. A missing engine
// or registry fails the e2e tier, in CI and everywhere else: `npm test` never reports green for
// tests that did not run. Without Docker, run `npm run test:unit`.
import { outputDoc } from './output-schema.ts';
import { cpSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO, tempDir } from './spec.ts';

export interface E2EEnv {
  registry: string;
  user: string;
  password: string;
  baseImage: string;
  /**
   * DOCKER_HOST of the private engine (scripts/private-engine.sh): containerd image store, in
   * a network namespace that reaches only the test registry, and free to be stopped by a test.
   */
  privateEngine: string;
  /** A headless browser (Debian's chromium) for the report's test. */
  chromium: string;
}

export function e2eEnv(): E2EEnv {
  const file = join(process.env['MANAGER_TEST_CACHE'] ?? join(REPO, '.cache', 'e2e'), 'env');
  const problems: string[] = [];
  let env: E2EEnv | undefined;
  if (!existsSync(file)) problems.push(`${file} is missing: run scripts/provision-test-env.sh`);
  else {
    const kv = Object.fromEntries(readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
    env = { registry: kv['E2E_REGISTRY']!, user: kv['E2E_REGISTRY_USER']!, password: readFileSync(kv['E2E_REGISTRY_PASSWORD_FILE']!, 'utf8').trim(), baseImage: kv['E2E_BASE_IMAGE']!, privateEngine: kv['E2E_PRIVATE_ENGINE'] ?? '', chromium: kv['E2E_CHROMIUM'] ?? '' };
    if (!env.privateEngine) problems.push(`${file} names no private engine: run scripts/provision-test-env.sh`);
    if (!env.chromium || !existsSync(env.chromium)) problems.push(`${file} names no chromium: run scripts/provision-test-env.sh`);
    const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' });
    if (info.status !== 0) problems.push(`the Docker engine is not reachable: ${info.stderr.trim()}`);
  }
  if (problems.length || !env) {
    throw new Error(`THE END-TO-END TESTS DID NOT RUN: their environment is missing.\n${problems.join('\n')}\nProvision it (as root: bash scripts/provision-test-env.sh), or run only the unit tier: npm run test:unit`);
  }
  return env;
}

/**
 * The spec lines of the test registry as registry `local` (under a `registries:` key the caller
 * writes), pushing into `namespace`, with the credentials read from the environment as users
 * configure them (E2E_REGISTRY_USER / E2E_REGISTRY_PASSWORD, which e2e runs pass).
 */
export function localRegistryLines(env: E2EEnv, namespace: string): string[] {
  return [
    '  local:',
    '    kind: generic',
    `    host: "${env.registry}"`,
    `    namespace: "${namespace}"`,
    '    credentials: { username_env: E2E_REGISTRY_USER, password_env: E2E_REGISTRY_PASSWORD }',
  ];
}

/**
 * Copies an e2e fixture into a temp dir with this run's registry, namespace and base image:
 * `fixture` (installs Python from Debian's archive) or `offline` (needs no network).
 */
export function e2eSpec(env: E2EEnv, namespace: string, fixture: 'fixture' | 'offline' = 'fixture'): { dir: string; manifest: string; generated: string } {
  const dir = tempDir('manager-e2e-');
  cpSync(join(REPO, 'test', 'e2e', fixture), dir, { recursive: true });
  const manifest = join(dir, 'manifest.yaml');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replaceAll('@REGISTRY@', env.registry).replaceAll('@NAMESPACE@', namespace).replaceAll('@BASE_IMAGE@', env.baseImage));
  return { dir, manifest, generated: join(dir, 'generated') };
}

/** Every file under dir, with contents, for secret sweeps. */
export function allFiles(dir: string): { path: string; content: Buffer }[] {
  const out: { path: string; content: Buffer }[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push({ path: p, content: readFileSync(p) });
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** The docker CLI; `env` adds to the environment (DOCKER_HOST of the private engine, say). */
export function docker(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 300_000, cwd: opts.cwd, env: { ...process.env, ...opts.env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** One task of `manager build --json`'s summary. */
export interface TaskRow {
  id: string;
  kind: string;
  status: string;
  hash: string;
  reason?: string;
  changed?: string[];
  digest?: string;
  ref?: string;
  cause?: string;
  durationMs: number;
  attempts?: { durationMs: number; exitCode: number | null; cause?: string }[];
  log?: string;
}

/** The tasks of a `--json` summary; a run that printed none, or a document off the schema, fails with its stderr's tail. */
export function taskRows(stdout: string, stderr = ''): TaskRow[] {
  // Every summary a test reads is held to the --json contract.
  return outputDoc<{ tasks: TaskRow[] }>(stdout, 'build', stderr).tasks;
}

/** Ids of the tasks of one kind that ended with one status, sorted. */
export const idsOf = (rows: TaskRow[], kind: string, status: string) => rows.filter((x) => x.kind === kind && x.status === status).map((x) => x.id).sort();

/** Starts or stops the private engine; start waits until it answers. */
export function privateEngine(action: 'start' | 'stop'): void {
  const r = spawnSync('bash', [join(REPO, 'scripts', 'private-engine.sh'), action], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`private-engine.sh ${action} failed:\n${r.stderr}`);
}

/**
 * Deletes the publication records (`pub-…` tags) of a staging repository, and the package
 * summaries that gather them (`publications-…`, not counted), so a run must check the images
 * themselves, as it does for images published before records existed.
 */
export async function dropPublicationRecords(stagingRepo: string): Promise<number> {
  const { registryClient } = await import('../../tasks/registry.ts');
  const { parseImageRef } = await import('../../core/base/image-ref.ts');
  const c = registryClient();
  const r = parseImageRef(stagingRepo);
  let n = 0;
  try {
    for (const tag of await c.tags(r.host, r.repository)) {
      const summary = tag.startsWith('publications-');
      if (!tag.startsWith('pub-') && !summary) continue;
      const m = await c.head({ host: r.host, repository: r.repository, tag });
      if (m && (await c.deleteManifest(r.host, r.repository, m.digest)) === 'deleted' && !summary) n++;
    }
  } finally {
    await c.close();
  }
  return n;
}

/** Removes the local engine's images of one test namespace (what buildx's docker driver also stored while pushing). */
export function removeLocalImages(namespace: string, opts: { env?: Record<string, string> } = {}): void {
  const listed = docker(['images', '--format', '{{.Repository}}:{{.Tag}}'], opts).stdout.split('\n').filter((r) => r.includes(`/${namespace}/`));
  if (listed.length) docker(['rmi', '--force', ...listed], opts);
}
