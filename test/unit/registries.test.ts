// Registry modules. The README pushes run against a local server speaking the documented
// Docker Hub, Quay and Harbor endpoints: these are contract tests, not tests of the services.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError, WorkError } from '../../core/base/errors.ts';
import { Redactor, redactor } from '../../core/base/redact.ts';
import type { Registry, Spec } from '../../core/load/spec.ts';
import { DRIVERS } from '../../registries/index.ts';
import { DOCKERHUB_README_LIMIT } from '../../registries/dockerhub.ts';
import { ecrRegion } from '../../registries/ecr.ts';
import { requestJson } from '../../registries/http.ts';
import { loadCredentials } from '../../tasks/authenticate.ts';
import { credentialVariables } from '../../registries/index.ts';
import { indexPushRace, retry, retryableDockerError } from '../../core/base/retry.ts';
import { startServer } from '../helpers/http.ts';
import { tempDir } from '../helpers/spec.ts';

const reg = (kind: Registry['kind'], extra: Partial<Registry> = {}): Registry => ({
  name: kind,
  kind,
  host: { dockerhub: 'docker.io', quay: 'quay.io', harbor: 'harbor.example', ghcr: 'ghcr.io', gcr: 'gcr.io', ecr: '1.dkr.ecr.eu-west-1.amazonaws.com', generic: 'r.example:5000' }[kind],
  namespace: 'acme',
  repository: 'app',
  staging: 'r.example/acme/app-staging',
  credentials: {},
  readme: true,
  ...extra,
});

