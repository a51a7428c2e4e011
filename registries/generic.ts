// Any other registry (a self-hosted distribution, Nexus, Artifactory, ...): credentials from
// the variables the spec names.
import { required } from './credentials.ts';
import type { RegistryDriver } from './types.ts';

export const generic: RegistryDriver = {
  kind: 'generic',
  defaultCredentials: {},
  login(registry, env) {
    const u = required(registry, env, 'username', [registry.credentials.usernameEnv]);
    const p = required(registry, env, 'password', [registry.credentials.passwordEnv, registry.credentials.tokenEnv]);
    return { host: registry.host, username: u.value, password: p.value, from: [u.name, p.name] };
  },
};
