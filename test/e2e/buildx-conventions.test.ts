// What buildx users rely on, for real: layer caches (a build on the private engine writes the
// spec's registry cache under its axis-aware key; with that engine's build cache wiped, as on a
// fresh runner, the forced rebuild imports it and runs no step again), --metadata-file, and
// attestations from the spec (attached on the containerd engine, refused on the classic one).
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { docker, e2eEnv, e2eSpec, privateEngine, taskRows } from '../helpers/e2e.ts';
import { outputDoc } from '../helpers/output-schema.ts';
import { registryClient } from '../../tasks/registry.ts';

const e = e2eEnv();

describe('registry layer cache', () => {
  const ns = `cache-${Date.now().toString(36)}`;
  let spec: ReturnType<typeof e2eSpec>;
  const env = () => ({ DOCKER_HOST: e.privateEngine, E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password });
  const args = () => ['build', spec.manifest, '--releases', 'base', '--python-version', '3.11', '--platforms', 'linux/amd64', '--output', spec.generated, '--json'];

  beforeAll(() => {
    privateEngine('start');
    spec = e2eSpec(e, ns, 'offline');
    appendFileSync(spec.manifest, '  cache: { type: registry }\n');
    // A step no engine has built before: only the registry cache can make it CACHED.
    appendFileSync(join(spec.dir, 'templates', 'debian', 'base.Dockerfile.eta'), `RUN echo ${ns} > /etc/nonce\n`);
  });

  it('exports to the key of its distro, release, axis values and platform; a cold engine reuses it', async () => {
    const metadata = join(spec.dir, 'metadata.json');
    const first = cli([...args(), '--metadata-file', metadata], { env: env() });
    expect(first.code, first.stderr.slice(-2000)).toBe(0);
    const built = taskRows(first.stdout, first.stderr).find((x) => x.id === 'build:offline-app/bookworm/base/py3.11/amd64')!;
    expect(built.status).toBe('built');
    const key = 'cache-bookworm-base-3.11-amd64';
    // --metadata-file: the image, its public refs and digests, and the cache it wrote.
    const text = readFileSync(metadata, 'utf8');
    const meta = outputDoc<Record<string, { variant: string; refs: string[]; digest: string; status: string; platforms: Record<string, { digest: string; hash: string; cacheTo: string[] }> }>>(text, 'metadataFile');
    // bake's flat shape, read as bake users read it: a target's key, then bake's key names.
    const jq = (filter: string) => execFileSync('jq', ['-r', filter], { input: text, encoding: 'utf8' }).trim();
    const target = jq('to_entries[] | select(.value.variant == "bookworm/base/py3.11") | .key');
    expect(target).toMatch(/^bookworm_base_py3_11_[a-z0-9_]+$/);
    expect(jq(`.["${target}"]["image.name"]`)).toContain(`${e.registry}/${ns}/offline-app:base-python3.11-bookworm`);
    expect(jq(`.["${target}"].platforms["linux/amd64"].digest`)).toBe(built.digest);
    const image = meta[target]!;
    expect(image.refs).toContain(`${e.registry}/${ns}/offline-app:base-python3.11-bookworm`);
    // One platform of two was built: no index is published, and only that platform is listed.
    expect(image.status).toBeUndefined();
    expect(Object.keys(image.platforms)).toEqual(['linux/amd64']);
    expect(image.platforms['linux/amd64']).toMatchObject({ digest: built.digest, hash: built.hash, cacheTo: [`type=registry,ref=${e.registry}/${ns}/offline-app-staging:${key},mode=max`] });
    expect(readFileSync(built.log!, 'utf8')).toMatch(new RegExp(`exporting cache to registry|writing cache|preparing build cache for export`, 'i'));
    const client = registryClient({ log: () => {} });
    try {
      const tags = await client.tags(e.registry, `${ns}/offline-app-staging`);
      expect(tags).toContain(key);
    } finally {
      await client.close();
    }
    // A fresh runner: nothing in the engine's build cache. (Not the host engine: its BuildKit 0.8
    // reads this cache manifest but matches none of its steps, so it proves nothing there.)
    expect(docker(['builder', 'prune', '--all', '--force'], { env: { DOCKER_HOST: e.privateEngine } }).code).toBe(0);
    const again = cli([...args(), '--force'], { env: env() });
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    const rebuilt = taskRows(again.stdout, again.stderr).find((x) => x.id === built.id)!;
    expect(rebuilt.status).toBe('built');
    const log = readFileSync(rebuilt.log!, 'utf8');
    expect(log).toContain(`importing cache manifest from ${e.registry}/${ns}/offline-app-staging:${key}`);
    // The step only the other engine ran came from the imported cache, not from running it again.
    expect(log).toMatch(new RegExp(`#\\d+ \\[\\d+/\\d+\\] RUN echo ${ns} > /etc/nonce\\n#\\d+ CACHED`));
  });
});

describe('attestations from the spec', () => {
  const ns = `attest-${Date.now().toString(36)}`;
  const one = ['--releases', 'base', '--python-version', '3.11', '--platforms', 'linux/amd64', '--json'];

  beforeAll(() => privateEngine('start'));

  it('build.attest: provenance max is attached on the containerd engine; --provenance false overrides it', () => {
    const spec = e2eSpec(e, ns, 'offline');
    appendFileSync(spec.manifest, '  attest: { provenance: max }\n');
    const env = { DOCKER_HOST: e.privateEngine, E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password };
    const r = cli(['build', spec.manifest, ...one, '--output', spec.generated], { env });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const built = taskRows(r.stdout, r.stderr).find((x) => x.id === 'build:offline-app/bookworm/base/py3.11/amd64')!;
    const index = JSON.parse(docker(['buildx', 'imagetools', 'inspect', '--raw', built.ref!]).stdout) as { mediaType: string; manifests: { annotations?: Record<string, string> }[] };
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.some((m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest')).toBe(true);
    expect(readFileSync(built.log!, 'utf8')).toMatch(/--provenance=mode=max/);
    // The command line wins: no attestation, so the staged image is a plain manifest.
    const off = e2eSpec(e, `${ns}-off`, 'offline');
    appendFileSync(off.manifest, '  attest: { provenance: max }\n');
    const r2 = cli(['build', off.manifest, ...one, '--output', off.generated, '--provenance', 'false'], { env });
    expect(r2.code, r2.stderr.slice(-2000)).toBe(0);
    const plain = taskRows(r2.stdout, r2.stderr).find((x) => x.id === built.id)!;
    const doc = JSON.parse(docker(['buildx', 'imagetools', 'inspect', '--raw', plain.ref!]).stdout) as { mediaType: string };
    expect(doc.mediaType).toMatch(/^application\/vnd\.(oci\.image\.manifest\.v1|docker\.distribution\.manifest\.v2)\+json$/);
  });

  it('refused before anything runs on the classic engine, saying why and what to do', () => {
    const spec = e2eSpec(e, `${ns}-classic`, 'offline');
    appendFileSync(spec.manifest, '  attest: { sbom: true }\n');
    const r = cli(['build', spec.manifest, ...one, '--output', spec.generated], { env: { E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password } });
    expect(r.code).toBe(2);
    expect(outputDoc<{ error: { message: string } }>(r.stdout, 'error').error.message).toMatch(/builder "default" \(driver docker, classic image store, BuildKit .*\) cannot attach attestations \(sbom true\): use a docker-container builder/);
    expect(existsSync(join(spec.generated, 'offline-app', '.logs'))).toBe(false);
  });
});
