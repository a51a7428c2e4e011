import type { RegistryKind } from '../core/spec.ts';
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
