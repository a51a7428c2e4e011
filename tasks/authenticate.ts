// Logging in and pushing READMEs: credentials come from the environment and a `.env` file
// (only the variables the registries declare), travel only on stdin, and are registered with
// the redactor on load.
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { UsageError, WorkError } from '../core/base/errors.ts';
import { redactor } from '../core/base/redact.ts';
import type { Registry, Spec } from '../core/load/spec.ts';
import { repositoryRef } from '../core/load/repositories.ts';
import type { ReadmeTask } from '../core/plan/task.ts';
import { credentialVariables, driverFor } from '../registries/index.ts';
import type { Env, LoginPlan } from '../registries/types.ts';
import { describeFailure, onPath, run } from './runner.ts';
import { retry, retryableDockerError } from '../core/base/retry.ts';

interface Printer {
  info(line: string): void;
  error(line: string): void;
}

const SECRET_NAME = /PASSWORD|PASS$|TOKEN|SECRET|JSON_KEY|API_KEY|APIKEY/i;
const MAX_ENV_FILE_BYTES = 64 * 1024;

export interface CredentialOptions {
  /** The spec root, whose `.env` is read when no file is named. */
  root: string;
  /** `--credentials-file`: this file instead (it must exist). */
  envFile?: string;
  /** The user's environment (values there win over the file's). */
  env?: NodeJS.ProcessEnv;
  warn: (line: string) => void;
}

/** Every credential variable the spec's registries may read. */
export function credentialNames(spec: Spec): Set<string> {
  return new Set(Object.values(spec.registries).flatMap(credentialVariables));
}

/**
 * The credentials of a spec's registries: from the environment, else from `.env` (the spec
 * root's, or `--env-file`). Only the variable names the registries declare are taken from
 * the file; anything else in it is ignored with a warning. Nothing is ever put into
 * process.env, so no child process sees a `.env` value (BASH_ENV, DOCKER_HOST, NODE_OPTIONS …
 * in a `.env` change nothing). Every secret is registered with the redactor.
 */
export function loadCredentials(spec: Spec, o: CredentialOptions): Env {
  const env = o.env ?? process.env;
  const names = credentialNames(spec);
  const file = o.envFile ?? join(o.root, '.env');
  let fromFile: Record<string, string> = {};
  if (o.envFile !== undefined || existsSync(file)) {
    let st;
    try {
      st = statSync(file);
    } catch {
      throw new UsageError(`env file ${file} does not exist`);
    }
    if (!st.isFile()) throw new UsageError(`env file ${file} is not a regular file`);
    if (st.size > MAX_ENV_FILE_BYTES) throw new UsageError(`env file ${file} is ${st.size} bytes; the limit is ${MAX_ENV_FILE_BYTES}`);
    if (st.mode & 0o077) o.warn(`warning: ${file} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 ${file}`);
    fromFile = parseDotenv(readFileSync(file));
    const ignored = Object.keys(fromFile).filter((k) => !names.has(k)).sort();
    if (ignored.length) {
      o.warn(`warning: ignoring ${ignored.join(', ')} from ${file}: only the credential variables of ${spec.package}'s registries are read from it (${[...names].sort().join(', ') || 'none'})`);
    }
  }
  const out: Env = {};
  for (const name of names) {
    const v = Object.hasOwn(env, name) && env[name] ? env[name] : Object.hasOwn(fromFile, name) ? fromFile[name] : undefined;
    if (!v) continue;
    if (/[\u0000-\u001f\u007f]/.test(v)) throw new UsageError(`${name} contains a control character (a newline?); credentials are single-line values`);
    out[name] = v;
    if (SECRET_NAME.test(name)) redactor.add(v);
  }
  return out;
}

export function loginArgv(host: string, username: string): string[] {
  return ['docker', 'login', host, '--username', username, '--password-stdin'];
}

function selectRegistries(spec: Spec, names?: string[]): Registry[] {
  const regs = spec.publish.map((n) => spec.registries[n]!);
  if (!names) return regs;
  return names.map((n) => {
    const r = regs.find((x) => x.name === n || x.host === n) ?? Object.values(spec.registries).find((x) => x.name === n || x.host === n);
    if (!r) throw new UsageError(`unknown registry "${n}" (registries: ${Object.keys(spec.registries).join(', ')})`);
    return r;
  });
}

