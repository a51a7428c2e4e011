// Publication records: what a finished run leaves in the registry, read back by a machine
// with no state file (against a local server speaking the distribution API).
import { afterEach, describe, expect, it } from 'vitest';
import { decide } from '../../core/plan/decide.ts';
import { MEDIA } from '../../core/base/manifest.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import { readRecord, recordManifest, testsHash, type Publication } from '../../core/plan/publication.ts';
import { publicationTag, stagingRef, summaryTag } from '../../core/plan/staging.ts';
import type { BuildTask, ManifestTask, Task } from '../../core/plan/task.ts';
import { RegistryClient } from '../../registries/distribution.ts';
import { FactFinder } from '../../tasks/facts.ts';
import { startFakeRegistry, type FakeRegistry } from '../helpers/oci-registry.ts';
import { miniSpec } from '../helpers/spec.ts';

const open: (FakeRegistry | RegistryClient)[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

const D = (c: string) => `sha256:${c.repeat(64)}`;

async function setup() {
  const { manifest } = miniSpec();
  const plan = loadPlan(manifest);
  const reg = await startFakeRegistry({ auth: 'none' });
  const client = new RegistryClient({ retry: { baseMs: 1 } });
  open.push(reg, client);
  const staging = `${reg.host}/acme/mini-staging`;
  const finder = new FactFinder(plan, { version: 1, tasks: {} }, '', { client, stagingRepo: staging });
  const m = plan.tasks.get('manifest:mini/deb/base/py3.10') as ManifestTask;
  return { plan, reg, client, staging, finder, m };
}

function put(reg: FakeRegistry, m: ManifestTask, p: Publication): void {
  reg.putManifest('acme/mini-staging', publicationTag(m), recordManifest(p, '2026-11-30T00:00:00Z').toString(), MEDIA.ociManifest);
}

describe('publication records', () => {
  it('round-trip, and anything else reads as no record', () => {
    const p: Publication = { manifest: 'h', tests: 't', builds: { a: D('1') }, published: D('2') };
    const doc = JSON.parse(recordManifest(p, '2026-01-01T00:00:00Z').toString()) as { annotations: Record<string, string> };
    expect(readRecord(doc)).toEqual(p);
    expect(doc.annotations['org.opencontainers.image.created']).toBe('2026-01-01T00:00:00Z');
    expect(readRecord({ annotations: { 'org.image-matrix.publication': '{"manifest": 1}' } })).toBeUndefined();
    expect(readRecord({ annotations: { 'org.image-matrix.publication': 'not json' } })).toBeUndefined();
    expect(readRecord({})).toBeUndefined();
  });

  it('one lookup tells a fresh machine each build\'s staged image and that the tags are published', async () => {
    const { plan, reg, staging, finder, m } = await setup();
    const builds = Object.fromEntries(m.builds.map((id, i) => [id, D(String(i + 1))]));
    put(reg, m, { manifest: m.hash.value, tests: testsHash(m, plan.tasks), builds, published: D('9') });
    const b = plan.tasks.get(m.builds[0]!) as BuildTask;
    const fact = await finder.fromRegistry(b, () => undefined);
    expect(fact).toEqual({ state: 'present', via: 'record', ref: `${stagingRef(staging, b)}@${D('1')}`, digest: D('1') });
    expect(decide(b, { registry: fact }).reason).toBe("unchanged: published from this hash (the registry's record of the last run)");
    expect(await finder.fromRegistry(m, () => undefined)).toEqual({ state: 'present', via: 'record', digest: D('9') });
    const other = plan.tasks.get(m.builds[1]!) as Task;
    expect(await finder.fromRegistry(other, () => undefined)).toMatchObject({ state: 'present', digest: D('2') });
    // Both builds and the manifest: the package's summary (there is none), then one request for the record, nothing else.
    expect(reg.log.map((l) => l.path)).toEqual([`/v2/acme/mini-staging/manifests/${summaryTag('mini')}`, `/v2/acme/mini-staging/manifests/${publicationTag(m)}`]);
  });

  it('a record of another hash (the tags or builds changed since) is not evidence: the images are checked', async () => {
    const { reg, finder, m, plan } = await setup();
    put(reg, m, { manifest: 'f'.repeat(64), tests: '', builds: Object.fromEntries(m.builds.map((id) => [id, D('1')])), published: D('9') });
    expect(await finder.fromRegistry(plan.tasks.get(m.builds[0]!)!, () => undefined)).toEqual({ state: 'absent' });
    expect(reg.log.map((l) => l.path).slice(-1)[0]).toMatch(/manifests\/build-amd64-[0-9a-f]{32}$/);
  });
});
