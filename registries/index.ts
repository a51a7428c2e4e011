import type { Registry, RegistryKind } from '../core/load/spec.ts';
import { dockerhub } from './dockerhub.ts';
import { ecr } from './ecr.ts';
import { gcr } from './gcr.ts';
import { generic } from './generic.ts';
import { ghcr } from './ghcr.ts';
import { harbor } from './harbor.ts';
import { quay } from './quay.ts';
import type { RegistryDriver } from './types.ts';

export const DRIVERS: Record<RegistryKind, RegistryDriver> = { dockerhub, quay, harbor, ghcr, gcr, ecr, generic };

export function driverFor(kind: RegistryKind): RegistryDriver {
  return DRIVERS[kind];
}

export type { RegistryDriver, LoginPlan, PasswordCommand } from './types.ts';

/** Every variable a registry's credentials may come from: the spec's names, then the kind's. */
export function credentialVariables(r: Registry): string[] {
  const d = DRIVERS[r.kind].defaultCredentials;
  const names = [r.credentials.usernameEnv, r.credentials.passwordEnv, r.credentials.tokenEnv, ...(d.username ?? []), ...(d.password ?? []), ...(d.token ?? [])];
  return [...new Set(names.filter((n): n is string => !!n))];
}
