// On the real engine: NVIDIA's layout, a release's directory inside another's
// (`runtime/` and `runtime/cudnn/`). Both Dockerfiles `COPY .` into the image; the outer one's context
// holds its own files and its generated .dockerignore, never the nested directory's files, so
// a change there rebuilds the nested image alone.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { e2eEnv, e2eSpec, removeLocalImages, taskRows } from '../helpers/e2e.ts';

const env = e2eEnv();

describe('a release directory inside another, on the real engine', () => {
  const ns = `nested-${Date.now().toString(36)}`;
  const s = e2eSpec(env, ns, 'offline');
  afterAll(() => {
    rmSync(s.dir, { recursive: true, force: true });
    removeLocalImages(ns);
  });

  it('the outer build context lacks the nested directory, and a change in it rebuilds only the nested image', () => {
    const text = readFileSync(s.manifest, 'utf8')
      .replace('architectures: [amd64, arm64v8]\n    releases: [base, runtime, devel]', 'architectures: [amd64]\n    releases: [base, runtime, cudnn]')
      // Functions, so the `$` of a pattern is not read as a replacement pattern.
      .replace('  devel:\n    parent: runtime\n    tags: ["devel-python{python}-{distro}"]\n', () => [
        '  cudnn:',
        '    parent: runtime',
        '    path: runtime/cudnn',
        '    files: [{ path: cudnn.txt, template: cudnn.txt }]',
        '    tags: ["{version}-python{python}-{distro}-cudnn"]',
        '    tests:',
        '      - name: context',
        '        run: "echo $(ls -A /ctx-cudnn)"',
        "        expect: { output: '^Dockerfile cudnn\\.txt\\s*$' }",
        '',
      ].join('\n'))
      .replace('        expect: { output: "hello from offline-app {version} on python {python} on (x86_64|aarch64)" }\n', () => [
        '        expect: { output: "hello from offline-app {version} on python {python} on (x86_64|aarch64)" }',
        '      - name: context',
        '        run: "echo $(ls -A /ctx)"',
        "        expect: { output: '^\\.dockerignore Dockerfile\\s*$' }",
        '',
      ].join('\n'));
    writeFileSync(s.manifest, text);
    const runtime = join(s.dir, 'templates/debian/runtime.Dockerfile.eta');
    writeFileSync(runtime, `${readFileSync(runtime, 'utf8')}COPY . /ctx\n`);
    const cudnn = join(s.dir, 'templates/debian/cudnn.Dockerfile.eta');
    writeFileSync(cudnn, 'ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\nCOPY . /ctx-cudnn\n');
    writeFileSync(join(s.dir, 'templates/debian/cudnn.txt.eta'), 'cudnn 9.5\n');
    const creds = { E2E_REGISTRY_USER: env.user, E2E_REGISTRY_PASSWORD: env.password };
    const build = () => cli(['build', s.manifest, '--python-version', '3.11', '--output', s.generated, '--json'], { env: creds });
    const run = build();
    const rows = taskRows(run.stdout, run.stderr);
    const failures = (rs: typeof rows) => rs.filter((r) => r.status === 'failed').map((r) => `${r.id}: ${r.log ? readFileSync(r.log, 'utf8').slice(-1500) : ''}`).join('\n');
    expect(run.code, failures(rows) || run.stderr.slice(-3000)).toBe(0);
    const outer = 'build:offline-app/bookworm/runtime/py3.11/amd64';
    const inner = 'build:offline-app/bookworm/cudnn/py3.11/amd64';
    const statuses = (rs: typeof rows) => rs.filter((r) => r.kind === 'build').map((r) => `${r.id} ${r.status}`).sort();
    expect(statuses(rows)).toEqual(['build:offline-app/bookworm/base/py3.11/amd64 built', `${inner} built`, `${outer} built`]);
    // Each image's tests passed (one test task per image and platform): the outer image's context
    // held .dockerignore and Dockerfile only, the nested one's its own files.
    expect(rows.filter((r) => r.kind === 'test').map((r) => r.status)).toEqual(['ran', 'ran', 'ran']);
    const dir = join(s.generated, 'offline-app/bookworm/runtime');
    expect(readFileSync(join(dir, '.dockerignore'), 'utf8')).toBe('# Generated: the image directories inside this one stay out of its build context.\n/cudnn\n');
    expect(readFileSync(join(dir, 'cudnn/cudnn.txt'), 'utf8')).toBe('cudnn 9.5\n');
    // The nested directory's file changes: its image rebuilds, the outer one is up to date.
    writeFileSync(join(s.dir, 'templates/debian/cudnn.txt.eta'), 'cudnn 9.6\n');
    const again = build();
    const after = taskRows(again.stdout, again.stderr);
    expect(again.code, failures(after) || again.stderr.slice(-3000)).toBe(0);
    expect(statuses(after)).toEqual(['build:offline-app/bookworm/base/py3.11/amd64 skipped', `${inner} built`, `${outer} skipped`]);
    expect(after.find((r) => r.id === outer)!.hash).toBe(rows.find((r) => r.id === outer)!.hash);
  });
});
