// On the real engine: a support file's mode reaches the build context. The image COPYs an
// executable from a subdirectory (copied verbatim, `<%` and all) and runs it; with the mode
// changed to 0644 alone, the image rebuilds and that RUN fails with "Permission denied".
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { e2eEnv, e2eSpec, removeLocalImages, taskRows } from '../helpers/e2e.ts';

const env = e2eEnv();

describe('support files on the real engine', () => {
  const ns = `files-${Date.now().toString(36)}`;
  const s = e2eSpec(env, ns, 'offline');
  afterAll(() => {
    rmSync(s.dir, { recursive: true, force: true });
    removeLocalImages(ns);
  });

  it('an executable from a subdirectory runs in the build, and the image\'s test sees what it wrote', () => {
    const text = readFileSync(s.manifest, 'utf8')
      .replace('architectures: [amd64, arm64v8]\n    releases', 'architectures: [amd64]\n    releases')
      .replace('  base:\n    tags:', [
        '  base:',
        '    files:',
        '      - { path: entrypoint.d/10-banner.sh, source: banner.sh, mode: "0755" }',
        '    tags:',
      ].join('\n'))
      .replace('        expect: { output: "python {python} on (x86_64|aarch64)" }\n', [
        '        expect: { output: "python {python} on (x86_64|aarch64)" }',
        '      - name: banner',
        '        run: "cat /etc/banner"',
        '        expect: { output: "^banner <% not a template %>" }',
        '',
      ].join('\n'));
    writeFileSync(s.manifest, text);
    writeFileSync(join(s.dir, 'templates/debian/banner.sh'), '#!/bin/sh\necho "banner <% not a template %>"\n');
    const dockerfile = join(s.dir, 'templates/debian/base.Dockerfile.eta');
    writeFileSync(dockerfile, `${readFileSync(dockerfile, 'utf8')}WORKDIR /opt/support\nCOPY entrypoint.d ./entrypoint.d\nRUN ./entrypoint.d/10-banner.sh > /etc/banner\n`);
    const creds = { E2E_REGISTRY_USER: env.user, E2E_REGISTRY_PASSWORD: env.password };
    const run = cli(['build', s.manifest, '--releases', 'base', '--python-version', '3.11', '--output', s.generated, '--json'], { env: creds });
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const rows = taskRows(run.stdout, run.stderr);
    expect(rows.find((r) => r.id === 'build:offline-app/bookworm/base/py3.11/amd64')?.status).toBe('built');
    expect(rows.filter((r) => r.kind === 'test').map((r) => r.status)).toEqual(['ran']);
    const script = join(s.generated, 'offline-app/bookworm/base/entrypoint.d/10-banner.sh');
    expect(statSync(script).mode & 0o777).toBe(0o755);
    expect(readFileSync(script, 'utf8')).toBe('#!/bin/sh\necho "banner <% not a template %>"\n');
    // The mode alone, changed: a new build (its hash holds the mode), whose RUN cannot execute the file.
    writeFileSync(s.manifest, text.replace('source: banner.sh, mode: "0755" }', 'source: banner.sh, mode: "0644" }'));
    const again = cli(['build', s.manifest, '--releases', 'base', '--python-version', '3.11', '--output', s.generated, '--json'], { env: creds });
    expect(again.code).not.toBe(0);
    const failed = taskRows(again.stdout, again.stderr).find((r) => r.id === 'build:offline-app/bookworm/base/py3.11/amd64')!;
    expect(failed.status).toBe('failed');
    expect(failed.hash).not.toBe(rows.find((r) => r.id === failed.id)!.hash);
    expect(readFileSync(failed.log!, 'utf8')).toMatch(/Permission denied/);
    expect(statSync(script).mode & 0o777).toBe(0o644);
  });
});
