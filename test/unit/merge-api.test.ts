// Merges through the registry API: the index bytes (core/buildx/oci-index.ts), the step the dry
// run prints and the real run executes (core/buildx/steps.ts), the token scopes a mount needs,
// and the mount / declined mount / copy decisions (registries/copy.ts, tasks/merge.ts), on the
// local fake registry where the real one cannot show the variant (a registry that does not
// mount, a blob cut off half-way, an index PUT refused).
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MEDIA } from '../../core/base/manifest.ts';
import { mergeArgvs, mergeIndex } from '../../core/buildx/invocation.ts';
import { ociIndex, type IndexSource } from '../../core/buildx/oci-index.ts';
import { indexAnnotations, ociLabels } from '../../core/buildx/oci-labels.ts';
import { formatStep, manifestSteps, type StepContext } from '../../core/buildx/steps.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import type { ManifestTask } from '../../core/plan/task.ts';
import { RepositoryCopier, SMALL_BLOB_BYTES } from '../../registries/copy.ts';
import { RegistryClient, RegistryError } from '../../registries/distribution.ts';
import { publishIndex } from '../../tasks/merge.ts';
import { restoreTags, tagStates } from '../../tasks/tag-rollback.ts';
import { startFakeRegistry, type FakeOptions, type FakeRegistry } from '../helpers/oci-registry.ts';
import { MINI_SPEC, miniSpec } from '../helpers/spec.ts';

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const d = (c: string) => `sha256:${c.repeat(64)}`;

const open: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function registry(o: Partial<FakeOptions> = {}): Promise<FakeRegistry> {
  const r = await startFakeRegistry({ auth: 'none', checkReferences: true, ...o });
  open.push(r);
  return r;
}

function client(): RegistryClient {
  const c = new RegistryClient({ credentials: async () => ({ username: 'u', password: 'pw-of-the-registry' }), retry: { baseMs: 1, maxMs: 5 } });
  open.push(c);
  return c;
}

/** An image with one layer in the fake registry; returns its manifest's digest and layer's. */
function image(reg: FakeRegistry, repo: string, tag: string, arch: string, layer = `layer of ${arch} ${tag}`): { digest: string; layer: string; config: string; body: string } {
  const config = JSON.stringify({ architecture: arch, os: 'linux', config: { Labels: {} } });
  const cd = reg.putBlob(repo, config);
  const ld = reg.putBlob(repo, layer);
  const body = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cd, size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: ld, size: Buffer.byteLength(layer) }] });
  return { digest: reg.putManifest(repo, tag, body, MEDIA.ociManifest), layer: ld, config: cd, body };
}

