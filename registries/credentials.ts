// Credentials from the environment, with the spec's variable names first and each
// registry's conventional names after; a missing one is an error that names it.
import { UsageError } from '../core/base/errors.ts';
import { MIN_SECRET_LENGTH, redactor } from '../core/base/redact.ts';
import type { Registry } from '../core/load/spec.ts';
import type { Env, LoginPlan } from './types.ts';

export function pick(env: Env, names: (string | undefined)[]): { name: string; value: string } | undefined {
  for (const n of names) {
    if (!n) continue;
    const v = env[n];
    if (v !== undefined && v !== '') return { name: n, value: v };
  }
  return undefined;
}

function missing(what: string, names: (string | undefined)[]): string {
  return `no ${what}; set ${[...new Set(names.filter(Boolean))].join(' or ')} in the environment or in .env`;
}

/**
 * A secret about to be used, registered with the redactor; one too short to redact is refused
 * rather than sent where a program may print it.
 */
function registered(registry: Registry, s: { name: string; value: string }): { name: string; value: string } {
  if (!redactor.add(s.value)) throw new UsageError(`registry ${registry.name}: ${s.name} is shorter than ${MIN_SECRET_LENGTH} characters; so short a secret cannot be kept out of output, so manager does not use it`);
  return s;
}

export function required(registry: Registry, env: Env, what: 'username' | 'password', names: (string | undefined)[]): { name: string; value: string } {
  const found = pick(env, names);
  if (!found) throw new UsageError(`registry ${registry.name} (${registry.host}): ${missing(what, names)}`);
  if (what === 'password') registered(registry, found);
  return found;
}

/** The common case: a username and a password variable, the spec's names before the kind's defaults. */
export function userPasswordLogin(registry: Registry, env: Env, defaults: { username?: string[]; password?: string[] }): LoginPlan {
  const uNames = [registry.credentials.usernameEnv, ...(defaults.username ?? [])];
  const pNames = [registry.credentials.passwordEnv, ...(defaults.password ?? [])];
  const [found, secret] = [pick(env, uNames), pick(env, pNames)];
  // Both at once: a user should not have to run twice to learn the second name.
  if (!found || !secret) {
    throw new UsageError(`registry ${registry.name} (${registry.host}): ${[!found && missing('username', uNames), !secret && missing('password', pNames)].filter(Boolean).join('; ')}`);
  }
  const u = found;
  const p = registered(registry, secret);
  // `user:password` travels base64-encoded in auth headers and docker's config.json.
  redactor.add(`${u.value}:${p.value}`);
  return { host: registry.host, username: u.value, password: p.value, from: [u.name, p.name] };
}
