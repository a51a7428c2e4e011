import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasCycle } from 'graphology-dag';
import { describe, expect, it } from 'vitest';
import { loadPlan, type Plan } from '../../core/plan/plan.ts';
import { selectTasks, parseTarget } from '../../core/plan/select.ts';
import type { BuildTask, ManifestTask, Task } from '../../core/plan/task.ts';
import { UsageError } from '../../core/base/errors.ts';
import { BENTO_MANIFEST, PYTHON_BASE_MANIFEST, miniSpec } from '../helpers/spec.ts';

const bento = loadPlan(BENTO_MANIFEST);
const of = <K extends Task['kind']>(p: Plan, kind: K) => [...p.tasks.values()].filter((t): t is Extract<Task, { kind: K }> => t.kind === kind);

describe('bento-server expansion', () => {
  it('has the expected number of tasks of each kind', () => {
    // debian11 (pip): base/runtime/devel 4 py × 5 arch, cudnn/devel-trt 4 py × 2 cuda × amd64;
    //   conda (amd64 only): base/runtime/devel 4 py, cudnn 4 py × 2 cuda
    // debian10: the same without devel-trt
    // ubi8: base/runtime/devel 2 py × 4 arch; cudnn 2 py × (11.6.2: 3 arch + 11.7.1: 2 arch)
    // alpine3.14: base/runtime/devel 4 py × 5 arch; amazonlinux2: base/runtime 4 py × 2 arch
    const debian11 = 3 * 4 * 5 + 2 * 4 * 2 + 3 * 4 + 4 * 2;
    const debian10 = debian11 - 4 * 2;
    const expected = debian11 + debian10 + 3 * 2 * 4 + 2 * 5 + 3 * 4 * 5 + 2 * 4 * 2;
    expect(of(bento, 'build')).toHaveLength(expected);
    // 18 directories, 8 of which hold a Dockerfile-conda beside the Dockerfile, + package docs
    expect(of(bento, 'render')).toHaveLength(18 + 8 + 1);
    expect(of(bento, 'manifest')).toHaveLength(bento.variants.length);
    expect(of(bento, 'readme').map((r) => r.registry)).toEqual(['docker.io', 'quay.io', 'harbor']);
    expect(hasCycle(bento.graph)).toBe(false);
  });

  it('produces exactly the tag forms of the design notes', () => {
    const tags = new Set(bento.variants.flatMap((v) => v.tags));
    for (const t of ['base-python3.9-debian11', '1.0.0a5-python3.8-ubi8-cudnn', '1.0.0a5-python3.7-ami2-runtime', 'devel-python3.7-debian']) {
      expect(tags, t).toContain(t);
    }
    expect(tags.size).toBe(bento.variants.reduce((n, v) => n + v.tags.length, 0));
  });

  it('wires parents on the same distro, python and platform, and ids are stable', () => {
    const b = bento.tasks.get('build:bento-server/debian11/devel-trt/py3.9/cuda11.6.2/amd64') as BuildTask;
    expect(b.parentBuild).toBe('build:bento-server/debian11/cudnn/py3.9/cuda11.6.2/amd64');
    const cudnn = bento.tasks.get(b.parentBuild!) as BuildTask;
    expect(cudnn.parentBuild).toBe('build:bento-server/debian11/runtime/py3.9/amd64');
    expect(b.deps).toEqual(['render:bento-server/debian11/devel-trt', b.parentBuild]);
    // Build args flow down the release chain: CUDA_VERSION from cudnn, BENTOML_VERSION from runtime.
    expect(b.buildArgs).toEqual({ PYTHON_VERSION: '3.9', CUDA_VERSION: '11.6.2', BENTOML_GIT_REF: 'main', BENTOML_VERSION: '1.0.0a5' });
    const root = bento.tasks.get('build:bento-server/alpine3.14/base/py3.10/arm32v7') as BuildTask;
    expect(root.platforms).toEqual(['linux/arm/v7']);
    expect(root.baseImage).toBe('docker.io/library/python:3.10-alpine3.14');
  });

  it('restricts GPU variants to the architectures that have the CUDA components', () => {
    const arches = (key: string) => bento.variants.find((v) => v.key === key)!.arches;
    expect(arches('ubi8/cudnn/py3.9/cuda11.6.2')).toEqual(['amd64', 'arm64v8', 'ppc64le']);
    expect(arches('ubi8/cudnn/py3.9/cuda11.7.1')).toEqual(['amd64', 'arm64v8']);
    expect(arches('debian11/devel-trt/py3.8/cuda11.7.1')).toEqual(['amd64']);
    expect(bento.variants.some((v) => v.distro === 'ubi8' && v.release === 'devel-trt')).toBe(false);
  });

  it('publishes every platform of an image under every registry', () => {
    const m = bento.tasks.get('manifest:bento-server/ubi8/cudnn/py3.8/cuda11.6.2') as ManifestTask;
    expect(m.platforms).toEqual(['linux/amd64', 'linux/arm64', 'linux/ppc64le']);
    expect(m.refs).toContain('quay.io/bentoml/bento-server:1.0.0a5-python3.8-ubi8-cudnn');
    expect(m.refs).toContain('docker.io/bentoml/bento-server:1.0.0a5-python3.8-ubi8-cudnn-cuda11.6.2');
    expect(m.refs).toHaveLength(4 * 2); // 4 registries × 2 distinct tags (ubi8 alias = distro name)
  });
});