describe('the index bytes', () => {
  const a: IndexSource = { mediaType: MEDIA.ociManifest, digest: d('a'), size: 500, doc: { mediaType: MEDIA.ociManifest }, platform: { os: 'linux', architecture: 'amd64' } };
  const b: IndexSource = { mediaType: MEDIA.dockerManifest, digest: d('b'), size: 600, doc: { mediaType: MEDIA.dockerManifest }, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } };
  const attested: IndexSource = {
    mediaType: MEDIA.ociIndex,
    digest: d('c'),
    size: 900,
    doc: {
      mediaType: MEDIA.ociIndex,
      manifests: [
        { mediaType: MEDIA.ociManifest, digest: d('d'), size: 480, platform: { os: 'linux', architecture: 'arm64' } },
        { mediaType: MEDIA.ociManifest, digest: d('e'), size: 560, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': d('d') } },
      ],
    },
  };

  it('are canonical JSON: fixed key order, sorted annotations, no whitespace; the digest is theirs', () => {
    const built = ociIndex([a, b], { 'org.opencontainers.image.version': '1', 'org.opencontainers.image.title': 't' });
    expect(built.body.toString()).toBe(
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[' +
        `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"${d('a')}","size":500,"platform":{"architecture":"amd64","os":"linux"}},` +
        `{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"${d('b')}","size":600,"platform":{"architecture":"arm","os":"linux","variant":"v7"}}],` +
        '"annotations":{"org.opencontainers.image.title":"t","org.opencontainers.image.version":"1"}}',
    );
    expect(built.digest).toBe(sha(built.body.toString()));
    expect(built.mediaType).toBe(MEDIA.ociIndex);
  });

  it('are the same for the same inputs, whatever order the annotations come in', () => {
    const one = ociIndex([a, attested], { x: '1', y: '2' });
    const two = ociIndex([a, attested], { y: '2', x: '1' });
    expect(two.body.equals(one.body)).toBe(true);
    expect(two.digest).toBe(one.digest);
    expect(ociIndex([attested, a], { x: '1', y: '2' }).digest).not.toBe(one.digest);
  });

  it('a source index gives its entries, attestations with their reference annotations; an entry listed twice is kept once', () => {
    const built = ociIndex([a, attested, a], {});
    const doc = JSON.parse(built.body.toString()) as { manifests: { digest: string; annotations?: Record<string, string> }[]; annotations?: unknown };
    expect(doc.manifests.map((m) => m.digest)).toEqual([d('a'), d('d'), d('e')]);
    expect(doc.manifests[2]!.annotations).toEqual({ 'vnd.docker.reference.digest': d('d'), 'vnd.docker.reference.type': 'attestation-manifest' });
    expect(doc.annotations).toBeUndefined();
  });

  it('an entry that is not a descriptor is refused, not published', () => {
    const bad: IndexSource = { ...attested, doc: { mediaType: MEDIA.ociIndex, manifests: [{ digest: 'sha256:short', size: 1, mediaType: MEDIA.ociManifest }] } };
    expect(() => ociIndex([bad], {})).toThrow(/not a sha256 digest/);
    expect(() => ociIndex([], {})).toThrow(/no manifests/);
  });
});

describe('the index step', () => {
  const plan = loadPlan(miniSpec({ 'manifest.yaml': `${MINI_SPEC}labels:\n  org.opencontainers.image.licenses: MIT\n` }).manifest);
  const m = [...plan.tasks.values()].find((t): t is ManifestTask => t.kind === 'manifest')!;
  const ctx = (merge?: 'api' | 'imagetools'): StepContext => ({
    inv: { plan, packageDir: '/p', stagingRepo: 'reg.example/ns/mini-staging', mode: 'push', cacheExport: true, revision: 'abc', ...(merge ? { merge } : {}) },
    logDir: '/logs',
    image: (id) => `reg.example/ns/mini-staging:${id.replace(/[^a-z0-9]+/g, '-')}@${d('1')}`,
    hostArch: 'amd64',
  });

  it('is the default; imagetools gives the argv as before', () => {
    const [step] = manifestSteps(m, ctx());
    expect(step).toMatchObject({ kind: 'index', tags: m.refs });
    expect(manifestSteps(m, ctx('api'))).toEqual([step]);
    const argvs = manifestSteps(m, ctx('imagetools'));
    expect(argvs.every((s) => s.kind === 'exec')).toBe(true);
    expect(argvs.map((s) => (s.kind === 'exec' ? s.argv : []))).toEqual(mergeArgvs(m, m.builds.map(ctx().image), ctx().inv));
  });

  it('carries the same annotation values imagetools is given, and none for one source (copied as it is)', () => {
    const labels = ociLabels(plan.spec, { revision: 'abc' });
    const two = mergeIndex(m, ['s@sha256:1', 's@sha256:2'], { plan, revision: 'abc' });
    expect(Object.entries(two.annotations).map(([k, v]) => `index:${k}=${v}`)).toEqual(indexAnnotations(labels));
    expect(two.annotations['org.opencontainers.image.licenses']).toBe('MIT');
    expect(mergeIndex(m, ['s@sha256:1'], { plan, revision: 'abc' }).annotations).toEqual({});
  });

  it('prints what it does: a copy of one source, or a merge with its annotations', () => {
    expect(formatStep({ kind: 'index', sources: ['r/s@sha256:1'], tags: ['r/a:1', 'r/a:latest'], annotations: {} })).toBe('copy r/s@sha256:1 to r/a:1 r/a:latest, an image manifest as an index of one (registry API)');
    expect(formatStep({ kind: 'index', sources: ['r/s@sha256:1', '<build:x digest>'], tags: ['r/a:1'], annotations: { 'org.opencontainers.image.title': 'my app' } })).toBe(
      "merge r/s@sha256:1 '<build:x digest>' into an OCI index at r/a:1 annotated 'org.opencontainers.image.title=my app' (registry API)",
    );
  });
});

describe('a mount\'s token', () => {
  it('asks for push on the target and pull on the source, each as a scope parameter of its own', async () => {
    const reg = await registry({ auth: 'bearer' });
    const layer = reg.putBlob('ns/app-staging', 'some layer');
    const c = client();
    expect(await c.mountBlob(reg.host, 'ns/app', 'ns/app-staging', layer)).toEqual({ mounted: true });
    const token = reg.log.find((l) => l.path.startsWith('/token'))!;
    const q = new URL(token.path, 'http://x').searchParams;
    expect(q.getAll('scope')).toEqual(['repository:ns/app:pull,push', 'repository:ns/app-staging:pull']);
    expect(reg.hasBlob('ns/app', layer)).toBe(true);
  });
});

describe('making blobs present', () => {
  it('same host: one HEAD and one mount; a blob already there is only HEADed, and asked about once per run', async () => {
    const reg = await registry();
    const layer = reg.putBlob('ns/app-staging', 'layer bytes');
    const c = client();
    const copier = new RepositoryCopier(c);
    const from = { host: reg.host, repository: 'ns/app-staging' };
    const to = { host: reg.host, repository: 'ns/app' };
    expect(await copier.blob(from, to, { digest: layer, size: 11 })).toBe('mounted');
    expect(reg.log.map((l) => `${l.method} ${l.path.split('?')[0]}`)).toEqual([`HEAD /v2/ns/app/blobs/${layer}`, 'POST /v2/ns/app/blobs/uploads/']);
    expect(await copier.blob(from, to, { digest: layer, size: 11 })).toBe('mounted');
    expect(reg.log).toHaveLength(2);
    expect(await new RepositoryCopier(c).blob(from, to, { digest: layer, size: 11 })).toBe('present');
    expect(reg.log).toHaveLength(3);
  });

  it('a registry that answers the mount with 202 gets the bytes in the session it opened', async () => {
    const reg = await registry({ noMount: true });
    const layer = reg.putBlob('ns/app-staging', 'layer bytes');
    const lines: string[] = [];
    const outcome = await new RepositoryCopier(client()).blob({ host: reg.host, repository: 'ns/app-staging' }, { host: reg.host, repository: 'ns/app' }, { digest: layer, size: 11 }, (l) => lines.push(l));
    expect(outcome).toBe('copied');
    expect(reg.hasBlob('ns/app', layer)).toBe(true);
    const calls = reg.log.map((l) => `${l.method} ${l.path.split('?')[0]}`);
    // One POST (the declined mount), its session PUT: no second upload opened.
    expect(calls.filter((x) => x.startsWith('POST'))).toHaveLength(1);
    expect(calls).toContain(`GET /v2/ns/app-staging/blobs/${layer}`);
    expect(calls.at(-1)).toMatch(/^PUT \/v2\/ns\/app\/blobs\/uploads\/u\d+$/);
    expect(lines.join('\n')).toMatch(/did not mount .*HTTP 202.*copying/);
  });

  it('another host: small blobs through a bounded buffer, large ones streamed; no mount is asked', async () => {
    const src = await registry();
    const dst = await registry();
    const small = src.putBlob('ns/app-staging', 'small layer');
    const bigBody = 'x'.repeat(SMALL_BLOB_BYTES + 123);
    const big = src.putBlob('ns/app-staging', bigBody);
    const copier = new RepositoryCopier(client());
    const from = { host: src.host, repository: 'ns/app-staging' };
    const to = { host: dst.host, repository: 'ns/app' };
    expect(await copier.blob(from, to, { digest: small, size: 11 })).toBe('copied');
    expect(await copier.blob(from, to, { digest: big, size: bigBody.length })).toBe('copied');
    expect(dst.hasBlob('ns/app', small) && dst.hasBlob('ns/app', big)).toBe(true);
    expect(dst.log.some((l) => l.path.includes('mount='))).toBe(false);
  });

  it('a large copy may take longer than one request\'s deadline, as long as its bytes keep coming', async () => {
    const src = await registry({ dripMs: 120 });
    const dst = await registry();
    const body = 'v'.repeat(SMALL_BLOB_BYTES + 2 * (1 << 20));
    const big = src.putBlob('ns/app-staging', body);
    const c = new RegistryClient({ timeoutMs: 300, retry: { attempts: 1 } });
    open.push(c);
    const started = performance.now();
    expect(await new RepositoryCopier(c).blob({ host: src.host, repository: 'ns/app-staging' }, { host: dst.host, repository: 'ns/app' }, { digest: big, size: body.length })).toBe('copied');
    expect(performance.now() - started).toBeGreaterThan(600);
    expect(dst.hasBlob('ns/app', big)).toBe(true);
  });

  it('a stream cut off half-way is copied again from its first byte, in a new upload', async () => {
    const src = await registry();
    const dst = await registry();
    const body = 'y'.repeat(SMALL_BLOB_BYTES + 1000);
    const big = src.putBlob('ns/app-staging', body);
    src.cutBlobs(1);
    const lines: string[] = [];
    const copier = new RepositoryCopier(client(), { retryBaseMs: 1 });
    expect(await copier.blob({ host: src.host, repository: 'ns/app-staging' }, { host: dst.host, repository: 'ns/app' }, { digest: big, size: body.length }, (l) => lines.push(l))).toBe('copied');
    expect(dst.hasBlob('ns/app', big)).toBe(true);
    expect(dst.log.filter((l) => l.method === 'POST')).toHaveLength(2);
    expect(lines.join('\n')).toMatch(/retry 1\/2 for the copy of blob/);
  });

  it('one cut off every time fails the copy, saying which blob and where', async () => {
    const src = await registry();
    const dst = await registry();
    const body = 'z'.repeat(SMALL_BLOB_BYTES + 1000);
    const big = src.putBlob('ns/app-staging', body);
    src.cutBlobs(100);
    const copier = new RepositoryCopier(client(), { retryBaseMs: 1 });
    const e = await copier.blob({ host: src.host, repository: 'ns/app-staging' }, { host: dst.host, repository: 'ns/app' }, { digest: big, size: body.length }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as Error).message).toContain(`the copy of blob ${big} from ${src.host}/ns/app-staging to ${dst.host}/ns/app failed`);
    expect(dst.hasBlob('ns/app', big)).toBe(false);
  });
});

