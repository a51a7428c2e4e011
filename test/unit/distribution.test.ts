// The registry client against a local server speaking the OCI distribution API (Docker Hub's
// bearer-token flow cannot be reached from here; the e2e tier uses the real CNCF registry).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseImageRef } from '../../core/base/image-ref.ts';
import { redactor } from '../../core/base/redact.ts';
import { RegistryClient, RegistryError, parseChallenge } from '../../registries/distribution.ts';
import { DockerCredentials } from '../../registries/docker-config.ts';
import { labelledImage, resolveImage } from '../../registries/images.ts';
import { fakeImage, startFakeRegistry, type FakeRegistry } from '../helpers/oci-registry.ts';
import { tempDir } from '../helpers/spec.ts';

const open: (FakeRegistry | RegistryClient)[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function registry(o: Parameters<typeof startFakeRegistry>[0]): Promise<FakeRegistry> {
  const r = await startFakeRegistry(o);
  open.push(r);
  return r;
}

function client(creds?: { username: string; password: string }, extra: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  const c = new RegistryClient({ credentials: async () => creds, retry: { baseMs: 1, maxMs: 5 }, ...extra });
  open.push(c);
  return c;
}

describe('registry client', () => {
  it('follows the bearer-token flow once per scope and reuses the token', async () => {
    const reg = await registry({ auth: 'bearer', user: 'u', password: 'secret-pw' });
    const d = fakeImage(reg, 'acme/app', 'v1', { labels: { k: 'v' } });
    const c = client({ username: 'u', password: 'secret-pw' });
    const m = await c.manifest(parseImageRef(`${reg.host}/acme/app:v1`));
    expect(m?.digest).toBe(d);
    await c.manifest(parseImageRef(`${reg.host}/acme/app:v1`));
    const tokenCalls = reg.log.filter((l) => l.path.startsWith('/token'));
    expect(tokenCalls).toHaveLength(1);
    expect(tokenCalls[0]!.path).toContain('scope=repository%3Aacme%2Fapp%3Apull');
    expect(tokenCalls[0]!.auth).toBe(`Basic ${Buffer.from('u:secret-pw').toString('base64')}`);
    // The second lookup went straight in with the token: no second challenge.
    expect(reg.log.filter((l) => l.path === '/v2/acme/app/manifests/v1').map((l) => (l.auth ?? 'none').split(' ')[0])).toEqual(['none', 'Bearer', 'Bearer']);
  });

  it('asks anonymously when there are no credentials, as for public images', async () => {
    const reg = await registry({ auth: 'bearer' });
    fakeImage(reg, 'library/python', '3.12');
    const m = await client(undefined).manifest(parseImageRef(`${reg.host}/library/python:3.12`));
    expect(m).toBeDefined();
    expect(reg.log.find((l) => l.path.startsWith('/token'))!.auth).toBeUndefined();
  });

  it('sends Basic up front once a host asked for it; a refused login is an error that says so', async () => {
    const reg = await registry({ auth: 'basic', user: 'u', password: 'pw-1234' });
    fakeImage(reg, 'a/b', 't');
    const c = client({ username: 'u', password: 'pw-1234' });
    await c.manifest(parseImageRef(`${reg.host}/a/b:t`));
    await c.manifest(parseImageRef(`${reg.host}/a/b:t`));
    expect(reg.log.map((l) => (l.auth ?? 'none').split(' ')[0])).toEqual(['none', 'Basic', 'Basic']);
    const bad = client({ username: 'u', password: 'wrong-pw' });
    const e = await bad.manifest(parseImageRef(`${reg.host}/a/b:t`)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).message).toMatch(/HTTP 401 UNAUTHORIZED.*credentials for 127\.0\.0\.1:\d+ were refused/);
    expect((e as RegistryError).info.transient).toBe(false);
    const none = await client(undefined).manifest(parseImageRef(`${reg.host}/a/b:t`)).catch((x: unknown) => x);
    expect((none as Error).message).toMatch(/were not found; log in with `manager authenticate`/);
  });

  it('absent is undefined, not an error; a failure after retries is an error, never "absent"', async () => {
    const reg = await registry({ auth: 'none' });
    const c = client();
    expect(await c.manifest(parseImageRef(`${reg.host}/a/b:nope`))).toBeUndefined();
    reg.failNext(10);
    const quick = client(undefined, { retry: { sleep: async () => {} } });
    const e = await quick.manifest(parseImageRef(`${reg.host}/a/b:nope`)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).message).toMatch(/HTTP 503 UNAVAILABLE/);
    expect(reg.log.filter((l) => l.path.endsWith('nope'))).toHaveLength(1 + 4);
  });

  it('retries 429 and 5xx, waiting as long as Retry-After asks', async () => {
    const reg = await registry({ auth: 'none' });
    fakeImage(reg, 'a/b', 't');
    reg.failNext(2, 429);
    const lines: string[] = [];
    const waits: number[] = [];
    const c = client(undefined, { log: (l) => lines.push(l), retry: { baseMs: 1, maxMs: 5, sleep: async (ms) => void waits.push(ms) } });
    expect(await c.manifest(parseImageRef(`${reg.host}/a/b:t`))).toBeDefined();
    expect(waits).toEqual([1000, 1000]);
    expect(lines[0]).toMatch(/^retry 1\/3 for GET 127\.0\.0\.1:\d+\/v2\/a\/b\/manifests\/t in 1000 ms \(as the server asked\): .*HTTP 429 TOOMANYREQUESTS/);
  });

  it('a refused connection is retried, then reported with its cause', async () => {
    const c = client();
    const e = await c.manifest(parseImageRef('127.0.0.1:9/a/b:t')).catch((x: unknown) => x);
    expect((e as RegistryError).message).toMatch(/ECONNREFUSED/);
    expect((e as RegistryError).info.transient).toBe(true);
  });

  it('follows blob redirects to another host without sending it the credentials', async () => {
    const store = await registry({ auth: 'none' });
    const reg = await registry({ auth: 'basic', user: 'u', password: 'pw-5678', blobRedirect: store.url });
    const config = JSON.stringify({ os: 'linux', architecture: 'arm64', config: { Labels: { h: '1' } } });
    const cd = store.putBlob('a/b', config);
    reg.putBlob('a/b', config);
    reg.putManifest('a/b', 't', JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: cd, size: 1 }, layers: [] }), 'application/vnd.oci.image.manifest.v1+json');
    const c = client({ username: 'u', password: 'pw-5678' });
    const img = await labelledImage(c, `${reg.host}/a/b:t`);
    expect(img?.labels).toEqual([{ h: '1' }]);
    expect(store.log.every((l) => l.auth === undefined)).toBe(true);
  });

  it('reads labels per platform of an index, leaving attestations out, and resolves platforms', async () => {
    const reg = await registry({ auth: 'none' });
    const a = fakeImage(reg, 'a/b', 'x-amd64', { labels: { hash: 'h1' }, arch: 'amd64' });
    const b = fakeImage(reg, 'a/b', 'x-arm64', { labels: { hash: 'h1' }, arch: 'arm64' });
    const idx = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { digest: a, size: 1, platform: { os: 'linux', architecture: 'amd64' } },
        { digest: b, size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { digest: a, size: 1, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
      ],
    });
    const id = reg.putManifest('a/b', 'x', idx, 'application/vnd.oci.image.index.v1+json');
    const c = client();
    const img = await labelledImage(c, `${reg.host}/a/b:x`);
    expect(img?.info).toEqual({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: id, platforms: { 'linux/amd64': a, 'linux/arm64': b } });
    expect(img?.labels).toEqual([{ hash: 'h1' }, { hash: 'h1' }]);
    expect(await resolveImage(c, `${reg.host}/a/b:x`)).toEqual({ digest: id, platforms: { 'linux/amd64': a, 'linux/arm64': b } });
    // A single image answers for its own platform, read from its config.
    expect(await resolveImage(c, `${reg.host}/a/b:x-arm64`)).toEqual({ digest: b, platforms: { 'linux/arm64': b } });
  });

  it('refuses content whose digest is not the one asked for', async () => {
    const reg = await registry({ auth: 'none' });
    const d = fakeImage(reg, 'a/b', 't');
    expect((await client().manifest({ host: reg.host, repository: 'a/b', digest: d }))?.digest).toBe(d);
    reg.corrupt('a/b', d, '{"schemaVersion":2,"layers":[]}');
    await expect(client().manifest({ host: reg.host, repository: 'a/b', digest: d })).rejects.toThrow(/returned content with digest sha256:/);
  });

  it('lists every tag across pages, puts, and deletes; a registry without DELETE says so', async () => {
    const reg = await registry({ auth: 'none', tagsPageSize: 2 });
    for (const t of ['a', 'b', 'c', 'd', 'e']) fakeImage(reg, 'x/y', t, { labels: { t } });
    const c = client();
    expect(await c.tags(reg.host, 'x/y')).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await c.tags(reg.host, 'x/none')).toEqual([]);
    const m = (await c.manifest(parseImageRef(`${reg.host}/x/y:a`)))!;
    expect(await c.putManifest(reg.host, 'x/y', 'copy', m.mediaType, m.body)).toBe(m.digest);
    expect((await c.head(parseImageRef(`${reg.host}/x/y:copy`)))?.digest).toBe(m.digest);
    expect(await c.deleteManifest(reg.host, 'x/y', m.digest)).toBe('deleted');
    expect(await c.tags(reg.host, 'x/y')).toEqual(['b', 'c', 'd', 'e']);
    const hub = await registry({ auth: 'none', noDelete: true });
    const d = fakeImage(hub, 'x/y', 'a');
    expect(await client().deleteManifest(hub.host, 'x/y', d)).toBe('unsupported');
  });

  it('bounds concurrency: never more requests on the wire than allowed, however many callers', async () => {
    const reg = await registry({ auth: 'none', delayMs: 20 });
    for (let i = 0; i < 20; i++) fakeImage(reg, 'a/b', `t${i}`);
    const c = client(undefined, { concurrency: 3 });
    const found = await Promise.all(Array.from({ length: 20 }, (_, i) => c.manifest(parseImageRef(`${reg.host}/a/b:t${i}`))));
    expect(found.every(Boolean)).toBe(true);
    expect(reg.peak()).toBe(3);
    expect(c.requests).toBe(20);
  });

  it('parses Bearer and Basic challenges', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull"')).toEqual({ scheme: 'bearer', realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/python:pull' });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic' });
    expect(parseChallenge('Bearer service="x"')).toBeUndefined();
    expect(parseChallenge(undefined)).toBeUndefined();
  });
});