const servers: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('login credentials', () => {
  it('uses the notes\' variables per registry', () => {
    expect(DRIVERS.dockerhub.login(reg('dockerhub'), { DOCKER_USER: 'u', DOCKER_PASSWORD: 'p-12345' })).toEqual({ host: 'docker.io', username: 'u', password: 'p-12345', from: ['DOCKER_USER', 'DOCKER_PASSWORD'] });
    expect(DRIVERS.quay.login(reg('quay'), { QUAY_USER: 'u', QUAY_PASSWORD: 'p-12345' })).toMatchObject({ host: 'quay.io', username: 'u' });
    expect(DRIVERS.harbor.login(reg('harbor'), { HARBOR_USER: 'u', HARBOR_PASSWORD: 'p-12345' })).toMatchObject({ host: 'harbor.example' });
    expect(DRIVERS.ghcr.login(reg('ghcr'), { GITHUB_TOKEN: 'ghs_x1234', GITHUB_ACTOR: 'octo' })).toMatchObject({ username: 'octo', password: 'ghs_x1234' });
    expect(DRIVERS.ghcr.login(reg('ghcr'), { GHCR_USER: 'me', GHCR_TOKEN: 'ghp_1234' })).toMatchObject({ username: 'me', password: 'ghp_1234' });
    expect(DRIVERS.gcr.login(reg('gcr'), { GCR_JSON_KEY: '{"type":"service_account"}' })).toMatchObject({ username: '_json_key', password: '{"type":"service_account"}' });
    expect(DRIVERS.generic.login(reg('generic', { credentials: { usernameEnv: 'R_U', passwordEnv: 'R_P' } }), { R_U: 'x', R_P: 'y-12345' })).toMatchObject({ username: 'x', password: 'y-12345' });
  });

  it('names the missing variable and the registry', () => {
    expect(() => DRIVERS.quay.login(reg('quay'), { QUAY_USER: 'u' })).toThrow(UsageError);
    expect(() => DRIVERS.quay.login(reg('quay'), { QUAY_USER: 'u' })).toThrow('registry quay (quay.io): no password; set QUAY_PASSWORD in the environment or in .env');
    expect(() => DRIVERS.harbor.login(reg('harbor', { credentials: { usernameEnv: 'H_U' } }), {})).toThrow('registry harbor (harbor.example): no username; set H_U or HARBOR_USER in the environment or in .env; no password; set HARBOR_PASSWORD in the environment or in .env');
    expect(() => DRIVERS.gcr.login(reg('gcr'), { GCR_JSON_KEY: 'not json' })).toThrow(/is not JSON/);
  });

  it('gets ECR passwords from the AWS CLI, with the region from the host', () => {
    const plan = DRIVERS.ecr.login(reg('ecr'), {});
    expect(plan).toMatchObject({ argv: ['aws', 'ecr', 'get-login-password', '--region', 'eu-west-1'], username: 'AWS' });
    expect(ecrRegion('123.dkr.ecr.us-west-2.amazonaws.com')).toBe('us-west-2');
  });

  const spec = (regs: Record<string, Registry>) => ({ package: 'app', registries: regs }) as unknown as Spec;

  it('reads only the registries\' credential variables from .env, the environment first, and never touches process.env', () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.env'), 'DOCKER_USER=fromfile\nDOCKER_PASSWORD=s3cret-from-file\nBASH_ENV=/tmp/evil.sh\nNODE_OPTIONS=--require=/tmp/x.js\nDOCKER_HOST=tcp://evil:2375\n');
    chmodSync(join(dir, '.env'), 0o644);
    const warnings: string[] = [];
    const env: NodeJS.ProcessEnv = { DOCKER_USER: 'fromenv' };
    const before = { ...process.env };
    const creds = loadCredentials(spec({ hub: reg('dockerhub') }), { root: dir, env, warn: (w) => warnings.push(w) });
    expect(creds).toEqual({ DOCKER_USER: 'fromenv', DOCKER_PASSWORD: 's3cret-from-file' });
    expect(env).toEqual({ DOCKER_USER: 'fromenv' });
    expect(process.env).toEqual(before);
    expect(warnings).toEqual([
      expect.stringMatching(/readable by group or others/),
      expect.stringMatching(/^warning: ignoring BASH_ENV, DOCKER_HOST, NODE_OPTIONS from .*\.env: only the credential variables of app's registries are read from it \(DOCKER_PASSWORD, DOCKER_USER\)$/),
    ]);
    expect(redactor.redact('token s3cret-from-file here')).toBe('token *** here');
    chmodSync(join(dir, '.env'), 0o600);
    writeFileSync(join(dir, '.env'), 'DOCKER_PASSWORD=x1234\n');
    const quiet: string[] = [];
    loadCredentials(spec({ hub: reg('dockerhub') }), { root: dir, env: {}, warn: (w) => quiet.push(w) });
    expect(quiet).toEqual([]);
  });

  it('takes the spec\'s own variable names, honours --env-file, and refuses what is not a file or has control characters', () => {
    const dir = tempDir();
    const custom = reg('generic', { credentials: { usernameEnv: 'MY_USER', passwordEnv: 'MY_PASS' } });
    writeFileSync(join(dir, 'creds.env'), 'MY_USER=u\nMY_PASS=p-12345\n');
    expect(loadCredentials(spec({ r: custom }), { root: dir, envFile: join(dir, 'creds.env'), env: {}, warn: () => {} })).toEqual({ MY_USER: 'u', MY_PASS: 'p-12345' });
    expect(() => loadCredentials(spec({ r: custom }), { root: dir, envFile: join(dir, 'missing.env'), env: {}, warn: () => {} })).toThrow(/env file .*missing\.env does not exist/);
    mkdirSync(join(dir, 'adir'));
    expect(() => loadCredentials(spec({ r: custom }), { root: dir, envFile: join(dir, 'adir'), env: {}, warn: () => {} })).toThrow(UsageError);
    expect(() => loadCredentials(spec({ r: custom }), { root: dir, env: { MY_USER: 'a\nb' }, warn: () => {} })).toThrow(/MY_USER contains a control character/);
  });

  it('one table of credential variables per registry kind', () => {
    expect(credentialVariables(reg('quay'))).toEqual(['QUAY_USER', 'QUAY_PASSWORD', 'QUAY_API_TOKEN']);
    expect(credentialVariables(reg('ghcr'))).toEqual(['GHCR_USER', 'GITHUB_ACTOR', 'GHCR_TOKEN', 'GITHUB_TOKEN']);
    expect(credentialVariables(reg('dockerhub', { credentials: { usernameEnv: 'HUB_U' } }))).toEqual(['HUB_U', 'DOCKER_USER', 'DOCKER_PASSWORD']);
    expect(credentialVariables(reg('ecr'))).toEqual([]);
  });

  it('redacts user:password in its base64 form, as auth headers and config.json carry it', () => {
    const plan = DRIVERS.dockerhub.login(reg('dockerhub'), { DOCKER_USER: 'alice', DOCKER_PASSWORD: 'pw-base64-check' });
    expect('password' in plan).toBe(true);
    expect(redactor.redact(Buffer.from('alice:pw-base64-check').toString('base64'))).toBe('***');
  });
});

