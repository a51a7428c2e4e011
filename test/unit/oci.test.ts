import { describe, expect, it } from 'vitest';
import { mergeArgvs } from '../../core/buildx/invocation.ts';
import { browsableUrl, epochToIso, indexAnnotations, ociLabels } from '../../core/buildx/oci-labels.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import { MINI_SPEC, miniSpec, planError } from '../helpers/spec.ts';
import type { ManifestTask } from '../../core/plan/task.ts';

describe('OCI labels and annotations', () => {
  it('defaults as metadata-action sets them, from the spec and the repository', () => {
    expect(ociLabels({ package: 'app', description: 'An app', version: '1.2.3' }, { revision: 'abc', source: 'https://github.com/o/r', created: '2026-01-01T00:00:00Z' })).toEqual({
      'org.opencontainers.image.title': 'app',
      'org.opencontainers.image.description': 'An app',
      'org.opencontainers.image.source': 'https://github.com/o/r',
      'org.opencontainers.image.url': 'https://github.com/o/r',
      'org.opencontainers.image.version': '1.2.3',
      'org.opencontainers.image.revision': 'abc',
      'org.opencontainers.image.created': '2026-01-01T00:00:00Z',
    });
  });
  it('the spec\'s labels win, add (licenses) and remove ("")', () => {
    const l = ociLabels({ package: 'app', version: '1', labels: { 'org.opencontainers.image.licenses': 'Apache-2.0', 'org.opencontainers.image.title': 'App', 'org.opencontainers.image.version': '' } });
    expect(l).toEqual({ 'org.opencontainers.image.title': 'App', 'org.opencontainers.image.licenses': 'Apache-2.0' });
  });
  it('repository remotes become browsable https URLs; others none', () => {
    expect(browsableUrl('git@github.com:bentoml/BentoML.git')).toBe('https://github.com/bentoml/BentoML');
    expect(browsableUrl('https://token@github.com/o/r.git')).toBe('https://github.com/o/r');
    expect(browsableUrl('ssh://git@gitlab.example/g/r.git')).toBe('https://gitlab.example/g/r');
    expect(browsableUrl('/srv/git/r')).toBeUndefined();
    expect(browsableUrl('file:///srv/git/r')).toBeUndefined();
  });
  it('created honours SOURCE_DATE_EPOCH (seconds), nothing else', () => {
    expect(epochToIso('1767225600')).toBe('2026-01-01T00:00:00Z');
    expect(epochToIso('soon')).toBeUndefined();
    expect(epochToIso(undefined)).toBeUndefined();
  });
  it('only OCI keys become index annotations, sorted', () => {
    expect(indexAnnotations({ 'org.opencontainers.image.version': '1', 'com.example.x': 'y', 'org.opencontainers.image.title': 't' })).toEqual(['index:org.opencontainers.image.title=t', 'index:org.opencontainers.image.version=1']);
  });
  it('the merge argv carries them, and a bad label key is a spec error', () => {
    const { manifest } = miniSpec({ 'manifest.yaml': `${MINI_SPEC}labels:\n  org.opencontainers.image.licenses: MIT\n` });
    const plan = loadPlan(manifest);
    const m = [...plan.tasks.values()].find((t): t is ManifestTask => t.kind === 'manifest')!;
    const argv = mergeArgvs(m, ['s@sha256:1', 's@sha256:2'], { plan, revision: 'abc' }).flat();
    expect(mergeArgvs(m, ['s@sha256:1'], { plan, revision: 'abc' }).flat()).not.toContain('--annotation');
    expect(argv).toEqual(expect.arrayContaining(['--annotation', 'index:org.opencontainers.image.licenses=MIT', '--annotation', 'index:org.opencontainers.image.revision=abc']));
    expect(argv.indexOf('--annotation')).toBeLessThan(argv.indexOf('--tag'));
    const bad = planError(miniSpec({ 'manifest.yaml': `${MINI_SPEC}labels:\n  "bad key": x\n` }).manifest);
    expect(bad.diagnostics[0]).toMatchObject({ path: expect.stringMatching(/^labels/), line: expect.any(Number), column: expect.any(Number) });
  });
});

describe('references validated whole', () => {
  it('an uppercase package that would be the repository name is a spec error at `package`, once', () => {
    const e = planError(miniSpec({ 'manifest.yaml': MINI_SPEC.replace('package: mini', 'package: Mini').replace('registries:\n', 'registries:\n  other:\n    kind: quay\n    namespace: acme\n') }).manifest);
    const at = e.diagnostics.filter((d) => d.path === 'package');
    expect(at).toHaveLength(1);
    expect(at[0]).toMatchObject({ line: 1, column: 10, message: expect.stringMatching(/"Mini" cannot be a repository name/) });
  });
  it('with `repository:` set, an uppercase package is fine', () => {
    expect(() => loadPlan(miniSpec({ 'manifest.yaml': MINI_SPEC.replace('package: mini', 'package: Mini\nrepository: mini') }).manifest)).not.toThrow();
  });
});
