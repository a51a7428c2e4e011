// A build secret on the real engine: the spec names the variable, buildx reads it (env=), the
// Dockerfile mounts it, and its value is nowhere the tool writes or prints: not in argv, the
// task log (where a step that echoes it is starred out), the state, the generated tree or the
// image's history. Changing the value rebuilds nothing; adding an id does.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, type CliResult } from '../helpers/cli.ts';
import { allFiles, docker, e2eEnv, removeLocalImages, taskRows, localRegistryLines } from '../helpers/e2e.ts';
import { tempDir, writeTree } from '../helpers/spec.ts';

const env = e2eEnv();
const SECRET = `pip-index-secret-${Date.now().toString(36)}`;

describe('build secrets (RUN --mount=type=secret) on the real engine', () => {
  const ns = `secrets-${Date.now().toString(36)}`;
  const dir = tempDir('manager-e2e-secrets-');
  const manifest = join(dir, 'manifest.yaml');
  const generated = join(dir, 'generated');
  const spec = (secrets: string) => [
    'package: sec',
    'version: 1.0.0',
    'templates: ./templates',
    'architectures: { amd64: linux/amd64 }',
    'releases:',
    '  app:',
    '    tags: ["{version}-{distro}"]',
    `    secrets: ${secrets}`,
    '    tests:',
    '      - name: saw-the-secret',
    '        run: ["cat", "/secret.sha"]',
    `        expect: { output: "^${createHash('sha256').update(SECRET).digest('hex')}  /run/secrets/pip" }`,
    'distros:',
    '  bookworm:',
    '    family: debian',
    '    package_manager: apt',
    `    image: "${env.baseImage}"`,
    '    architectures: [amd64]',
    '    releases: [app]',
    'registries:',
    ...localRegistryLines(env, ns),
    '',
  ].join('\n');
  writeTree({
    'manifest.yaml': spec('[{ id: pip, env: PIP_INDEX_TOKEN }]'),
    // One step hashes the secret into the image; one prints it, as a careless step would. The
    // namespace makes the steps new to the engine: BuildKit's cache keys leave secrets out, so a
    // step cached from another build would hold that build's secret.
    'templates/debian/app.Dockerfile.eta': `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nRUN --mount=type=secret,id=pip sha256sum /run/secrets/pip > /secret.sha && echo ${ns}\nRUN --mount=type=secret,id=pip echo "the token is $(cat /run/secrets/pip) (${ns})"\n`,
  }, dir);
  const outputs: CliResult[] = [];
  const build = (value: string, ...extra: string[]) => {
    const r = cli(['--spec-dir', dir, 'build', manifest, '--all', '--output', generated, '--json', ...extra], { env: { E2E_REGISTRY_USER: env.user, E2E_REGISTRY_PASSWORD: env.password, PIP_INDEX_TOKEN: value }, timeoutMs: 10 * 60_000 });
    outputs.push(r);
    return { r, rows: taskRows(r.stdout, r.stderr) };
  };

  afterAll(() => removeLocalImages(ns));

  it('mounts the secret from the environment: the image holds its hash, the test sees it, nothing shows the value', () => {
    const { r, rows } = build(SECRET);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const b = rows.find((x) => x.id === 'build:sec/bookworm/app/amd64')!;
    expect(b.status).toBe('built');
    expect(rows.find((x) => x.kind === 'test')!.status).toBe('ran');
    // The step that echoed it ran, and its output is in the log, starred out.
    const log = readFileSync(b.log!, 'utf8');
    expect(log).toMatch(/the token is \S+/);
    expect(log).not.toContain(SECRET);
    const hits = [...outputs.map((o) => o.stdout + o.stderr), ...allFiles(dir).map((f) => f.content.toString('utf8'))].filter((t) => t.includes(SECRET));
    expect(hits).toEqual([]);
    // Nor in the pushed image's history (what a secret ARG would leak).
    const ref = `${env.registry}/${ns}/sec:1.0.0-bookworm`;
    expect(docker(['pull', '-q', ref]).code).toBe(0);
    const history = docker(['history', '--no-trunc', ref]);
    expect(history.code).toBe(0);
    expect(history.stdout).not.toContain(SECRET);
    expect(history.stdout).toContain('sha256sum /run/secrets/pip');
  });

  it('a new value rebuilds nothing; a new id rebuilds the release', () => {
    const same = build(`${SECRET}-rotated`);
    expect(same.r.code, same.r.stderr.slice(-2000)).toBe(0);
    expect(same.rows.find((x) => x.kind === 'build')!.status).toBe('skipped');
    writeFileSync(manifest, spec('[{ id: pip, env: PIP_INDEX_TOKEN }, { id: other, env: PIP_INDEX_TOKEN }]'));
    const dry = cli(['--spec-dir', dir, 'build', manifest, '--all', '--output', generated, '--dry-run', '--offline', '--json']);
    const task = (JSON.parse(dry.stdout) as { tasks: { id: string; action: string; reason: string }[] }).tasks.find((t) => t.id === 'build:sec/bookworm/app/amd64')!;
    expect(task).toMatchObject({ action: 'run', reason: 'inputs changed: secrets' });
  });
});
