// build --check: BuildKit's Dockerfile checks per selected Dockerfile, capability-detected, with
// each warning at its file and line; the argv and the report read are pure and tested here, the
// run through a spy docker (the real engine here is too old: test/e2e/build-checks.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildxVersion, checkArgv, checkLines, checksUnsupported, parseCheckOutput } from '../../core/buildx/checks.ts';
import type { BuilderInfo } from '../../core/buildx/argv.ts';
import { cli } from '../helpers/cli.ts';
import { outputDoc } from '../helpers/output-schema.ts';
import { miniSpec } from '../helpers/spec.ts';
import { spyDocker } from '../helpers/spy-docker.ts';

const builder = (buildkit: string): BuilderInfo => ({ name: 'b', driver: 'docker-container', platforms: ['linux/amd64'], buildkit } as BuilderInfo);
// The shape buildx prints for --call check,format=json (docs.docker.com/build/checks).
const REPORT = JSON.stringify({
  warnings: [
    { ruleName: 'FromAsCasing', description: "The 'as' keyword should match the case of the 'from' keyword", url: 'https://docs.docker.com/go/dockerfile/rule/from-as-casing/', detail: "'as' and 'FROM' keywords' casing do not match", location: { sourceIndex: 0, ranges: [{ start: { line: 2, character: 0 }, end: { line: 2, character: 0 } }] } },
    { ruleName: 'JSONArgsRecommended', description: 'JSON arguments recommended for ENTRYPOINT/CMD', url: 'https://docs.docker.com/go/dockerfile/rule/json-args-recommended/', location: { ranges: [{ start: { line: 4 } }] } },
  ],
  sources: [{ filename: 'Dockerfile' }],
});

describe('Dockerfile checks', () => {
  it('need buildx 0.15 and BuildKit 0.14, and say which part is too old', () => {
    expect(buildxVersion('github.com/docker/buildx v0.17.1 a1b2c3')).toBe('0.17.1');
    expect(buildxVersion('github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3')).toBe('0.13.1');
    expect(checksUnsupported('0.17.1', builder('v0.16.0'))).toBeUndefined();
    expect(checksUnsupported('0.13.1', builder('v0.16.0'))).toMatch(/buildx 0\.13\.1 has no --call check \(it came in buildx 0\.15\)/);
    expect(checksUnsupported('0.17.1', builder('v0.8+unknown'))).toMatch(/runs BuildKit v0\.8\+unknown, whose Dockerfile frontend has no checks \(BuildKit 0\.14/);
    expect(checksUnsupported('0.13.1', builder('v0.8+unknown'))).toMatch(/buildx 0\.13\.1.*; builder "b" runs BuildKit v0\.8/);
    // A distribution engine that says v0.0.0: unknown, so asked.
    expect(checksUnsupported('0.17.1', builder('v0.0.0+unknown'))).toBeUndefined();
  });

  it('run the build a run would, with --call check,format=json and nothing pushed', () => {
    expect(checkArgv({ contextDir: '/g/deb/base', platforms: ['linux/amd64', 'linux/arm64'], buildArgs: { PYTHON_VERSION: '3.11', BASE_IMAGE: 'x' } })).toEqual([
      'docker', 'buildx', 'build', '--call', 'check,format=json', '--progress', 'quiet', '--platform', 'linux/amd64', '--build-arg', 'BASE_IMAGE=x', '--build-arg', 'PYTHON_VERSION=3.11', '/g/deb/base',
    ]);
  });

  it('read buildx\'s report, and refuse what is not one', () => {
    expect(parseCheckOutput(REPORT)).toEqual([
      { rule: 'FromAsCasing', description: "The 'as' keyword should match the case of the 'from' keyword", url: 'https://docs.docker.com/go/dockerfile/rule/from-as-casing/', detail: "'as' and 'FROM' keywords' casing do not match", line: 2 },
      { rule: 'JSONArgsRecommended', description: 'JSON arguments recommended for ENTRYPOINT/CMD', url: 'https://docs.docker.com/go/dockerfile/rule/json-args-recommended/', line: 4 },
    ]);
    expect(parseCheckOutput('{"warnings":[]}')).toEqual([]);
    expect(parseCheckOutput('ERROR: failed to solve')).toBeUndefined();
    expect(checkLines([{ dockerfile: 'deb/base/Dockerfile', images: ['deb/base/py3.10'], warnings: parseCheckOutput(REPORT)! }], '/g/mini', '/g')).toEqual([
      "mini/deb/base/Dockerfile:2: FromAsCasing: The 'as' keyword should match the case of the 'from' keyword ('as' and 'FROM' keywords' casing do not match) https://docs.docker.com/go/dockerfile/rule/from-as-casing/",
      'mini/deb/base/Dockerfile:4: JSONArgsRecommended: JSON arguments recommended for ENTRYPOINT/CMD https://docs.docker.com/go/dockerfile/rule/json-args-recommended/',
    ]);
  });

  it('build --check checks each selected Dockerfile once, reports per image, exits 1 on a warning and builds nothing', () => {
    const { dir, manifest } = miniSpec();
    const bin = spyDocker();
    const log = join(dir, 'spy.log');
    const env = { PATH: `${bin}:${process.env['PATH']}`, SPY_LOG: log, SPY_BUILDKIT: 'v0.16.0' };
    const clean = cli(['--spec-dir', dir, 'build', manifest, '--all', '--check', '--json'], { env });
    expect(clean.code, clean.stderr).toBe(0);
    const doc = outputDoc<{ ok: boolean; checks: { dockerfile: string; images: string[]; warnings: unknown[] }[] }>(clean.stdout, 'checks');
    expect(doc.checks.map((c) => c.dockerfile)).toEqual(['deb/base/Dockerfile', 'deb/runtime/Dockerfile']);
    expect(doc.checks[0]!.images).toEqual(['deb/base/py3.10', 'deb/base/py3.11']);
    const calls = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
    expect(calls.filter((a) => a.includes('--call'))).toHaveLength(2);
    expect(calls.some((a) => a[2] === 'build' && !a.includes('--call'))).toBe(false);
    const warned = cli(['--spec-dir', dir, 'build', manifest, '--all', '--check'], { env: { ...env, SPY_CHECK_JSON: REPORT } });
    expect(warned.code).toBe(1);
    expect(warned.stdout).toMatch(/deb\/base\/Dockerfile:2: FromAsCasing: /);
    expect(warned.stdout).toMatch(/2 Dockerfiles checked: 4 warnings/);
    const old = cli(['--spec-dir', dir, 'build', manifest, '--all', '--check'], { env: { ...env, SPY_BUILDX_VERSION: 'github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3' } });
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/Dockerfile checks cannot run here: buildx 0\.13\.1 has no --call check/);
  });
});
