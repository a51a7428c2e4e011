// Any other registry (a self-hosted distribution, Nexus, Artifactory, ...): credentials from
// the variables the spec names.
import { userPasswordLogin } from './credentials.ts';
import type { RegistryDriver } from './types.ts';

export const generic: RegistryDriver = {
  kind: 'generic',
  defaultCredentials: {},
  login: (registry, env) => userPasswordLogin(registry, env, { password: registry.credentials.tokenEnv ? [registry.credentials.tokenEnv] : [] }),
};
