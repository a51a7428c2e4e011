import { describe, expect, it } from 'vitest';
import { attestations, buildArgv, supportsAttestations, wantsAttestations, type BuilderInfo } from '../../core/buildx/argv.ts';
import { bakeFile } from '../../core/buildx/bake.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import { MINI_SPEC, miniSpec, planError } from '../helpers/spec.ts';
import { buildInvocation } from '../../core/buildx/invocation.ts';
import type { BuildTask } from '../../core/plan/task.ts';

const b = (x: Partial<BuilderInfo>): BuilderInfo => ({ name: 'b', driver: 'docker', platforms: [], nodes: 1, ...x });

describe('attestations', () => {
  it('the spec\'s build.attest becomes buildx values; the command line wins', () => {
    expect(attestations({ provenance: 'max', sbom: true }, {})).toEqual({ provenance: 'mode=max', sbom: 'true' });
    expect(attestations({ provenance: false }, {})).toEqual({ provenance: 'false' });
    expect(attestations({ provenance: 'max' }, { provenance: 'false' })).toEqual({ provenance: 'false' });
    expect(attestations(undefined, {})).toEqual({});
  });
  it('false everywhere asks for nothing', () => {
    expect(wantsAttestations({ provenance: 'false', sbom: 'false' })).toBe(false);
    expect(wantsAttestations({})).toBe(false);
    expect(wantsAttestations({ sbom: 'true' })).toBe(true);
  });
  it('which builders can attach them', () => {
    expect(supportsAttestations(b({ buildkit: 'v0.8.2', engine: '20.10.24' }))).toBe(false); // classic store
    expect(supportsAttestations(b({ imageStore: 'containerd', buildkit: 'v0.0.0+unknown', engine: '26.1.5' }))).toBe(true);
    expect(supportsAttestations(b({ imageStore: 'containerd', buildkit: 'v0.0.0', engine: '23.0.1' }))).toBe(false);
    expect(supportsAttestations(b({ driver: 'docker-container', buildkit: 'v0.12.5' }))).toBe(true);
    expect(supportsAttestations(b({ driver: 'docker-container', buildkit: 'v0.10.6' }))).toBe(false);
  });
  it('reach the build argv and the bake targets', () => {
    const plan = loadPlan(miniSpec({ 'manifest.yaml': `${MINI_SPEC}build:\n  attest: { provenance: max, sbom: true }\n` }).manifest);
    const a = attestations(plan.spec.build.attest, {});
    const t = [...plan.tasks.values()].find((x): x is BuildTask => x.kind === 'build')!;
    expect(buildArgv(buildInvocation(t, undefined, { plan, packageDir: '/g', stagingRepo: 'r/s', mode: 'push', cacheExport: true, ...a }))).toEqual(expect.arrayContaining(['--provenance=mode=max', '--sbom=true']));
    const bake = bakeFile(plan, { selected: new Set(plan.order), packageDir: '/g', bakeDir: '/g', stagingRepo: 'r/s', parentMode: 'args', push: true, ...a });
    expect(Object.values(bake.target)[0]!['attest']).toEqual(['type=provenance,mode=max', 'type=sbom']);
  });
  it('a bad value is a spec error with its position', () => {
    const e = planError(miniSpec({ 'manifest.yaml': `${MINI_SPEC}build:\n  attest: { provenance: full }\n` }).manifest);
    expect(e.diagnostics[0]).toMatchObject({ path: 'build.attest.provenance', line: expect.any(Number) });
  });
});
