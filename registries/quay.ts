// Quay.io: robot or user login for `docker login`; the README is the repository description,
// set with PUT /api/v1/repository/{ns}/{repo} and an OAuth application token.
import { required, userPasswordLogin } from './credentials.ts';
import { requestJson } from './http.ts';
import type { RegistryDriver } from './types.ts';

export const quay: RegistryDriver = {
  kind: 'quay',
  defaultCredentials: { username: ['QUAY_USER'], password: ['QUAY_PASSWORD'], token: ['QUAY_API_TOKEN'] },
  pushrmProvider: 'quay',
  login: (registry, env) => userPasswordLogin(registry, env, quay.defaultCredentials),
  readmeApi: (r) => `https://${r.host}`,
  async pushReadme({ registry, repository, content, env, api, log, signal }) {
    const t = required(registry, env, 'password', [registry.credentials.tokenEnv, ...quay.defaultCredentials.token!]);
    await requestJson('PUT', `${api}/api/v1/repository/${repository}`, {
      headers: { authorization: `Bearer ${t.value}` },
      body: { description: content },
      log,
      signal,
    });
    log(`README pushed to Quay ${repository}`);
  },
};