describe('publishing an index', () => {
  it('split: an OCI index of exactly the staged images, its children and blobs in the public repository before the tags', async () => {
    const reg = await registry();
    const amd = image(reg, 'ns/app-staging', 'amd', 'amd64');
    const arm = image(reg, 'ns/app-staging', 'arm', 'arm64');
    const step = { kind: 'index' as const, sources: [`${reg.host}/ns/app-staging:amd@${amd.digest}`, `${reg.host}/ns/app-staging:arm@${arm.digest}`], tags: [`${reg.host}/ns/app:1`, `${reg.host}/ns/app:latest`], annotations: { 'org.opencontainers.image.title': 'app' } };
    const out = await publishIndex(client(), step, () => {});
    expect(out.blobs).toEqual({ present: 0, mounted: 4, copied: 0 });
    expect(out.manifests).toBe(2);
    expect(reg.tagged('ns/app', '1')).toBe(out.digest);
    expect(reg.tagged('ns/app', 'latest')).toBe(out.digest);
    const index = JSON.parse(reg.manifestAt('ns/app', out.digest)!.body) as { mediaType: string; manifests: { digest: string; platform: { architecture: string } }[]; annotations: Record<string, string> };
    expect(index.mediaType).toBe(MEDIA.ociIndex);
    expect(index.manifests.map((m) => [m.digest, m.platform.architecture])).toEqual([[amd.digest, 'amd64'], [arm.digest, 'arm64']]);
    expect(index.annotations).toEqual({ 'org.opencontainers.image.title': 'app' });
    // Children by digest, then the tags: never an index naming what is not there yet.
    const puts = reg.log.filter((l) => l.method === 'PUT').map((l) => l.path);
    expect(puts.slice(-2)).toEqual(['/v2/ns/app/manifests/1', '/v2/ns/app/manifests/latest']);
    // The same step again publishes the same digest and copies nothing.
    const again = await publishIndex(client(), step, () => {});
    expect(again.digest).toBe(out.digest);
    expect(again.blobs).toEqual({ present: 4, mounted: 0, copied: 0 });
  });

  it('one source that is an index (attestations) is copied as it is: the tag keeps the build\'s digest', async () => {
    const reg = await registry();
    const img = image(reg, 'ns/app-staging', 'img', 'amd64');
    const att = image(reg, 'ns/app-staging', 'att', 'unknown', 'in-toto statement');
    const body = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [
      { mediaType: MEDIA.ociManifest, digest: img.digest, size: img.body.length, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: MEDIA.ociManifest, digest: att.digest, size: att.body.length, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': img.digest } },
    ] });
    const built = reg.putManifest('ns/app-staging', 'build', body, MEDIA.ociIndex);
    const out = await publishIndex(client(), { kind: 'index', sources: [`${reg.host}/ns/app-staging:build@${built}`], tags: [`${reg.host}/ns/app:1`], annotations: {} }, () => {});
    expect(out.digest).toBe(built);
    expect(reg.manifestAt('ns/app', built)!.body).toBe(body);
    expect(reg.manifestAt('ns/app', att.digest)).toBeDefined();
  });

  it('one source that is an image manifest (a split build of one platform) goes under an index of one naming its platform, as imagetools puts it', async () => {
    const reg = await registry();
    const img = image(reg, 'ns/app-staging', 'img', 'arm64');
    const out = await publishIndex(client(), { kind: 'index', sources: [`${reg.host}/ns/app-staging@${img.digest}`], tags: [`${reg.host}/ns/app:1`], annotations: {} }, () => {});
    expect(out.mediaType).toBe(MEDIA.ociIndex);
    expect(out.digest).not.toBe(img.digest);
    const index = JSON.parse(reg.manifestAt('ns/app', out.digest)!.body) as { manifests: { digest: string; platform: { architecture: string } }[] };
    expect(index.manifests.map((m) => [m.digest, m.platform.architecture])).toEqual([[img.digest, 'arm64']]);
    expect(reg.manifestAt('ns/app', img.digest)).toBeDefined();
  });

  it('several sources that are indexes contribute their entries, attestations and all', async () => {
    const reg = await registry();
    const indexOf = (arch: string) => {
      const img = image(reg, 'ns/s', `img-${arch}`, arch);
      const att = image(reg, 'ns/s', `att-${arch}`, 'unknown', `statement for ${arch}`);
      const body = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [
        { mediaType: MEDIA.ociManifest, digest: img.digest, size: img.body.length, platform: { os: 'linux', architecture: arch } },
        { mediaType: MEDIA.ociManifest, digest: att.digest, size: att.body.length, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': img.digest } },
      ] });
      return { digest: reg.putManifest('ns/s', arch, body, MEDIA.ociIndex), img: img.digest, att: att.digest };
    };
    const [a, b] = [indexOf('amd64'), indexOf('arm64')];
    const out = await publishIndex(client(), { kind: 'index', sources: [`${reg.host}/ns/s@${a.digest}`, `${reg.host}/ns/s@${b.digest}`], tags: [`${reg.host}/ns/app:1`], annotations: {} }, () => {});
    const index = JSON.parse(reg.manifestAt('ns/app', out.digest)!.body) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
    expect(index.manifests.map((m) => m.digest)).toEqual([a.img, a.att, b.img, b.att]);
    expect(index.manifests[1]!.annotations!['vnd.docker.reference.digest']).toBe(a.img);
    // The source indexes themselves are not published; every entry is.
    expect(reg.manifestAt('ns/app', a.digest)).toBeUndefined();
    for (const x of [a.img, a.att, b.img, b.att]) expect(reg.manifestAt('ns/app', x)).toBeDefined();
  });

  it('an index PUT refused half-way fails the merge; the tags it moved are put back', async () => {
    const reg = await registry();
    const old = image(reg, 'ns/app', 'was', 'amd64');
    reg.putManifest('ns/app', '1', old.body, MEDIA.ociManifest);
    reg.putManifest('ns/app', 'latest', old.body, MEDIA.ociManifest);
    const amd = image(reg, 'ns/app-staging', 'amd', 'amd64', 'new amd layer');
    const arm = image(reg, 'ns/app-staging', 'arm', 'arm64', 'new arm layer');
    reg.refuseManifest('latest', 403);
    const c = client();
    const tags = [`${reg.host}/ns/app:1`, `${reg.host}/ns/app:latest`];
    const before = await tagStates(c, tags);
    const e = await publishIndex(c, { kind: 'index', sources: [`${reg.host}/ns/app-staging@${amd.digest}`, `${reg.host}/ns/app-staging@${arm.digest}`], tags, annotations: {} }, () => {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as Error).message).toMatch(/manifests\/latest: HTTP 403/);
    expect(reg.tagged('ns/app', '1')).not.toBe(old.digest);
    expect(await restoreTags(c, before, () => {})).toBe(`put back: ${tags[0]}`);
    expect(reg.tagged('ns/app', '1')).toBe(old.digest);
    expect(reg.tagged('ns/app', 'latest')).toBe(old.digest);
  });

  it('a blob copy that fails moves no tag: tags are written only once everything is there', async () => {
    const src = await registry();
    const dst = await registry();
    const body = 'w'.repeat(SMALL_BLOB_BYTES + 10);
    const amd = image(src, 'ns/app-staging', 'amd', 'amd64', body);
    const arm = image(src, 'ns/app-staging', 'arm', 'arm64');
    src.cutBlobs(100);
    const e = await publishIndex(client(), { kind: 'index', sources: [`${src.host}/ns/app-staging@${amd.digest}`, `${src.host}/ns/app-staging@${arm.digest}`], tags: [`${dst.host}/ns/app:1`], annotations: {} }, () => {}, new RepositoryCopier(client(), { retryBaseMs: 1 })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect(dst.tagged('ns/app', '1')).toBeUndefined();
  });
});