describe('hashes', () => {
  it('are identical across loads', () => {
    const again = loadPlan(BENTO_MANIFEST);
    for (const [id, t] of bento.tasks) expect(again.tasks.get(id)!.hash.value, id).toBe(t.hash.value);
  });

  it('invalidate a changed base and everything above it, and nothing else', () => {
    const { dir, manifest } = miniSpec();
    const before = loadPlan(manifest);
    writeFileSync(join(dir, 'templates/debian/base.Dockerfile.eta'), 'ARG PYTHON_VERSION\nFROM <%= it.distro.image %>\nRUN echo base v2\n');
    const after = loadPlan(manifest);
    const changed = [...after.tasks.values()].filter((t) => t.hash.value !== before.tasks.get(t.id)!.hash.value).map((t) => t.id).sort();
    expect(changed).toEqual([
      'build:mini/deb/base/py3.10/amd64', 'build:mini/deb/base/py3.10/arm64v8', 'build:mini/deb/base/py3.11/amd64', 'build:mini/deb/base/py3.11/arm64v8',
      'build:mini/deb/runtime/py3.10/amd64', 'build:mini/deb/runtime/py3.10/arm64v8', 'build:mini/deb/runtime/py3.11/amd64', 'build:mini/deb/runtime/py3.11/arm64v8',
      'manifest:mini/deb/base/py3.10', 'manifest:mini/deb/base/py3.11', 'manifest:mini/deb/runtime/py3.10', 'manifest:mini/deb/runtime/py3.11',
      'render:mini/deb/base',
    ]);
    const b = after.tasks.get('build:mini/deb/runtime/py3.10/amd64')!;
    const old = before.tasks.get(b.id)!;
    const diff = Object.keys(b.hash.parts).filter((k) => b.hash.parts[k] !== old.hash.parts[k]);
    expect(diff).toEqual(['parent']);
  });

  it('keep a part per input: template, each partial, context and engine', () => {
    const { manifest } = miniSpec();
    const p = loadPlan(manifest);
    expect(Object.keys(p.tasks.get('render:mini/deb/runtime')!.hash.parts).sort()).toEqual([
      'context', 'engine', 'template:debian/runtime.Dockerfile.eta', 'template:partials/run.eta',
    ]);
    expect(Object.keys(p.tasks.get('build:mini/deb/runtime/py3.10/amd64')!.hash.parts).sort()).toEqual(['build_args', 'file:Dockerfile', 'format', 'parent', 'platform']);
  });

  it('change only where a partial is used', () => {
    const { dir, manifest } = miniSpec();
    const before = loadPlan(manifest);
    writeFileSync(join(dir, 'templates/partials/run.eta'), 'RUN echo runtime v2\n');
    const after = loadPlan(manifest);
    expect(after.tasks.get('render:mini/deb/base')!.hash).toEqual(before.tasks.get('render:mini/deb/base')!.hash);
    expect(after.tasks.get('render:mini/deb/runtime')!.hash.value).not.toBe(before.tasks.get('render:mini/deb/runtime')!.hash.value);
  });

  it('do not change builds when only a registry is added', () => {
    const { manifest } = miniSpec();
    const before = loadPlan(manifest);
    const { manifest: m2 } = miniSpec({ 'manifest.yaml': readFileSync(manifest, 'utf8') + '  quay:\n    kind: quay\n    namespace: acme\n' });
    const after = loadPlan(m2);
    for (const t of of(after, 'build')) expect(t.hash.value).toBe(before.tasks.get(t.id)!.hash.value);
    for (const t of of(after, 'manifest')) expect(t.hash.value).not.toBe(before.tasks.get(t.id)!.hash.value);
  });
});


