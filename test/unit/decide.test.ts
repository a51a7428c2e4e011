// The one run/skip rule, on facts alone: every kind of task against every kind of fact.
import { describe, expect, it } from 'vitest';
import { decide, DEFAULT_DECIDE, type Facts } from '../../core/plan/decide.ts';
import { combine } from '../../core/base/hash.ts';
import { record } from '../../core/plan/record.ts';
import type { BuildTask, ManifestTask, ReadmeTask, RenderTask, Task, TestTask } from '../../core/plan/task.ts';

const hash = combine({ 'file:Dockerfile': 'a', build_args: 'b', base_image: 'c' }, { base_image: 'img@sha256:1' });
const other = combine({ 'file:Dockerfile': 'a', build_args: 'b2', base_image: 'c2' });
const base = { id: 'x', deps: [], hash };
const build: BuildTask = { ...base, kind: 'build', variant: 'd/r/py3', distro: 'd', release: 'r', axes: { python: '3' }, arches: ['amd64'], platforms: ['linux/amd64'], context: 'd/r', dockerfile: 'Dockerfile', buildArgs: {}, floatingArgs: {}, timeout: 1 };
const test: TestTask = { ...base, kind: 'test', build: 'b', variant: 'v', platform: 'linux/amd64', tests: [] };
const manifest: ManifestTask = { ...base, kind: 'manifest', variant: 'v', distro: 'd', release: 'r', axes: { python: '3' }, builds: ['b'], platforms: ['linux/amd64'], tags: ['t'], refs: ['r/x:t'] };
const render: RenderTask = { ...base, kind: 'render', dir: 'd/r', files: [], data: {} };
const readme: ReadmeTask = { ...base, kind: 'readme', registry: 'hub', repository: 'docker.io/a/b', docs: 'render:docs' };

const same = record(hash, { ref: 'r/x:build@sha256:9', digest: 'sha256:9' });
const changed = record(other, { ref: 'r/x:build@sha256:8' });
const d = (t: Task, f: Facts, o: Partial<typeof DEFAULT_DECIDE> = {}) => decide(t, f, { ...DEFAULT_DECIDE, ...o });

describe('decide', () => {
  it('skips a build recorded with the same hash and a reference, using that reference', () => {
    expect(d(build, { record: same })).toEqual({ action: 'skip', reason: 'unchanged since the last run', source: 'state', ref: same.ref, digest: same.digest });
  });

  it('runs a build recorded without a reference (children would have nothing to build FROM)', () => {
    expect(d(build, { record: record(hash) }).action).toBe('run');
  });

  it('names the inputs that changed', () => {
    const r = d(build, { record: changed, registry: { state: 'absent' } });
    expect(r.action).toBe('run');
    expect(r.reason).toBe('inputs changed: base_image, build_args');
    expect(r.changed?.map((c) => c.part)).toEqual(['base_image', 'build_args']);
  });

  it('skips through the registry when the state has no record, and records where it came from', () => {
    expect(d(build, { registry: { state: 'present', ref: 'r/x:b@sha256:5', digest: 'sha256:5' } })).toEqual({ action: 'skip', reason: 'unchanged: the registry already has an image with this hash', source: 'registry', ref: 'r/x:b@sha256:5', digest: 'sha256:5' });
    expect(d(test, { registry: { state: 'present' } }).reason).toBe('passed before on this exact image (recorded in the registry)');
    expect(d(manifest, { registry: { state: 'present', digest: 'sha256:6' } }).reason).toBe('unchanged: every tag already points at these images');
  });

  it('never reads a failed lookup as absent: the task fails, or runs with --assume-missing saying why', () => {
    expect(d(build, { registry: { state: 'error', error: 'HTTP 503' } })).toEqual({ action: 'fail', reason: 'registry lookup failed: HTTP 503' });
    const r = d(build, { registry: { state: 'error', error: 'HTTP 503' } }, { assumeMissing: true });
    expect(r.action).toBe('run');
    expect(r.reason).toBe('no record of an earlier run; registry lookup failed (HTTP 503), --assume-missing treats it as absent');
  });

  it('runs a manifest whose builds will run first, without asking', () => {
    expect(d(manifest, { record: changed, registry: { state: 'pending', why: 'a build it publishes will run first' } }).reason).toBe('a build it publishes will run first');
  });

  it('says why when the registry was not asked or had nothing', () => {
    expect(d(build, { registry: { state: 'not-consulted', why: '--offline' } }).reason).toBe('no record of an earlier run');
    expect(d(build, { registry: { state: 'absent' } }).reason).toBe('no record of an earlier run; not in the registry either');
    expect(d(test, { registry: { state: 'absent' } }).reason).toBe('no record of an earlier run; not tested on this image yet');
  });

  it('--force runs everything but render tasks, before any fact', () => {
    for (const t of [build, test, manifest, readme]) expect(d(t, { record: same, registry: { state: 'present' } }, { force: true })).toEqual({ action: 'run', reason: '--force' });
    expect(d(render, { record: same, filesCurrent: true }, { force: true }).action).toBe('skip');
  });

  it('retest runs tests that passed before; other kinds keep their skips', () => {
    expect(d(test, { record: same }, { retest: true }).action).toBe('run');
    expect(d(test, { record: same }).reason).toBe('passed before on this exact image');
    expect(d(build, { record: same }, { retest: true }).action).toBe('skip');
  });

  it('render tasks follow the disk: unchanged files skip; edited or missing ones are rewritten, saying which', () => {
    expect(d(render, { filesCurrent: true })).toEqual({ action: 'skip', reason: 'files unchanged', source: 'disk' });
    expect(d(render, { record: same, filesCurrent: false, filesPresent: true }).reason).toBe('generated files differ from the templates\' output (edited by hand?)');
    expect(d(render, { record: same, filesCurrent: false, filesPresent: false }).reason).toBe('generated files are missing');
    expect(d(render, { record: changed, filesCurrent: false }).reason).toBe('inputs changed: base_image, build_args');
  });

  it('what used to be decided while running is a fact: no README pusher, no local image of this host', () => {
    expect(d(readme, { readmePush: false })).toEqual({ action: 'skip', reason: 'README push not configured' });
    expect(d(readme, { readmePush: false }, { force: true }).action).toBe('skip');
    expect(d(readme, { readmePush: true }).action).toBe('run');
    expect(d(manifest, { localSource: false }, { mode: 'load' })).toEqual({ action: 'skip', reason: '--load keeps one platform per tag; none matches this host' });
    expect(d(manifest, { localSource: true }, { mode: 'load' }).action).toBe('run');
    // In push mode the fact does not matter: the registry holds every platform.
    expect(d(manifest, { localSource: false }).action).toBe('run');
  });

  it('--load: manifests tag locally, READMEs are skipped', () => {
    expect(d(manifest, { record: same }, { mode: 'load' })).toEqual({ action: 'run', reason: '--load: tag the local image' });
    expect(d(readme, {}, { mode: 'load' })).toEqual({ action: 'skip', reason: '--load publishes nothing' });
  });

  it('a manifest with no tags has nothing to do', () => {
    expect(d({ ...manifest, refs: [], tags: [] }, {})).toEqual({ action: 'skip', reason: 'no tags to publish' });
  });

  it('a record under another hash format with equal parts still runs, and says so', () => {
    const odd = { ...same, hash: 'f'.repeat(64) };
    expect(d(build, { record: odd }).reason).toBe('recorded with another hash format');
  });
});
