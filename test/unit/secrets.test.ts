// What the redactor learns when a command starts, before any program runs: every credential
// in sight, wherever it lives, and a warning (naming the place, never the value) for one too
// short to redact, which manager then refuses to use.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registerSecrets, visibleSecrets } from '../../cli/secrets.ts';
import { UsageError } from '../../core/base/errors.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import { Redactor, redactor } from '../../core/base/redact.ts';
import { DRIVERS } from '../../registries/index.ts';
import { MINI_SPEC, miniSpec, tempDir } from '../helpers/spec.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function specWith(registries: string): { spec: ReturnType<typeof loadPlan>['spec']; root: string } {
  const { dir, manifest } = miniSpec({ 'manifest.yaml': MINI_SPEC.replace(/registries:\n[\s\S]*$/, registries) });
  dirs.push(dir);
  return { spec: loadPlan(manifest).spec, root: dir };
}

const values = (o: Parameters<typeof visibleSecrets>[0]) => visibleSecrets(o).map((s) => s.value);

describe('credentials in sight at startup', () => {
  const emptyConfig = () => {
    const d = tempDir('manager-dockercfg-');
    dirs.push(d);
    return d;
  };

  it('every registry kind\'s conventional variables, without a spec, with user:secret for each user', () => {
    const v = values({ env: { DOCKER_USER: 'hub-user', DOCKER_PASSWORD: 'hub-password-1', GITHUB_TOKEN: 'ghs_token_value', QUAY_API_TOKEN: 'quay-api-token', ACTIONS_RUNTIME_TOKEN: 'runtime-token-1', UNRELATED: 'not-a-secret' }, dockerConfig: emptyConfig() });
    expect(v).toEqual(expect.arrayContaining(['hub-password-1', 'hub-user:hub-password-1', 'ghs_token_value', 'quay-api-token', 'runtime-token-1']));
    expect(v).not.toContain('not-a-secret');
    expect(v).not.toContain('hub-user');
  });

  it('the variables a spec names, from the environment and from .env (both when both hold one), and files *_FILE names', () => {
    const { spec, root } = specWith('registries:\n  r:\n    kind: generic\n    host: reg.example\n    namespace: acme\n    credentials: { username_env: R_U, password_env: R_P }\n');
    writeFileSync(join(root, '.env'), "R_P='from-dotenv-pw'\nR_U=dot-user\nOTHER_TOKEN=other-dotenv-token\nPLAIN=plain-value\n");
    const key = join(root, 'key.json');
    writeFileSync(key, JSON.stringify({ type: 'service_account', private_key_id: 'key-id-123456', private_key: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY-----\n' }));
    const v = values({ env: { R_P: 'from-env-pw-1', R_U: 'env-user', GCR_JSON_KEY_FILE: key }, spec, root, dockerConfig: emptyConfig() });
    expect(v).toEqual(expect.arrayContaining(['from-env-pw-1', 'from-dotenv-pw', 'env-user:from-env-pw-1', 'dot-user:from-dotenv-pw', 'other-dotenv-token', 'key-id-123456', '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY-----\n']));
    expect(v).not.toContain('plain-value');
    // --credentials-file instead of the root's .env.
    const other = join(root, 'creds.env');
    writeFileSync(other, 'R_P=named-file-pw\n');
    expect(values({ env: {}, spec, root, envFile: other, dockerConfig: emptyConfig() })).toContain('named-file-pw');
  });

  it('the build secrets a release takes from the environment (by env=), never a src= path', () => {
    const yaml = MINI_SPEC.replace('    tags: ["{version}-python{python}-{alias}-runtime"]\n', '    tags: ["{version}-python{python}-{alias}-runtime"]\n    secrets: [{ id: pip, env: PIP_INDEX_TOKEN }, { id: f, src: token.txt }]\n');
    const { dir, manifest } = miniSpec({ 'manifest.yaml': yaml });
    dirs.push(dir);
    const v = values({ env: { PIP_INDEX_TOKEN: 'pip-index-secret-1' }, spec: loadPlan(manifest).spec, dockerConfig: emptyConfig() });
    expect(v).toContain('pip-index-secret-1');
    expect(v).not.toContain('token.txt');
  });

  it('every credential in docker\'s config.json, for every host: auth (user:password), password, identity and registry tokens', () => {
    const d = emptyConfig();
    writeFileSync(join(d, 'config.json'), JSON.stringify({ auths: {
      'a.example': { auth: Buffer.from('alice:auth-password:with-colon').toString('base64') },
      'b.example': { username: 'bob', password: 'plain-password' },
      'c.example': { identitytoken: 'identity-token-1' },
      'd.example': { registrytoken: 'registry-token-1' },
      'e.example': 'not an object',
    } }));
    expect(values({ env: {}, dockerConfig: d })).toEqual(expect.arrayContaining(['auth-password:with-colon', 'alice:auth-password:with-colon', 'plain-password', 'bob:plain-password', 'identity-token-1', 'registry-token-1']));
    writeFileSync(join(d, 'config.json'), '{ not json');
    expect(values({ env: {}, dockerConfig: d })).toEqual([]);
  });

  it('registers them with the redactor; one too short is named in a warning, once, never shown', () => {
    const warnings: string[] = [];
    const env = { HARBOR_USER: 'hu', HARBOR_PASSWORD: 'registered-at-start', QUAY_PASSWORD: 'q1' };
    registerSecrets({ env, dockerConfig: emptyConfig() }, (l) => warnings.push(l));
    registerSecrets({ env, dockerConfig: emptyConfig() }, (l) => warnings.push(l));
    expect(redactor.redact('x registered-at-start y')).toBe('x *** y');
    expect(warnings).toEqual(['warning: the secret in QUAY_PASSWORD is shorter than 6 characters, too short to be kept out of output: a program manager runs may print it']);
  });

  it('a login or README push with a password too short to redact is refused, naming the variable', () => {
    const reg = { name: 'hub', kind: 'dockerhub', host: 'docker.io', namespace: 'acme', repository: 'app', credentials: {}, readme: false } as unknown as Parameters<typeof DRIVERS.dockerhub.login>[0];
    expect(() => DRIVERS.dockerhub.login(reg, { DOCKER_USER: 'u', DOCKER_PASSWORD: 'pw1' })).toThrow(UsageError);
    expect(() => DRIVERS.dockerhub.login(reg, { DOCKER_USER: 'u', DOCKER_PASSWORD: 'pw1' })).toThrow('registry hub: DOCKER_PASSWORD is shorter than 6 characters');
    expect(() => DRIVERS.quay.login({ ...reg, kind: 'quay' } as typeof reg, { QUAY_USER: 'u', QUAY_PASSWORD: 'long-enough' })).not.toThrow();
    expect(new Redactor().add('pw1')).toBe(false);
  });
});
