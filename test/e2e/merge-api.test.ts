// Merges through the registry API, on the real registry: a split build's public tags are OCI
// indexes whose entries are exactly the staged images, in a repository other than the staging
// one, their blobs mounted there; and with the staging repository addressed as localhost and
// the public one as 127.0.0.1 (one registry, two hosts to the client), the blobs are copied.
import { readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { parseImageRef } from '../../core/base/image-ref.ts';
import { MEDIA } from '../../core/base/manifest.ts';
import { registryClient } from '../../tasks/registry.ts';
import { cli } from '../helpers/cli.ts';
import { e2eEnv, e2eSpec, removeLocalImages, taskRows, type TaskRow } from '../helpers/e2e.ts';

const env = e2eEnv();
const creds = { E2E_REGISTRY_USER: env.user, E2E_REGISTRY_PASSWORD: env.password };

interface Index {
  mediaType: string;
  manifests: { digest: string; platform?: { architecture: string } }[];
  annotations?: Record<string, string>;
}

async function indexAt(ref: string): Promise<{ digest: string; doc: Index }> {
  const c = registryClient();
  try {
    const m = await c.manifest(parseImageRef(ref));
    expect(m, ref).toBeDefined();
    return { digest: m!.digest, doc: m!.doc as Index };
  } finally {
    await c.close();
  }
}

function merged(rows: TaskRow[], id: string): { row: TaskRow; log: string } {
  const row = rows.find((r) => r.id === id)!;
  expect(row.status, JSON.stringify(row)).toBe('ran');
  return { row, log: readFileSync(row.log!, 'utf8') };
}

const BUILDS = ['build:offline-app/bookworm/base/py3.11/amd64', 'build:offline-app/bookworm/base/py3.11/arm64v8'];
const MANIFEST = 'manifest:offline-app/bookworm/base/py3.11';

describe('merges through the registry API', () => {
  const ns = `mergeapi-${Date.now().toString(36)}`;
  const dirs: string[] = [];
  let loggedIn = false;
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (loggedIn) spawnSync('docker', ['logout', `localhost:${env.registry.split(':')[1]}`]);
    removeLocalImages(ns);
    removeLocalImages(`${ns}-x`);
  });

  it('split: the public tag is an OCI index of exactly the staged images, its blobs mounted from the staging repository', async () => {
    const s = e2eSpec(env, ns, 'offline');
    dirs.push(s.dir);
    const dry = cli(['build', s.manifest, '--releases', 'base', '--python-version', '3.11', '--multi-platform', 'split', '--output', s.generated, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`^ +merge .* into an OCI index at ${env.registry.replace(/[.]/g, '\\.')}/${ns}/offline-app:base-python3\\.11-bookworm annotated .*\\(registry API\\)$`, 'm'));

    const r = cli(['build', s.manifest, '--releases', 'base', '--python-version', '3.11', '--multi-platform', 'split', '--output', s.generated, '--json'], { env: creds });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const rows = taskRows(r.stdout, r.stderr);
    const staged = BUILDS.map((id) => rows.find((x) => x.id === id)!);
    for (const b of staged) expect(b.ref).toContain(`${env.registry}/${ns}/offline-app-staging:`);
    const { row, log } = merged(rows, MANIFEST);

    const pub = await indexAt(`${env.registry}/${ns}/offline-app:base-python3.11-bookworm`);
    expect(pub.doc.mediaType).toBe(MEDIA.ociIndex);
    expect(pub.digest).toBe(row.digest);
    expect(pub.doc.manifests.map((m) => m.digest).sort()).toEqual(staged.map((b) => b.digest!).sort());
    expect(pub.doc.manifests.map((m) => m.platform?.architecture).sort()).toEqual(['amd64', 'arm64']);
    expect(pub.doc.annotations).toMatchObject({ 'org.opencontainers.image.title': 'offline-app', 'org.opencontainers.image.version': '0.0.2' });
    // Every blob came by mount: nothing was copied into the fresh public repository.
    expect(log).toMatch(/mounted blob sha256:/);
    expect(log).toMatch(/blobs [1-9]\d* mounted, 0 copied/);
    expect(log).not.toMatch(/imagetools/);
  });

  it('the staging repository on another host name of the same registry: the blobs are copied', async () => {
    const port = env.registry.split(':')[1]!;
    const login = spawnSync('docker', ['login', `localhost:${port}`, '-u', env.user, '--password-stdin'], { input: env.password, encoding: 'utf8' });
    expect(login.status, login.stderr).toBe(0);
    loggedIn = true;
    const s = e2eSpec(env, `${ns}-x`, 'offline');
    dirs.push(s.dir);
    const staging = `localhost:${port}/${ns}-x/offline-app-staging`;
    const r = cli(['build', s.manifest, '--releases', 'base', '--python-version', '3.11', '--multi-platform', 'split', '--staging-repository', staging, '--output', s.generated, '--json'], { env: creds });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const rows = taskRows(r.stdout, r.stderr);
    const staged = BUILDS.map((id) => rows.find((x) => x.id === id)!);
    for (const b of staged) expect(b.ref).toContain(`${staging}:`);
    const { log } = merged(rows, MANIFEST);
    const pub = await indexAt(`${env.registry}/${ns}-x/offline-app:base-python3.11-bookworm`);
    expect(pub.doc.mediaType).toBe(MEDIA.ociIndex);
    expect(pub.doc.manifests.map((m) => m.digest).sort()).toEqual(staged.map((b) => b.digest!).sort());
    expect(log).toMatch(/copied blob sha256:\w+ \(\d+ bytes\) from localhost:/);
    expect(log).toMatch(/blobs 0 mounted, [1-9]\d* copied/);
    expect(log).not.toMatch(/mounted blob/);
  });
});
