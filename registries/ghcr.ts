// GitHub Container Registry: GITHUB_TOKEN (user from GITHUB_ACTOR) in Actions, or a personal
// token in GHCR_USER / GHCR_TOKEN. Package READMEs come from the source repository, so none is pushed.
import { pick, required } from './credentials.ts';
import type { RegistryDriver } from './types.ts';

export const ghcr: RegistryDriver = {
  kind: 'ghcr',
  defaultCredentials: { username: ['GHCR_USER', 'GITHUB_ACTOR'], password: ['GHCR_TOKEN', 'GITHUB_TOKEN'] },
  login(registry, env) {
    const d = ghcr.defaultCredentials;
    const p = required(registry, env, 'password', [registry.credentials.passwordEnv, registry.credentials.tokenEnv, ...d.password!]);
    const u = pick(env, [registry.credentials.usernameEnv, ...d.username!]) ?? (p.name === 'GITHUB_TOKEN' ? { name: 'default', value: 'github-actions' } : undefined);
    const user = u ?? required(registry, env, 'username', [registry.credentials.usernameEnv, ...d.username!]);
    return { host: registry.host, username: user.value, password: p.value, from: [user.name, p.name] };
  },
};
