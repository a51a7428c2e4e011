// Logging in and pushing READMEs: credentials come from the environment and
// $MANAGER_ROOT/.env, travel only on stdin, and are registered with the redactor on load.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { UsageError, WorkError } from '../core/errors.ts';
import { redactor } from '../core/redact.ts';
import type { Registry, Spec } from '../core/spec.ts';
import { repositoryRef } from '../core/refs.ts';
import type { ReadmeTask } from '../core/task.ts';
import { driverFor } from '../registries/index.ts';
import type { Env, LoginPlan } from '../registries/types.ts';
import { describeFailure, onPath, run } from './runner.ts';
import { retry, retryableDockerError } from '../core/retry.ts';

interface Printer {
  info(line: string): void;
  error(line: string): void;
}

const SECRET_NAME = /PASSWORD|PASS$|TOKEN|SECRET|JSON_KEY|API_KEY|APIKEY/i;

/**
 * Loads `<root>/.env` into process.env without overriding what is set, registers every
 * secret-looking value with the redactor, and warns when the file is readable by others.
 */
export function loadEnv(root: string, warn: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Env {
  const file = join(root, '.env');
  if (existsSync(file)) {
    const mode = statSync(file).mode;
    if (mode & 0o077) warn(`warning: ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${file}`);
    const parsed = parseDotenv(readFileSync(file));
    for (const [k, v] of Object.entries(parsed)) if (env[k] === undefined) env[k] = v;
  }
  for (const [k, v] of Object.entries(env)) if (v && SECRET_NAME.test(k)) redactor.add(v);
  return env;
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

export async function authenticate(spec: Spec, o: { root: string; out: Printer; registries?: string[]; env?: NodeJS.ProcessEnv }): Promise<{ host: string; username: string }[]> {
  const env = loadEnv(o.root, (l) => o.out.error(l), o.env);
  const regs = selectRegistries(spec, o.registries);
  // Every missing credential is reported before anything runs.
  const plans: { reg: Registry; plan: ReturnType<ReturnType<typeof driverFor>['login']> }[] = [];
  const problems: string[] = [];
  for (const reg of regs) {
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
        const x = await run(plan.argv);
        if (x.exitCode !== 0) throw Object.assign(new Error(describeFailure(x)), { stderr: x.stderr });
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

export async function dockerLogin(login: LoginPlan, log: (line: string) => void): Promise<void> {
  redactor.add(login.password);
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

let pushrm: boolean | undefined;
async function hasPushrm(): Promise<boolean> {
  if (pushrm === undefined) pushrm = (await run(['docker', 'pushrm', '--help'])).exitCode === 0;
  return pushrm;
}

export function pushrmArgv(file: string, provider: string, repository: string): string[] {
  return ['docker', 'pushrm', '--file', file, '--provider', provider, repository];
}

/** Returns the README pusher `build` and `push-readme` use: docker-pushrm when installed, else the registry's API. */
export function readmePusher(spec: Spec, o: { root: string; out: Printer; env?: NodeJS.ProcessEnv }) {
  // Loaded on the first push, once: most builds push no README.
  let loaded: Env | undefined;
  return async (task: ReadmeTask, content: string, log: (line: string) => void): Promise<void> => {
    const env = (loaded ??= loadEnv(o.root, (l) => o.out.error(l), o.env));
    const reg = spec.registries[task.registry]!;
    const driver = driverFor(reg.kind);
    if (driver.pushrmProvider && !reg.api && (await hasPushrm())) {
      const dir = mkdtempSync(join(tmpdir(), 'manager-readme-'));
      try {
        const file = join(dir, 'README.md');
        writeFileSync(file, content);
        const r = await run(pushrmArgv(file, driver.pushrmProvider, repositoryRef(reg)), { env: { DOCKER_APIKEY: env[reg.credentials.tokenEnv ?? 'QUAY_API_TOKEN'] } });
        if (r.exitCode !== 0) throw new WorkError(`docker pushrm to ${repositoryRef(reg)} failed`, describeFailure(r));
        log(`README pushed with docker-pushrm to ${repositoryRef(reg)}`);
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
    await driver.pushReadme({ registry: reg, repository: `${reg.namespace}/${reg.repository}`, content, env, api, log });
  };
}