describe('README push (contract tests against a local server)', () => {
  it('Docker Hub: logs in for a JWT, then PATCHes full_description', async () => {
    const s = await startServer((r) => {
      if (r.method === 'POST' && r.path === '/v2/users/login') return { status: 200, body: { token: 'jwt-abc' } };
      if (r.method === 'PATCH' && r.path === '/v2/repositories/acme/app/') return { status: 200, body: {} };
      return undefined;
    });
    servers.push(s);
    const log: string[] = [];
    await DRIVERS.dockerhub.pushReadme!({ registry: reg('dockerhub'), repository: 'acme/app', content: '# hi', env: { DOCKER_USER: 'u', DOCKER_PASSWORD: 'pw-1234' }, api: s.url, log: (l) => log.push(l) });
    expect(s.requests.map((r) => [r.method, r.path])).toEqual([['POST', '/v2/users/login'], ['PATCH', '/v2/repositories/acme/app/']]);
    expect(JSON.parse(s.requests[0]!.body)).toEqual({ username: 'u', password: 'pw-1234' });
    expect(s.requests[1]!.headers.authorization).toBe('JWT jwt-abc');
    expect(JSON.parse(s.requests[1]!.body)).toEqual({ full_description: '# hi' });
    expect(log.join('\n')).not.toContain('pw-1234');
  });

  it('Docker Hub: refuses a description over the limit before sending anything', async () => {
    const s = await startServer(() => ({ status: 200, body: { token: 't' } }));
    servers.push(s);
    const big = 'x'.repeat(DOCKERHUB_README_LIMIT + 1);
    await expect(DRIVERS.dockerhub.pushReadme!({ registry: reg('dockerhub'), repository: 'acme/app', content: big, env: { DOCKER_USER: 'u', DOCKER_PASSWORD: 'p-12345' }, api: s.url, log: () => {} })).rejects.toThrow(/25001 bytes; Docker Hub accepts at most 25000/);
    expect(s.requests).toEqual([]);
  });

  it('Quay: PUTs the description with the API token', async () => {
    const s = await startServer((r) => (r.method === 'PUT' && r.path === '/api/v1/repository/acme/app' ? { status: 200, body: {} } : undefined));
    servers.push(s);
    await DRIVERS.quay.pushReadme!({ registry: reg('quay'), repository: 'acme/app', content: 'd', env: { QUAY_API_TOKEN: 'tok-1234' }, api: s.url, log: () => {} });
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]!.headers.authorization).toBe('Bearer tok-1234');
    expect(JSON.parse(s.requests[0]!.body)).toEqual({ description: 'd' });
  });

  it('Harbor: PUTs the repository description with basic auth', async () => {
    const s = await startServer((r) => (r.method === 'PUT' && r.path === '/api/v2.0/projects/acme/repositories/app' ? { status: 200 } : undefined));
    servers.push(s);
    await DRIVERS.harbor.pushReadme!({ registry: reg('harbor'), repository: 'acme/app', content: 'd', env: { HARBOR_USER: 'h', HARBOR_PASSWORD: 'hp-1234' }, api: s.url, log: () => {} });
    expect(s.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('h:hp-1234').toString('base64')}`);
    expect(JSON.parse(s.requests[0]!.body)).toEqual({ description: 'd' });
  });

  it('a 401 is a clear failure, not retried', async () => {
    const s = await startServer(() => ({ status: 401, body: { detail: 'Incorrect authentication credentials' } }));
    servers.push(s);
    await expect(DRIVERS.dockerhub.pushReadme!({ registry: reg('dockerhub'), repository: 'acme/app', content: 'x', env: { DOCKER_USER: 'u', DOCKER_PASSWORD: 'p-12345' }, api: s.url, log: () => {} })).rejects.toThrow(WorkError);
    expect(s.requests).toHaveLength(1);
  });
});

describe('retries', () => {
  it('a merge retries the index push that raced its own manifest copies (400 on the index PUT), and no other 400', () => {
    // As buildx 0.13 printed it against the distribution registry, which logged MANIFEST_BLOB_UNKNOWN.
    const raced = 'ERROR: failed commit on ref "index-sha256:1e41419d4e73b41eeda5a965090509f2ed231aa3d4998f804b4489c2c6b472c4": unexpected status from PUT request to http://127.0.0.1:24776/v2/gs-mx3plbet/myapp/manifests/latest: 400 Bad Request';
    expect(indexPushRace(raced)).toBe(true);
    expect(retryableDockerError(raced)).toBe(false);
    // The other form of the same race: a platform manifest's copy, seen on the classic image store.
    expect(indexPushRace('ERROR: failed commit on ref "manifest-sha256:1e41419d4e73b41eeda5a965090509f2ed231aa3d4998f804b4489c2c6b472c4": unexpected status from PUT request to http://r/v2/x/manifests/t: 400 Bad Request')).toBe(true);
    // Not the race: a blob or config upload, another status, another verb.
    expect(indexPushRace('ERROR: failed commit on ref "layer-sha256:1e41419d4e73b41eeda5a965090509f2ed231aa3d4998f804b4489c2c6b472c4": unexpected status from PUT request to http://r/v2/x/blobs/uploads/u: 400 Bad Request')).toBe(false);
    expect(indexPushRace('ERROR: failed commit on ref "config-sha256:1e41419d4e73b41eeda5a965090509f2ed231aa3d4998f804b4489c2c6b472c4": unexpected status from PUT request to http://r/v2/x/blobs/uploads/u: 400 Bad Request')).toBe(false);
    expect(indexPushRace('ERROR: failed commit on ref "manifest-sha256:1e41419d4e73b41eeda5a965090509f2ed231aa3d4998f804b4489c2c6b472c4": unexpected status from PUT request to http://r/v2/x/manifests/t: 403 Forbidden')).toBe(false);
    // Where buildx prints the registry's answer, only the "not there yet" codes count.
    const with400 = (tail: string) => `ERROR: failed commit on ref "index-sha256:1e41419d4e73b41eeda5a965090509f2ed231aa3d4998f804b4489c2c6b472c4": unexpected status from PUT request to http://r/v2/x/manifests/t: 400 Bad Request${tail}`;
    expect(indexPushRace(with400(' {"errors":[{"code":"MANIFEST_BLOB_UNKNOWN"}]}'))).toBe(true);
    expect(indexPushRace(with400(': manifest blob unknown: blob unknown to registry'))).toBe(true);
    expect(indexPushRace(with400(' {"errors":[{"code":"MANIFEST_INVALID"}]}'))).toBe(false);
    expect(indexPushRace(with400(' {"errors":[{"code":"TAG_INVALID"}]}'))).toBe(false);
    expect(indexPushRace('ERROR: failed commit on ref "index-sha256:1e41419d4e73b41eeda5a965090509f2ed231aa3d4998f804b4489c2c6b472c4": unexpected status from PUT request to http://r/v2/x/manifests/t: 401 Unauthorized')).toBe(false);
  });

  it('retry 5xx and 429 with backoff, reporting each retry, then succeed', async () => {
    let n = 0;
    const s = await startServer(() => (++n <= 2 ? { status: n === 1 ? 503 : 429, body: {} } : { status: 200, body: { ok: true } }));
    servers.push(s);
    const log: string[] = [];
    const r = await requestJson('GET', `${s.url}/x`, { log: (l) => log.push(l), retry: { baseMs: 5 } });
    expect(r.json).toEqual({ ok: true });
    expect(s.requests).toHaveLength(3);
    expect(log).toHaveLength(2);
    expect(log[0]).toMatch(/^retry 1\/3 for GET .* in 5 ms: HTTP 503/);
    expect(log[1]).toMatch(/^retry 2\/3 .* in 10 ms: HTTP 429/);
  });

  it('give up after the bounded number of attempts', async () => {
    const s = await startServer(() => ({ status: 500, body: {} }));
    servers.push(s);
    await expect(requestJson('GET', `${s.url}/x`, { retry: { baseMs: 1, attempts: 3 } })).rejects.toThrow(/HTTP 500/);
    expect(s.requests).toHaveLength(3);
  });

  it('retry connection errors', async () => {
    const s = await startServer(() => ({ status: 200 }));
    const url = s.url;
    await s.close();
    const log: string[] = [];
    await expect(requestJson('GET', `${url}/x`, { log: (l) => log.push(l), retry: { baseMs: 1, attempts: 2 } })).rejects.toThrow(WorkError);
    expect(log).toHaveLength(1);
  });

  it('retry() waits exponentially and stops on non-retryable errors', async () => {
    const waits: number[] = [];
    let calls = 0;
    await expect(retry(async () => {
      calls++;
      throw new Error('boom');
    }, { what: 'x', retryable: () => true, attempts: 4, baseMs: 100, maxMs: 250, sleep: async (ms) => void waits.push(ms) })).rejects.toThrow('boom');
    expect(waits).toEqual([100, 200, 250]);
    expect(calls).toBe(4);
    calls = 0;
    await expect(retry(async () => {
      calls++;
      throw new Error('fatal');
    }, { what: 'x', retryable: () => false })).rejects.toThrow('fatal');
    expect(calls).toBe(1);
  });
});

