// Docker Hub: `docker login docker.io`; README through the Hub API (JWT from /v2/users/login,
// then PATCH full_description), which caps the description at 25,000 bytes.
import { WorkError } from '../core/base/errors.ts';
import { required, userPasswordLogin } from './credentials.ts';
import { requestJson } from './http.ts';
import type { RegistryDriver } from './types.ts';

export const DOCKERHUB_README_LIMIT = 25_000;

export const dockerhub: RegistryDriver = {
  kind: 'dockerhub',
  defaultCredentials: { username: ['DOCKER_USER'], password: ['DOCKER_PASSWORD'] },
  pushrmProvider: 'dockerhub',
  login: (registry, env) => userPasswordLogin(registry, env, dockerhub.defaultCredentials),
  readmeApi: () => 'https://hub.docker.com',
  async pushReadme({ registry, repository, content, env, api, log, signal }) {
    const size = Buffer.byteLength(content, 'utf8');
    if (size > DOCKERHUB_README_LIMIT) {
      throw new WorkError(`README.md is ${size} bytes; Docker Hub accepts at most ${DOCKERHUB_README_LIMIT} bytes of full description (${repository})`);
    }
    const u = required(registry, env, 'username', [registry.credentials.usernameEnv, ...dockerhub.defaultCredentials.username!]);
    const p = required(registry, env, 'password', [registry.credentials.passwordEnv, ...dockerhub.defaultCredentials.password!]);
    const login = await requestJson('POST', `${api}/v2/users/login`, { body: { username: u.value, password: p.value }, log, signal });
    const token = (login.json as { token?: string } | undefined)?.token;
    if (!token) throw new WorkError(`Docker Hub login for ${u.value} returned no token`);
    await requestJson('PATCH', `${api}/v2/repositories/${repository}/`, {
      headers: { authorization: `JWT ${token}` },
      body: { full_description: content },
      log,
      signal,
    });
    log(`README pushed to Docker Hub ${repository} (${size} bytes)`);
  },
};