describe('docker credentials', () => {
  it('reads auths (base64 user:password), Hub aliases, identity tokens, and registers secrets for redaction', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      auths: {
        'r.example:5000': { auth: Buffer.from('me:pa:ss-word').toString('base64') },
        'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hub-secret').toString('base64') },
        'ghcr.io': { identitytoken: 'refresh-token-xyz' },
      },
    }));
    const c = new DockerCredentials(undefined, dir);
    expect(await c.get('r.example:5000')).toEqual({ username: 'me', password: 'pa:ss-word' });
    expect(await c.get('docker.io')).toEqual({ username: 'hubuser', password: 'hub-secret' });
    expect(await c.get('ghcr.io')).toEqual({ identityToken: 'refresh-token-xyz' });
    expect(await c.get('nowhere.example')).toBeUndefined();
    expect(redactor.redact('hub-secret and pa:ss-word')).toBe('*** and ***');
  });

  it('asks the credential helper the config names (credHelpers before credsStore), through the given runner', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ credsStore: 'desktop', credHelpers: { 'gcr.io': 'gcloud' }, auths: { 'quay.io': {} } }));
    const asked: string[] = [];
    const c = new DockerCredentials(async (helper, server) => {
      asked.push(`${helper} ${server}`);
      return helper === 'gcloud' ? { Username: '_token', Secret: 'gcloud-secret-1' } : { Username: '<token>', Secret: 'desktop-refresh-1' };
    }, dir);
    expect(await c.get('gcr.io')).toEqual({ username: '_token', password: 'gcloud-secret-1' });
    expect(await c.get('quay.io')).toEqual({ identityToken: 'desktop-refresh-1' });
    expect(await c.get('docker.io')).toEqual({ identityToken: 'desktop-refresh-1' });
    expect(asked).toEqual(['gcloud gcr.io', 'desktop quay.io', 'desktop https://index.docker.io/v1/']);
  });
});