describe('Redactor', () => {
  it('replaces every known secret, its URL and base64 forms, longest first; one under the minimum is left alone', () => {
    const r = new Redactor();
    r.add('abcdef');
    r.add('abcdefghij');
    expect(r.add('x')).toBe(false);
    expect(r.add('abcde')).toBe(false);
    expect(r.redact('abcdefghij abcdef ' + Buffer.from('abcdef').toString('base64') + ' abcde')).toBe('*** *** *** abcde');
    expect(r.redact('x is short and left alone')).toBe('x is short and left alone');
  });
});

describe('authenticate with a registry nothing says how to log in to', () => {
  it('skips it with a note (no docker login, exit 0), and still logs in to the ones with credentials', async () => {
    const { cli } = await import('../helpers/cli.ts');
    const { miniSpec, MINI_SPEC } = await import('../helpers/spec.ts');
    const { spyDocker } = await import('../helpers/spy-docker.ts');
    const { readFileSync, existsSync } = await import('node:fs');
    const yaml = MINI_SPEC.replace(
      'registries:\n',
      'registries:\n  local:\n    kind: generic\n    host: 127.0.0.1:5999\n    namespace: acme\n',
    );
    const { manifest, dir } = miniSpec({ 'manifest.yaml': yaml });
    const bin = spyDocker();
    const log = join(dir, 'spy.log');
    const env = { PATH: `${bin}:${process.env['PATH']}`, SPY_LOG: log, DOCKER_USER: 'acme', DOCKER_PASSWORD: 'hub-password-123' };
    const r = cli(['authenticate', manifest, '--registry', 'local'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toMatch(/registry local \(127\.0\.0\.1:5999\): no credentials configured .*skipped/);
    expect(r.stderr + r.stdout).not.toMatch(/no username; set +in/);
    expect(existsSync(log)).toBe(false);
    // Both: the anonymous one is skipped, the configured one logs in through docker.
    const both = cli(['authenticate', manifest], { env });
    expect(both.code, both.stderr).toBe(0);
    const argvs = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
    expect(argvs).toEqual([['docker', 'login', 'docker.io', '--username', 'acme', '--password-stdin']]);
  });
});
