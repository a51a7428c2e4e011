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

function missing(what: string, names: (string | undefined)[]): string {
  return `no ${what}; set ${[...new Set(names.filter(Boolean))].join(' or ')} in the environment or in .env`;
}

export function required(registry: Registry, env: Env, what: 'username' | 'password', names: (string | undefined)[]): { name: string; value: string } {
  const found = pick(env, names);
  if (!found) throw new UsageError(`registry ${registry.name} (${registry.host}): ${missing(what, names)}`);
  if (what === 'password') redactor.add(found.value);
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
  const p = secret;
  redactor.add(p.value);
  // `user:password` travels base64-encoded in auth headers and docker's config.json.
  redactor.add(`${u.value}:${p.value}`);
  return { host: registry.host, username: u.value, password: p.value, from: [u.name, p.name] };
}
