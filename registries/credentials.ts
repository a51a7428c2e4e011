// Credentials from the environment, with the spec's variable names first and each
// registry's conventional names after; a missing one is an error that names it.
import { UsageError } from '../core/errors.ts';
import { redactor } from '../core/redact.ts';
import type { Registry } from '../core/spec.ts';
import type { Env, LoginPlan } from './types.ts';

export function pick(env: Env, names: (string | undefined)[]): { name: string; value: string } | undefined {
  for (const n of names) {
    if (!n) continue;
    const v = env[n];
    if (v !== undefined && v !== '') return { name: n, value: v };
  }
  return undefined;
}

export function required(registry: Registry, env: Env, what: 'username' | 'password', names: (string | undefined)[]): { name: string; value: string } {
  const found = pick(env, names);
  if (!found) {
    const list = [...new Set(names.filter(Boolean))];
    throw new UsageError(`registry ${registry.name} (${registry.host}): no ${what}; set ${list.join(' or ')} in the environment or in .env`);
  }
  if (what === 'password') redactor.add(found.value);
  return found;
}

/** The common case: a username and a password variable, the spec's names before the kind's defaults. */
export function userPasswordLogin(registry: Registry, env: Env, defaults: { username?: string[]; password?: string[] }): LoginPlan {
  const u = required(registry, env, 'username', [registry.credentials.usernameEnv, ...(defaults.username ?? [])]);
  const p = required(registry, env, 'password', [registry.credentials.passwordEnv, ...(defaults.password ?? [])]);
  // `user:password` travels base64-encoded in auth headers and docker's config.json.
  redactor.add(`${u.value}:${p.value}`);
  return { host: registry.host, username: u.value, password: p.value, from: [u.name, p.name] };
}