export async function authenticate(spec: Spec, o: { root: string; envFile?: string; out: Printer; registries?: string[]; env?: NodeJS.ProcessEnv }): Promise<{ host: string; username: string }[]> {
  const env = loadCredentials(spec, { root: o.root, envFile: o.envFile, env: o.env, warn: (l) => o.out.error(l) });
  const regs = selectRegistries(spec, o.registries);
  // Every missing credential is reported before anything runs.
  const plans: { reg: Registry; plan: ReturnType<ReturnType<typeof driverFor>['login']> }[] = [];
  const problems: string[] = [];
  for (const reg of regs) {
    if (anonymous(reg)) {
      // A registry nothing says how to log in to (a local, anonymous one): nothing to do, said so.
      o.out.info(`registry ${reg.name} (${reg.host}): no credentials configured (credentials: in the spec); skipped, pushes go unauthenticated`);
      continue;
    }
    try {
      plans.push({ reg, plan: driverFor(reg.kind).login(reg, env) });
    } catch (e) {
      if (e instanceof UsageError) problems.push(e.message);
      else throw e;
    }
  }
  if (problems.length) throw new UsageError(problems.join('\n'));
  const done: { host: string; username: string }[] = [];
  for (const { reg, plan } of plans) {
    let login: LoginPlan;
    if ('argv' in plan) {
      if (!onPath(plan.argv[0]!)) throw new UsageError(`registry ${reg.name}: ${plan.why}; \`${plan.argv[0]}\` is not installed`);
      const r = await retry(async () => {
        const x = await run(plan.argv, { raw: true });
        if (x.exitCode !== 0) throw Object.assign(new Error(describeFailure(x)), { stderr: redactor.redact(x.stderr) });
        return x;
      }, { what: plan.argv.join(' '), retryable: (e) => retryableDockerError((e as { stderr?: string }).stderr ?? ''), log: (l) => o.out.info(l) }).catch((e: Error) => {
        throw new WorkError(`registry ${reg.name}: could not get a login password: ${e.message}`);
      });
      const password = r.stdout.trim();
      redactor.add(password);
      login = { host: plan.host, username: plan.username, password, from: ['aws ecr get-login-password'] };
    } else login = plan;
    await dockerLogin(login, (l) => o.out.info(l));
    o.out.info(`logged in to ${login.host} as ${login.username} (from ${login.from.join(', ')})`);
    done.push({ host: login.host, username: login.username });
  }
  return done;
}

/** No credential variable named by the spec, and none the registry's kind reads by default. */
export function anonymous(reg: Registry): boolean {
  const c = reg.credentials;
  const d = driverFor(reg.kind).defaultCredentials;
  return !c.usernameEnv && !c.passwordEnv && !c.tokenEnv && !d.username?.length && !d.password?.length && !d.token?.length;
}

export async function dockerLogin(login: LoginPlan, log: (line: string) => void): Promise<void> {
  redactor.add(login.password);
  redactor.add(`${login.username}:${login.password}`);
  await retry(
    async () => {
      const r = await run(loginArgv(login.host, login.username), { input: login.password });
      if (r.exitCode !== 0) throw Object.assign(new Error(describeFailure(r)), { stderr: r.stderr });
    },
    { what: `docker login ${login.host}`, retryable: (e) => retryableDockerError((e as { stderr?: string }).stderr ?? ''), log },
  ).catch((e: Error & { stderr?: string }) => {
    const unauthorized = /unauthorized|incorrect username or password|401/i.test(e.stderr ?? e.message);
    throw new WorkError(
      unauthorized ? `login to ${login.host} as ${login.username} was refused: wrong username or password` : `login to ${login.host} failed`,
      redactor.redact(e.message),
    );
  });
}

/**
 * Where the docker CLI looks for plugins: the user's (`$DOCKER_CONFIG/cli-plugins`, else
 * `~/.docker/cli-plugins`), then the system's. Pure.
 */
