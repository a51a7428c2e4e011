// The publication summary: a fresh runner learns a whole family in a constant number of
// requests, believes an entry only for the exact hash it names, falls back to the per-image
// record for what the summary lacks (stale, missing, corrupt, unreadable, lost in a race), and
// writers merge rather than overwrite. Against a local server speaking the distribution API.
import { afterEach, describe, expect, it } from 'vitest';
import { MEDIA } from '../../core/base/manifest.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import { mergeSummary, readSummaryBlob, recordManifest, summaryBlob, summaryLookup, summaryManifest, testsHash, type Publication, type Summary, type SummaryEntry } from '../../core/plan/publication.ts';
import { STAGING_TAG_RE, publicationTag, summaryTag } from '../../core/plan/staging.ts';
import type { Plan } from '../../core/plan/plan.ts';
import type { ManifestTask } from '../../core/plan/task.ts';
import { RegistryClient } from '../../registries/distribution.ts';
import { FactFinder } from '../../tasks/facts.ts';
import { prune } from '../../tasks/prune.ts';
import { SummaryWriter, readSummary, writeSummary } from '../../tasks/summary.ts';
import { fakeImage, startFakeRegistry, type FakeRegistry } from '../helpers/oci-registry.ts';
import { MINI_SPEC, miniSpec } from '../helpers/spec.ts';