describe('selection', () => {
  it('--target pkg:cudnn keeps base → runtime → cudnn builds and cudnn manifests only', () => {
    const sel = selectTasks(bento, { targets: [parseTarget('bento-server:cudnn')] });
    const kinds = new Set([...sel].map((id) => bento.tasks.get(id)!.kind));
    // Base and cudnn have image tests now; runtime's run on platforms cudnn does not build too.
    expect(kinds).toEqual(new Set(['render', 'build', 'test', 'manifest']));
    const releases = new Set([...sel].map((id) => bento.tasks.get(id)!).filter((t): t is BuildTask => t.kind === 'build').map((b) => b.release));
    expect(releases).toEqual(new Set(['base', 'runtime', 'cudnn']));
    const distros = new Set([...sel].map((id) => bento.tasks.get(id)!).filter((t): t is BuildTask => t.kind === 'build').map((b) => b.distro));
    expect(distros).toEqual(new Set(['debian11', 'debian10', 'ubi8']));
    // Only platforms that have cudnn: debian11 base is built for amd64 alone here.
    expect(sel.has('build:bento-server/debian11/base/py3.9/arm64v8')).toBe(false);
    expect([...sel].filter((id) => id.startsWith('manifest:')).every((id) => id.includes('/cudnn/'))).toBe(true);
  });

  it('release@distro, python and platform filters combine', () => {
    const sel = selectTasks(bento, { targets: [parseTarget('bento-server:runtime@ubi8')], axes: { python: ['3.9'] }, platforms: ['linux/arm64'] });
    const builds = [...sel].filter((id) => id.startsWith('build:')).sort();
    expect(builds).toEqual(['build:bento-server/ubi8/base/py3.9/arm64v8', 'build:bento-server/ubi8/runtime/py3.9/arm64v8']);
    // A partial platform set never publishes a multi-arch tag.
    expect([...sel].some((id) => id.startsWith('manifest:'))).toBe(false);
  });

  it('rejects unknown names with the known ones', () => {
    expect(() => selectTasks(bento, { releases: ['gpu'] })).toThrow(UsageError);
    expect(() => selectTasks(bento, { releases: ['gpu'] })).toThrow(/known: base, runtime, cudnn, devel, devel-trt/);
    expect(() => selectTasks(bento, { targets: [parseTarget('other:base')] })).toThrow(/different package/);
    expect(() => parseTarget('bad target!')).toThrow(UsageError);
  });

  it('--all and no selector keep everything', () => {
    expect(selectTasks(bento, { all: true }).size).toBe(bento.tasks.size);
    expect(selectTasks(bento, {}).size).toBe(bento.tasks.size);
    expect(selectTasks(bento, { releases: [], distros: [] }).size).toBe(bento.tasks.size);
  });
});

describe('second family (python-base)', () => {
  it('plans with its own releases, tags and templates', () => {
    const p = loadPlan(PYTHON_BASE_MANIFEST);
    expect(p.spec.releaseOrder).toEqual(['slim', 'build', 'notebook']);
    const tags = p.variants.flatMap((v) => v.tags);
    expect(tags).toContain('3.12-slim');
    expect(tags).toContain('3.12-slim-alpine3.19');
    expect(tags).not.toContain('3.10-slim-alpine3.19');
    expect(tags).toContain('3.11-notebook-bookworm-2024.1');
    expect(p.variants.filter((v) => v.distro === 'alpine3.19').map((v) => v.release)).not.toContain('notebook');
  });
});
