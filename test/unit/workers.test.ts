import { describe, expect, it } from 'vitest';
import { givenWorkers, MAX_DEFAULT_WORKERS, PROVISIONAL_WORKERS, workersFor } from '../../core/buildx/workers.ts';

describe('the default worker count', () => {
  it("is the flag's, else the spec's, else provisional until a build asks the builder", () => {
    expect(givenWorkers(3, 7)).toEqual({ count: 3, from: 'flag', reason: '--max-workers' });
    expect(givenWorkers(undefined, 7)).toEqual({ count: 7, from: 'spec', reason: 'the spec\'s build.max_workers' });
    expect(givenWorkers(undefined, undefined)).toMatchObject({ count: PROVISIONAL_WORKERS, from: 'provisional' });
  });

  it('docker driver: several native builds per engine CPU, one per CPU when a platform is emulated', () => {
    const docker = { driver: 'docker', nodes: 1, cpus: 2 };
    expect(workersFor(docker, false)).toMatchObject({ count: 4, from: 'builder', reason: expect.stringMatching(/docker driver, 2 CPUs: 2 builds per CPU/) });
    expect(workersFor(docker, true)).toMatchObject({ count: 2, reason: expect.stringMatching(/emulated platforms: one build per CPU/) });
    expect(workersFor({ ...docker, cpus: 1 }, false).count).toBe(2);
    expect(workersFor({ ...docker, cpus: 4 }, true).count).toBe(4);
    // At least two (a build waits on I/O), at most the cap (BuildKit queues the rest).
    expect(workersFor({ ...docker, cpus: 1 }, true).count).toBe(2);
    expect(workersFor({ ...docker, cpus: 64 }, false)).toMatchObject({ count: MAX_DEFAULT_WORKERS, reason: expect.stringMatching(/at most 16/) });
    expect(workersFor({ ...docker, cpus: 64 }, true).count).toBe(MAX_DEFAULT_WORKERS);
  });

  it('other drivers, whose CPUs buildx does not report: a number per node', () => {
    expect(workersFor({ driver: 'docker-container', nodes: 1 }, false)).toMatchObject({ count: 4, reason: expect.stringMatching(/docker-container driver, 1 node \(CPUs not reported\)/) });
    expect(workersFor({ driver: 'remote', nodes: 2 }, true).count).toBe(8);
    expect(workersFor({ driver: 'kubernetes', nodes: 10 }, false).count).toBe(MAX_DEFAULT_WORKERS);
    expect(workersFor({ driver: 'remote', nodes: 0 }, false).count).toBe(4);
  });
});

describe('build says which worker count it chose, and why', () => {
  it('from the builder when the first build runs; the flag when given; provisional when nothing needs the engine, which is not asked', async () => {
    const { cli } = await import('../helpers/cli.ts');
    const { miniSpec } = await import('../helpers/spec.ts');
    const { spyDocker } = await import('../helpers/spy-docker.ts');
    const { outputDoc } = await import('../helpers/output-schema.ts');
    const { readFileSync, existsSync } = await import('node:fs');
    const { dir, manifest } = miniSpec();
    const bin = spyDocker();
    const log = `${dir}/spy.log`;
    const env = { PATH: `${bin}:${process.env['PATH']}`, SPY_LOG: log };
    const build = (...extra: string[]) => cli(['--spec-dir', dir, 'build', manifest, '--all', '--load', '--multi-platform', 'split', '--json', '--output', `${dir}/out`, ...extra], { env });
    const first = build();
    expect(first.code, first.stderr.slice(-2000)).toBe(0);
    // The spy is a docker-container builder of one node, which reports no CPUs.
    expect(outputDoc<{ workers: unknown }>(first.stdout, 'build').workers).toEqual({ count: 4, from: 'builder', reason: 'docker-container driver, 1 node (CPUs not reported): 4 builds per node' });
    expect(first.stderr).toContain('workers: 4 builds and tests at once (docker-container driver, 1 node (CPUs not reported): 4 builds per node)');
    const flagged = build('--force', '--max-workers', '3');
    expect(outputDoc<{ workers: unknown }>(flagged.stdout, 'build').workers).toEqual({ count: 3, from: 'flag', reason: '--max-workers' });
    expect(flagged.stderr).not.toContain('workers: ');
    // (--load tags images locally on every run, so only a selection without images needs no engine.)
    const calls = existsSync(log) ? readFileSync(log, 'utf8').length : 0;
    const noop = cli(['--spec-dir', dir, 'build', manifest, '--only', 'render:mini/docs', '--load', '--multi-platform', 'split', '--json', '--output', `${dir}/out`], { env });
    expect(outputDoc<{ workers: unknown }>(noop.stdout, 'build').workers).toEqual({ count: 5, from: 'provisional', reason: 'no build ran, so the builder was not asked' });
    expect(existsSync(log) ? readFileSync(log, 'utf8').length : 0).toBe(calls);
  });
});