const open: (FakeRegistry | RegistryClient)[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

const D = (c: string) => `sha256:${c.repeat(64)}`;
const REPO = 'acme/mini-staging';
const T0 = '2026-11-30T00:00:00.000Z';
const T1 = '2026-12-01T00:00:00.000Z';

async function setup(o: { delayMs?: number } = {}, attempts = 4) {
  const { manifest } = miniSpec();
  const plan = loadPlan(manifest);
  const reg = await startFakeRegistry({ auth: 'basic', user: 'u', password: 'p', ...o });
  const client = new RegistryClient({ credentials: async () => ({ username: 'u', password: 'p' }), retry: { baseMs: 1, maxMs: 2, attempts } });
  open.push(reg, client);
  const staging = `${reg.host}/${REPO}`;
  const finder = () => new FactFinder(plan, { version: 1, tasks: {} }, '', { client, stagingRepo: staging });
  const manifests = [...plan.tasks.values()].filter((t): t is ManifestTask => t.kind === 'manifest');
  return { plan, reg, client, staging, finder, manifests };
}

function entryOf(plan: Plan, m: ManifestTask, at = T0, hash = m.hash.value): SummaryEntry {
  return { manifest: hash, tests: testsHash(m, plan.tasks), builds: Object.fromEntries(m.builds.map((id, i) => [id, D(String(i + 1))])), published: D('9'), at };
}

/** Puts a summary the way a writer leaves it, straight into the fake registry. */
function putSummary(reg: FakeRegistry, s: Summary, blob = summaryBlob(s)): void {
  const digest = reg.putBlob(REPO, blob.toString());
  reg.putManifest(REPO, summaryTag(s.package), summaryManifest({ digest, size: blob.length }, T0).toString(), MEDIA.ociManifest);
}

function putRecord(reg: FakeRegistry, m: ManifestTask, p: Publication, created = T0): void {
  reg.putManifest(REPO, publicationTag(m), recordManifest(p, created).toString(), MEDIA.ociManifest);
}

/** Decides every build, test and manifest of the plan from the registry alone. */
async function allFacts(plan: Plan, f: FactFinder) {
  const out: Record<string, string> = {};
  await Promise.all([...plan.tasks.values()].filter((t) => t.kind === 'build' || t.kind === 'test' || t.kind === 'manifest').map(async (t) => {
    const fact = await f.fromRegistry(t, () => undefined);
    out[t.id] = fact.state === 'present' ? `present${fact.via ? ` via ${fact.via}` : ''}` : fact.state;
  }));
  return out;
}

describe('publication summary: the bytes', () => {
  it('round-trips canonically; a malformed entry is dropped alone; anything else malformed is no summary', () => {
    const e: SummaryEntry = { manifest: 'h', tests: 't', builds: { b: D('1') }, published: D('2'), at: T0 };
    const s: Summary = { package: 'mini', entries: { 'manifest:z': e, 'manifest:a': e } };
    expect(readSummaryBlob(summaryBlob(s), 'mini')).toEqual(s);
    expect(summaryBlob(s).equals(summaryBlob({ package: 'mini', entries: { 'manifest:a': e, 'manifest:z': e } }))).toBe(true);
    const bad = JSON.parse(summaryBlob(s).toString()) as { entries: Record<string, unknown> };
    bad.entries['manifest:z'] = { ...e, builds: { b: 'not-a-digest' } };
    expect(readSummaryBlob(Buffer.from(JSON.stringify(bad)), 'mini')!.entries).toEqual({ 'manifest:a': e });
    expect(readSummaryBlob(summaryBlob(s), 'other')).toBeUndefined();
    expect(readSummaryBlob(Buffer.from('{"format": 2, "package": "mini", "entries": {}}'), 'mini')).toBeUndefined();
    expect(readSummaryBlob(Buffer.from('not json'), 'mini')).toBeUndefined();
  });

  it('merging keeps another run\'s entries and, per task, the later publication', () => {
    const a: SummaryEntry = { manifest: 'h1', tests: '', builds: {}, published: D('1'), at: T0 };
    const b: SummaryEntry = { ...a, manifest: 'h2', at: T1 };
    const base: Summary = { package: 'p', entries: { x: a, y: a } };
    expect(mergeSummary('p', base, { x: b, z: a }).entries).toEqual({ x: b, y: a, z: a });
    expect(mergeSummary('p', { package: 'p', entries: { x: b } }, { x: a }).entries).toEqual({ x: b });
  });

  it('is believed only for the exact hash; another hash for the task says the summary knows a later publication', () => {
    const s: Summary = { package: 'p', entries: { 'manifest:x': { manifest: 'h1', tests: 't', builds: {}, published: D('1'), at: T0 } } };
    expect(summaryLookup(s, { id: 'manifest:x', hash: { value: 'h1' } })).toEqual({ state: 'found', publication: { manifest: 'h1', tests: 't', builds: {}, published: D('1') } });
    expect(summaryLookup(s, { id: 'manifest:x', hash: { value: 'h2' } })).toEqual({ state: 'superseded', at: T0 });
    expect(summaryLookup(s, { id: 'manifest:y', hash: { value: 'h1' } })).toEqual({ state: 'unknown' });
    expect(summaryLookup(undefined, { id: 'manifest:x', hash: { value: 'h1' } })).toEqual({ state: 'unknown' });
  });

  it('its tag is one per package, within 128 characters, and not a staging tag prune may remove', () => {
    expect(summaryTag('mini')).toBe('publications-mini');
    const long = summaryTag('a'.repeat(128));
    expect(long.length).toBeLessThanOrEqual(128);
    expect(long).not.toBe(summaryTag(`${'a'.repeat(127)}b`));
    for (const t of [summaryTag('mini'), long, summaryTag('f'.repeat(32))]) expect(STAGING_TAG_RE.test(t)).toBe(false);
  });
});

describe('publication summary: a fresh runner', () => {
  it('learns the whole family in two requests (the tag, the blob), after the host\'s one 401', async () => {
    const { plan, reg, client, finder, manifests } = await setup();
    putSummary(reg, { package: 'mini', entries: Object.fromEntries(manifests.map((m) => [m.id, entryOf(plan, m)])) });
    const facts = await allFacts(plan, finder());
    expect(Object.values(facts).every((f) => f === 'present via record')).toBe(true);
    expect(Object.keys(facts).length).toBeGreaterThan(manifests.length * 2);
    expect(reg.log.map((l) => `${l.method} ${l.path.replace(/[0-9a-f]{64}/, '…')}`)).toEqual([
      `GET /v2/${REPO}/manifests/publications-mini`,
      `GET /v2/${REPO}/manifests/publications-mini`,
      `GET /v2/${REPO}/blobs/sha256:…`,
    ]);
    expect(client.requests).toBe(3);
  });

  it('missing: each manifest asks for its own record, as before the summary', async () => {
    const { plan, reg, finder, manifests } = await setup();
    for (const m of manifests) putRecord(reg, m, entryOf(plan, m));
    const facts = await allFacts(plan, finder());
    expect(Object.values(facts).every((f) => f === 'present via record')).toBe(true);
    expect(reg.log.filter((l) => l.path.includes('/manifests/pub-'))).toHaveLength(manifests.length);
  });

  it('lacking some manifests (a lost update, or a run that died before writing it): only those fall back', async () => {
    const { plan, reg, finder, manifests } = await setup();
    const [lost, ...kept] = manifests;
    putSummary(reg, { package: 'mini', entries: Object.fromEntries(kept.map((m) => [m.id, entryOf(plan, m)])) });
    putRecord(reg, lost!, entryOf(plan, lost!));
    const facts = await allFacts(plan, finder());
    expect(Object.values(facts).every((f) => f === 'present via record')).toBe(true);
    expect(reg.log.filter((l) => l.path.includes('/manifests/pub-')).map((l) => l.path)).toEqual([`/v2/${REPO}/manifests/${publicationTag(lost!)}`]);
  });

  it('stale (an entry of another hash): not evidence; a per-image record of this hash counts only when newer than the summary\'s entry', async () => {
    const { plan, reg, finder, manifests } = await setup();
    const [m, n] = manifests as [ManifestTask, ManifestTask];
    putSummary(reg, { package: 'mini', entries: { [m.id]: entryOf(plan, m, T1, 'f'.repeat(64)), [n.id]: entryOf(plan, n, T0, 'e'.repeat(64)) } });
    // m's record is older than the summary's later publication of m: the tags moved since.
    putRecord(reg, m, entryOf(plan, m), T0);
    // n's record is newer than what the summary says (the summary lost that update): believed.
    putRecord(reg, n, entryOf(plan, n), T1);
    const f = finder();
    expect(await f.fromRegistry(m, () => undefined)).toEqual({ state: 'absent' });
    expect(await f.fromRegistry(n, () => undefined)).toEqual({ state: 'present', via: 'record', digest: D('9') });
  });

  it('corrupt (a blob that is not a summary, or not there): names nothing, the per-image records answer', async () => {
    const { plan, reg, finder, manifests } = await setup();
    for (const m of manifests) putRecord(reg, m, entryOf(plan, m));
    putSummary(reg, { package: 'mini', entries: {} }, Buffer.from('{"entries": "garbage"}'));
    expect(Object.values(await allFacts(plan, finder())).every((f) => f === 'present via record')).toBe(true);
    reg.putManifest(REPO, summaryTag('mini'), summaryManifest({ digest: D('7'), size: 10 }, T0).toString(), MEDIA.ociManifest);
    expect(Object.values(await allFacts(plan, finder())).every((f) => f === 'present via record')).toBe(true);
  });

  it('unreadable (the registry fails the lookup): never read as absent; the per-image lookups answer or fail on their own', async () => {
    // One try per lookup, so a failure is final at once.
    const { plan, reg, finder, manifests } = await setup({}, 1);
    for (const m of manifests) putRecord(reg, m, entryOf(plan, m));
    reg.failNext(1);
    expect(Object.values(await allFacts(plan, finder())).every((f) => f === 'present via record')).toBe(true);
    reg.failNext(1000);
    const failing = await allFacts(plan, finder());
    expect(Object.values(failing).every((f) => f === 'error')).toBe(true);
  });
});

describe('publication summary: writers', () => {
  it('runs publishing disjoint parts add up; a writer that read before another wrote merges again', async () => {
    const { plan, client, staging, manifests } = await setup();
    const [a, b, c] = manifests as [ManifestTask, ManifestTask, ManifestTask];
    const first = await writeSummary(client, staging, 'mini', { [a.id]: entryOf(plan, a) });
    await writeSummary(client, staging, 'mini', { [b.id]: entryOf(plan, b) });
    // This writer still holds what it wrote first: the tag says otherwise, so it reads again.
    await writeSummary(client, staging, 'mini', { [c.id]: entryOf(plan, c) }, first);
    expect(Object.keys((await readSummary(client, staging, 'mini'))!.summary.entries).sort()).toEqual([a.id, b.id, c.id].sort());
  });

  it('two writers at once: both entries end up in the summary', async () => {
    const { plan, client, staging, manifests } = await setup({ delayMs: 3 });
    const [a, b] = manifests as [ManifestTask, ManifestTask];
    await Promise.all([writeSummary(client, staging, 'mini', { [a.id]: entryOf(plan, a) }), writeSummary(client, staging, 'mini', { [b.id]: entryOf(plan, b) })]);
    expect(Object.keys((await readSummary(client, staging, 'mini'))!.summary.entries).sort()).toEqual([a.id, b.id].sort());
  });

  it('one run\'s publications coalesce: entries arriving during a write go together in the next', async () => {
    const { plan, reg, client, staging, manifests } = await setup({ delayMs: 2 });
    const w = new SummaryWriter(client, staging, 'mini');
    const ids = Array.from({ length: 40 }, (_, i) => `manifest:mini/x${i}`);
    const m = manifests[0]!;
    await Promise.all(ids.map((id) => w.add(id, entryOf(plan, m))));
    expect(Object.keys((await readSummary(client, staging, 'mini'))!.summary.entries).sort()).toEqual([...ids].sort());
    expect(reg.log.filter((l) => l.method === 'PUT' && l.path.includes('/manifests/publications-mini')).length).toBeLessThanOrEqual(3);
  });
});

describe('publication summary: prune', () => {
  it('keeps the summary and every staged image and record it names; removes the rest past retention', async () => {
    const reg = await startFakeRegistry({ auth: 'none' });
    const client = new RegistryClient({ retry: { baseMs: 1 } });
    open.push(reg, client);
    const { manifest } = miniSpec({ 'manifest.yaml': MINI_SPEC.replace(/registries:[\s\S]*$/, `registries:\n  local: { kind: generic, host: "${reg.host}", namespace: acme }\n`) });
    const plan = loadPlan(manifest);
    const m = [...plan.tasks.values()].find((t): t is ManifestTask => t.kind === 'manifest')!;
    const old = '2026-01-01T00:00:00Z';
    const named = fakeImage(reg, REPO, `build-amd64-${'a'.repeat(32)}`, { created: old, labels: { n: 'a' } });
    const gone = fakeImage(reg, REPO, `build-amd64-${'b'.repeat(32)}`, { created: old, labels: { n: 'b' } });
    const p: Publication = { manifest: m.hash.value, tests: '', builds: { [m.builds[0]!]: named }, published: D('9') };
    const record = reg.putManifest(REPO, publicationTag(m), recordManifest(p, old).toString(), MEDIA.ociManifest);
    putSummary(reg, { package: 'mini', entries: { [m.id]: { ...p, at: old } } });
    const [report] = await prune(plan.spec, client, { now: Date.parse('2026-12-01T00:00:00Z'), retentionMs: 86_400_000, yes: true, current: new Set() });
    expect(report!.repository).toBe(`${reg.host}/${REPO}`);
    expect(report!.deleted).toEqual([gone]);
    expect(report!.decisions.filter((d) => !d.delete).map((d) => [d.digest, d.why]).sort()).toEqual([[named, 'the publication summary names it'], [record, 'the publication summary names it']].sort());
    expect(await readSummary(client, `${reg.host}/${REPO}`, 'mini')).toBeDefined();
  });
});