export function pluginDirs(env: NodeJS.ProcessEnv, home: string): string[] {
  return [
    join(env['DOCKER_CONFIG'] || join(home, '.docker'), 'cli-plugins'),
    '/usr/local/lib/docker/cli-plugins',
    '/usr/local/libexec/docker/cli-plugins',
    '/usr/lib/docker/cli-plugins',
    '/usr/libexec/docker/cli-plugins',
  ];
}

/** What the docker CLI itself asks a plugin to prove it is one. */
export function pluginMetadataArgv(path: string): string[] {
  return [path, 'docker-cli-plugin-metadata'];
}

/**
 * docker-pushrm, found as the docker CLI finds plugins and asked for its plugin metadata:
 * `docker pushrm --help` cannot tell, since without the plugin the CLI prints its own help
 * and exits 0.
 */
export async function findPushrm(env: NodeJS.ProcessEnv = process.env): Promise<{ path: string; version: string } | { missing: string }> {
  const dirs = pluginDirs(env, homedir());
  for (const dir of dirs) {
    const path = join(dir, 'docker-pushrm');
    try {
      accessSync(path, constants.X_OK);
    } catch {
      continue;
    }
    const r = await run(pluginMetadataArgv(path), { timeoutMs: 10_000 });
    try {
      const meta = JSON.parse(r.stdout) as { SchemaVersion?: unknown; Version?: unknown };
      if (r.exitCode === 0 && typeof meta.SchemaVersion === 'string') return { path, version: typeof meta.Version === 'string' ? meta.Version : 'unknown' };
    } catch {
      // not a docker CLI plugin
    }
    return { missing: `${path} is not a docker CLI plugin (its metadata did not answer)` };
  }
  return { missing: `no docker-pushrm in ${dirs.join(', ')}` };
}

let pushrm: Promise<{ path: string; version: string } | { missing: string }> | undefined;

export function pushrmArgv(file: string, provider: string, repository: string): string[] {
  return ['docker', 'pushrm', '--file', file, '--provider', provider, repository];
}

/** Returns the README pusher `build` and `push-readme` use: docker-pushrm when installed, else the registry's API. */
export function readmePusher(spec: Spec, o: { root: string; envFile?: string; out: Printer; env?: NodeJS.ProcessEnv }) {
  // Loaded on the first push, once: most builds push no README.
  let loaded: Env | undefined;
  let saidMissing = false;
  return async (task: ReadmeTask, content: string, log: (line: string) => void, signal?: AbortSignal): Promise<void> => {
    const env = (loaded ??= loadCredentials(spec, { root: o.root, envFile: o.envFile, env: o.env, warn: (l) => o.out.error(l) }));
    const reg = spec.registries[task.registry]!;
    const driver = driverFor(reg.kind);
    const plugin = driver.pushrmProvider && !reg.api ? await (pushrm ??= findPushrm(o.env ?? process.env)) : undefined;
    if (plugin && 'missing' in plugin && !saidMissing) {
      // Said once, where the user sees it, as well as in the task's log.
      saidMissing = true;
      const line = `docker-pushrm is not installed (${plugin.missing}); pushing READMEs through the registries' APIs`;
      o.out.info(line);
      log(line);
    }
    if (driver.pushrmProvider && plugin && 'path' in plugin) {
      const dir = mkdtempSync(join(tmpdir(), 'manager-readme-'));
      try {
        const file = join(dir, 'README.md');
        writeFileSync(file, content);
        const r = await run(pushrmArgv(file, driver.pushrmProvider, repositoryRef(reg)), { signal, env: { DOCKER_APIKEY: env[reg.credentials.tokenEnv ?? 'QUAY_API_TOKEN'] } });
        if (r.exitCode !== 0) throw new WorkError(`docker pushrm to ${repositoryRef(reg)} failed`, describeFailure(r));
        log(`README pushed with docker-pushrm ${plugin.version} to ${repositoryRef(reg)}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return;
    }
    if (!driver.pushReadme) {
      log(`${reg.kind} has no README API; skipped ${task.repository}`);
      return;
    }
    const api = (reg.api ?? driver.readmeApi!(reg)).replace(/\/$/, '');
    await driver.pushReadme({ registry: reg, repository: `${reg.namespace}/${reg.repository}`, content, env, api, log, signal });
  };
}
