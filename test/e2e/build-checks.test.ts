// build --check on the real engine of this machine: buildx 0.13 and BuildKit 0.8 have no
// Dockerfile checks, and the tool must say so plainly (both parts, what each needs) before it
// runs anything, rather than fail inside buildx. Where they are new enough, the same path runs
// the checks (test/unit/checks.test.ts drives it through a spy).
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { docker, e2eEnv, e2eSpec } from '../helpers/e2e.ts';

const env = e2eEnv();

describe('build --check on this engine', () => {
  it('names what is too old (buildx, the builder\'s BuildKit), exit 1, nothing built', () => {
    const version = docker(['buildx', 'version']).stdout;
    const spec = e2eSpec(env, `checks-${Date.now().toString(36)}`, 'offline');
    const r = cli(['--spec-dir', spec.dir, 'build', spec.manifest, '--all', '--check', '--output', spec.generated]);
    if (/v?0\.(1[5-9]|[2-9]\d)\./.test(version)) {
      // A newer buildx: the checks ran; their outcome is the engine's to give.
      expect(r.stdout).toMatch(/Dockerfiles? checked:/);
      return;
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile checks cannot run here: buildx \S+ has no --call check \(it came in buildx 0\.15\)/);
    expect(r.stderr).toMatch(/BuildKit v0\.\d+/);
    expect(r.stdout).not.toMatch(/built/);
  });
});
