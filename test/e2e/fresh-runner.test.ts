// A fresh runner on the real engine and registry: after a family is published, a run with no
// state file skips every task in a constant number of registry requests (the package's
// summary), counted in the process from undici's diagnostics channel, and starts no docker process; after one template edit,
// a fresh run rebuilds exactly that chain, and the summary then covers the new images too.
import { appendFileSync, chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/spec.ts';
import { cli } from '../helpers/cli.ts';
import { e2eEnv, e2eSpec, idsOf, taskRows } from '../helpers/e2e.ts';

const env = e2eEnv();

describe('a fresh runner', () => {
  const e = env;
  const ns = `fresh-${Date.now().toString(36)}`;
  let s: ReturnType<typeof e2eSpec>;
  const creds = { E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password };

  /** `build --all` into a new output directory (no state file), with its registry requests counted. */
  const fresh = () => {
    const dir = tempDir();
    const file = join(dir, 'requests');
    // A docker that counts its own invocations: a no-op starts none, whatever --multi-platform auto would ask.
    const real = spawnSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(join(dir, 'docker'), `#!/bin/sh\necho "$*" >> ${dir}/docker-calls\nexec ${real} "$@"\n`);
    chmodSync(join(dir, 'docker'), 0o755);
    const r = cli(['build', s.manifest, '--all', '--output', join(dir, 'generated'), '--json'], {
      env: { ...creds, PATH: `${dir}:${process.env['PATH']}`, MANAGER_COUNT_REQUESTS: file, NODE_OPTIONS: `--import=${join(REPO, 'bench', 'count-requests.mjs')}` },
      timeoutMs: 600_000,
    });
    const docker = existsSync(join(dir, 'docker-calls')) ? readFileSync(join(dir, 'docker-calls'), 'utf8').trim().split('\n') : [];
    return { code: r.code, stderr: r.stderr, rows: taskRows(r.stdout, r.stderr), requests: existsSync(file) ? Number(readFileSync(file, 'utf8')) : NaN, docker };
  };
  const notSkipped = (rows: ReturnType<typeof taskRows>) => rows.filter((x) => x.kind !== 'render' && x.status !== 'skipped').map((x) => x.id);

  beforeAll(() => {
    s = e2eSpec(e, ns, 'offline');
    // One platform: the test is about what the registry is asked, not about emulation.
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replace('architectures: [amd64, arm64v8]\n    releases', 'architectures: [amd64]\n    releases'));
    const first = cli(['build', s.manifest, '--all', '--output', s.generated, '--json'], { env: creds, timeoutMs: 900_000 });
    expect(first.code, first.stderr.slice(-3000)).toBe(0);
  }, 900_000);

  it('skips everything through the summary, in a constant number of requests', () => {
    const r = fresh();
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(notSkipped(r.rows)).toEqual([]);
    const decided = r.rows.filter((x) => x.kind === 'build' || x.kind === 'test' || x.kind === 'manifest');
    expect(decided).toHaveLength(16);
    // Twice (choosing the platform strategy without a builder, then deciding) the host's one 401,
    // the summary's tag and its blob: not one per image.
    expect(r.requests).toBeLessThanOrEqual(6);
    expect(r.docker).toEqual([]);
    expect(r.stderr).toContain("every build of that plan is published (the registry's publication summary), so the builder was not asked");
  });

  it('after one template edit, a fresh run rebuilds exactly that chain; the next fresh run skips it all again', () => {
    appendFileSync(join(s.dir, 'templates', 'debian', 'devel.Dockerfile.eta'), 'LABEL e2e.fresh-change="1"\n');
    const r = fresh();
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(idsOf(r.rows, 'build', 'built')).toEqual(['build:offline-app/bookworm/devel/py3.11/amd64', 'build:offline-app/bookworm/devel/py3.9/amd64']);
    expect(idsOf(r.rows, 'manifest', 'ran')).toEqual(['manifest:offline-app/bookworm/devel/py3.11', 'manifest:offline-app/bookworm/devel/py3.9']);
    expect(notSkipped(r.rows).filter((id) => !id.includes('/devel/'))).toEqual([]);
    const again = fresh();
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    expect(notSkipped(again.rows)).toEqual([]);
    expect(again.requests).toBeLessThanOrEqual(6);
    expect(again.docker).toEqual([]);
  });
});
