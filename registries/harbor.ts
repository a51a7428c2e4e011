// Harbor v2: basic-auth login; the README is the repository description, set with
// PUT /api/v2.0/projects/{project}/repositories/{repo} (slashes in the name double-encoded).
import { required, userPasswordLogin } from './credentials.ts';
import { requestJson } from './http.ts';
import type { RegistryDriver } from './types.ts';

export const harbor: RegistryDriver = {
  kind: 'harbor',
  defaultCredentials: { username: ['HARBOR_USER'], password: ['HARBOR_PASSWORD'] },
  pushrmProvider: 'harbor2',
  login: (registry, env) => userPasswordLogin(registry, env, harbor.defaultCredentials),
  readmeApi: (r) => `https://${r.host}`,
  async pushReadme({ registry, repository, content, env, api, log, signal }) {
    const u = required(registry, env, 'username', [registry.credentials.usernameEnv, ...harbor.defaultCredentials.username!]);
    const p = required(registry, env, 'password', [registry.credentials.passwordEnv, ...harbor.defaultCredentials.password!]);
    const [project, ...rest] = repository.split('/');
    const repo = encodeURIComponent(encodeURIComponent(rest.join('/')));
    await requestJson('PUT', `${api}/api/v2.0/projects/${project}/repositories/${repo}`, {
      headers: { authorization: `Basic ${Buffer.from(`${u.value}:${p.value}`).toString('base64')}` },
      body: { description: content },
      log,
      signal,
    });
    log(`README pushed to Harbor ${registry.host}/${repository}`);
  },
};
