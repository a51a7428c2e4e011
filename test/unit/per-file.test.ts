// Two spec features BentoML's own manifests had: an axis whose values each get a Dockerfile in
// the shared directory (`Dockerfile-conda`), and per-architecture data kept in included files.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bakeFile } from '../../core/buildx/bake.ts';
import { buildArgv } from '../../core/buildx/argv.ts';
import { buildInvocation } from '../../core/buildx/invocation.ts';
import { libraryFile } from '../../core/views/library.ts';
import { SIBLING_IGNORE, loadPlan } from '../../core/plan/plan.ts';
import type { BuildTask, RenderTask } from '../../core/plan/task.ts';
import { MINI_SPEC, MINI_TEMPLATES, planError, writeTree } from '../helpers/spec.ts';

const ENV_AXIS = `axes:
  env:
    render: per-file
    id: ""
    default: pip
    values:
      pip: { vars: { suffix: "", image: "example/python:{python}" } }
      conda: { vars: { suffix: "-conda", image: "example/debian:slim" } }
`;

/** The mini spec with an `env` axis on its root, each value with its own image and tag suffix. */
function condaSpec(templates: Record<string, string> = {}): string {
  const spec = MINI_SPEC
    .replace('releases:\n  base:\n    tags: ["base-python{python}-{distro}"]', 'releases:\n  base:\n    axes: [env]\n    tags: ["base-python{python}-{distro}{env.suffix}"]')
    .replace('tags: ["{version}-python{python}-{alias}-runtime"]', 'tags: ["{version}-python{python}-{alias}-runtime{env.suffix}"]')
    .replace('image: example/python:{python}', 'image: "{env.image}"');
  const dir = writeTree({
    'manifest.yaml': `${spec}${ENV_AXIS}`,
    ...MINI_TEMPLATES,
    'templates/debian/base.Dockerfile.eta': 'ARG PYTHON_VERSION\nARG BASE_IMAGE=<%= it.from.default %>\nFROM ${BASE_IMAGE}\nRUN echo <%= it.values.env.value %>\n',
    ...templates,
  });
  return join(dir, 'manifest.yaml');
}

const builds = (manifest: string) => [...loadPlan(manifest).tasks.values()].filter((t): t is BuildTask => t.kind === 'build');

describe('an axis rendered per file', () => {
  const plan = loadPlan(condaSpec());
  const renders = [...plan.tasks.values()].filter((t): t is RenderTask => t.kind === 'render' && t.dir !== '');

  it('gives each value its own Dockerfile in the shared directory: Dockerfile for the default, Dockerfile-<value> for the others', () => {
    expect(renders.map((r) => `${r.id} ${r.files.map((f) => f.path).join(' ')}`).sort()).toEqual([
      'render:mini/deb/base deb/base/Dockerfile deb/base/Dockerfile.dockerignore',
      'render:mini/deb/base/Dockerfile-conda deb/base/Dockerfile-conda deb/base/Dockerfile-conda.dockerignore',
      'render:mini/deb/runtime deb/runtime/Dockerfile deb/runtime/Dockerfile.dockerignore',
      'render:mini/deb/runtime/Dockerfile-conda deb/runtime/Dockerfile-conda deb/runtime/Dockerfile-conda.dockerignore',
    ]);
    // BuildKit reads <Dockerfile>.dockerignore for that Dockerfile only: no build's context holds
    // a Dockerfile its hash does not cover. The same text everywhere, so a new value changes none.
    for (const r of renders) expect(r.files[1]!.content).toBe(SIBLING_IGNORE);
    expect(SIBLING_IGNORE.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(['Dockerfile*']);
    const conda = renders.find((r) => r.dockerfile === 'Dockerfile-conda' && r.release === 'base')!;
    expect(conda.files[0]!.content).toBe('ARG PYTHON_VERSION\nARG BASE_IMAGE=example/debian:slim\nFROM ${BASE_IMAGE}\nRUN echo conda\n');
    const pip = renders.find((r) => r.dockerfile === 'Dockerfile' && r.release === 'base')!;
    expect(pip.files[0]!.content).toBe('ARG PYTHON_VERSION\nARG BASE_IMAGE=example/python:${PYTHON_VERSION}\nFROM ${BASE_IMAGE}\nRUN echo pip\n');
  });

  it('keeps the default value out of keys and ids, so adding such an axis renames nothing', () => {
    expect(plan.variants.map((v) => `${v.key} ${v.dockerfile} ${v.tags.join(',')} ${v.baseImage ?? ''}`).sort()).toEqual([
      'deb/base/py3.10 Dockerfile base-python3.10-deb example/python:3.10',
      'deb/base/py3.10/conda Dockerfile-conda base-python3.10-deb-conda example/debian:slim',
      'deb/base/py3.11 Dockerfile base-python3.11-deb example/python:3.11',
      'deb/base/py3.11/conda Dockerfile-conda base-python3.11-deb-conda example/debian:slim',
      'deb/runtime/py3.10 Dockerfile 1.2.3-python3.10-d-runtime ',
      'deb/runtime/py3.10/conda Dockerfile-conda 1.2.3-python3.10-d-runtime-conda ',
      'deb/runtime/py3.11 Dockerfile 1.2.3-python3.11-d-runtime ',
      'deb/runtime/py3.11/conda Dockerfile-conda 1.2.3-python3.11-d-runtime-conda ',
    ]);
  });

  it('hashes each build by its own Dockerfile: a change to the conda template rebuilds the conda images only', () => {
    const before = new Map(builds(condaSpec()).map((b) => [b.id, b.hash.value]));
    const changed = condaSpec({ 'templates/debian/base.Dockerfile.eta': 'ARG PYTHON_VERSION\nARG BASE_IMAGE=<%= it.from.default %>\nFROM ${BASE_IMAGE}\nRUN echo <%= it.values.env.value %><%= it.values.env.value === "conda" ? " again" : "" %>\n' });
    const rebuilt = builds(changed).filter((b) => before.get(b.id) !== b.hash.value).map((b) => b.id).sort();
    expect(rebuilt).toEqual([
      'build:mini/deb/base/py3.10/conda/amd64', 'build:mini/deb/base/py3.10/conda/arm64v8', 'build:mini/deb/base/py3.11/conda/amd64', 'build:mini/deb/base/py3.11/conda/arm64v8',
      'build:mini/deb/runtime/py3.10/conda/amd64', 'build:mini/deb/runtime/py3.10/conda/arm64v8', 'build:mini/deb/runtime/py3.11/conda/amd64', 'build:mini/deb/runtime/py3.11/conda/arm64v8',
    ]);
  });

  it('names the Dockerfile to buildx, bake and bashbrew only when it is not `Dockerfile`', () => {
    const ctx = { packageDir: '/g/mini', plan, stagingRepo: 'reg/mini-staging', mode: 'push', cacheExport: true } as const;
    const conda = plan.tasks.get('build:mini/deb/base/py3.10/conda/amd64') as BuildTask;
    const pip = plan.tasks.get('build:mini/deb/base/py3.10/amd64') as BuildTask;
    const condaArgv = buildArgv(buildInvocation(conda, undefined, ctx));
    expect(condaArgv.slice(condaArgv.indexOf('--file'), condaArgv.indexOf('--file') + 2)).toEqual(['--file', '/g/mini/deb/base/Dockerfile-conda']);
    expect(condaArgv.at(-1)).toBe('/g/mini/deb/base');
    expect(buildArgv(buildInvocation(pip, undefined, ctx))).not.toContain('--file');
    const bake = bakeFile(plan, { selected: new Set([conda.id, pip.id]), packageDir: '/g/mini', bakeDir: '/g', stagingRepo: 'r/s', parentMode: 'args', push: true });
    expect(Object.values(bake.target).map((t) => `${t['context']} ${t['dockerfile']}`).sort()).toEqual(['mini/deb/base Dockerfile', 'mini/deb/base Dockerfile-conda']);
    // bashbrew reads the Dockerfile's name from `File:` (the images here need build args, which
    // bashbrew cannot pass, so the entry is written by hand).
    const entry = { tags: ['x-conda'], sharedTags: [], architectures: ['amd64'], gitCommit: 'c0ffee', directory: 'deb/base' };
    expect(libraryFile({ maintainers: ['x'], gitRepo: 'g' }, [{ ...entry, file: 'Dockerfile-conda' }])).toContain('Directory: deb/base\nFile: Dockerfile-conda\n');
    expect(libraryFile({ maintainers: ['x'], gitRepo: 'g' }, [entry])).not.toContain('File:');
  });

  it('cannot name a directory, and a support file two Dockerfiles write differently is an error', () => {
    const spec = condaSpec();
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('package: mini', 'package: mini\ndirectory: "{distro}/{release}/{env}"'));
    expect(planError(spec).diagnostics.map((d) => d.message).join('\n')).toMatch(/directory uses \{env\}, but axis "env" puts its values' Dockerfiles in one directory \(render: per-file\)/);
    const files = condaSpec({ 'templates/debian/note.eta': '<%= it.values.env.value %>\n' });
    writeFileSync(files, readFileSync(files, 'utf8').replace('    axes: [env]\n', '    axes: [env]\n    files: [{ path: note, template: note }]\n'));
    const conflict = planError(files).diagnostics.find((d) => /is written by both/.test(d.message))!;
    expect(conflict.line).toBeGreaterThan(1);
    expect(readFileSync(files, 'utf8').split('\n')[conflict.line! - 1]).toContain('files:');
    const clash = condaSpec();
    writeFileSync(clash, readFileSync(clash, 'utf8').replace('    axes: [env]\n', '    axes: [env]\n    files: [{ path: Dockerfile-conda, template: note }]\n'));
    expect(planError(clash).diagnostics.map((d) => d.message).join('\n')).toMatch(/file path "Dockerfile-conda" must be a plain file name .* and not start with "Dockerfile"/);
    expect(planError(files).diagnostics.map((d) => d.message).join('\n')).toMatch(/deb\/base\/note is written by both render:mini\/deb\/base and render:mini\/deb\/base\/Dockerfile-conda with different content/);
  });
});

describe('including per-architecture data files', () => {
  const spec = (data: Record<string, string>, include = 'data/amd64.yaml') => {
    const dir = writeTree({
      'manifest.yaml': `${MINI_SPEC}axes:
  cuda:
    arg: CUDA_VERSION
    values:
      "11.6":
        vars: { major: "11" }
        architectures:
          amd64: { include: ${include} }
          arm64v8: { components: { cudnn: "8.1" } }
`.replace('  runtime:\n    parent: base\n', '  runtime:\n    parent: base\n    axes: [cuda]\n'),
      ...MINI_TEMPLATES,
      'templates/debian/runtime.Dockerfile.eta': 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n<% for (const a of it.architectures) { %>RUN echo <%= a.name %> <%= a.axes.cuda["11.6"].major %> <%= a.axes.cuda["11.6"].components.cudnn %>\n<% } %>',
      ...data,
    });
    return join(dir, 'manifest.yaml');
  };

  it('reads each included file as that architecture\'s data, and lists it among the spec\'s files', () => {
    const plan = loadPlan(spec({ 'data/amd64.yaml': 'components:\n  cudnn: "8.4"\n' }));
    const df = [...plan.tasks.values()].find((t): t is RenderTask => t.kind === 'render' && t.release === 'runtime')!.files[0]!.content;
    expect(df).toContain('RUN echo amd64 11 8.4\nRUN echo arm64v8 11 8.1\n');
    expect(plan.spec.source.files.some((f) => f.endsWith('/data/amd64.yaml'))).toBe(true);
  });

  it('reports a problem inside an included file at its own file, line and column', () => {
    const e = planError(spec({ 'data/amd64.yaml': 'components:\n  cudnn: "8.4"\n  cudnn: "8.5"\n' }));
    expect(e.diagnostics.map((d) => `${d.file?.split('/').slice(-2).join('/')}:${d.line}:${d.column}`)).toContain('data/amd64.yaml:3:3');
  });

  it('refuses a missing file, a file outside the spec root and a file that is not a mapping, where the include names it', () => {
    const missing = planError(spec({}));
    expect(missing.diagnostics[0]).toMatchObject({ line: 35, column: 29 });
    expect(missing.diagnostics[0]!.message).toMatch(/cannot read data file .*data\/amd64\.yaml \(named by include\)/);
    expect(planError(spec({ 'data/amd64.yaml': '- a\n' })).diagnostics[0]!.message).toMatch(/data file .*amd64\.yaml \(named by include\) must be a YAML mapping/);
    expect(planError(spec({}, '/etc/hostname')).diagnostics[0]!.message).toMatch(/include names \/etc\/hostname, outside the spec root/);
  });

  it('refuses more included bytes than four spec files\' worth, counting each inclusion of a file', () => {
    // 1.1 MB of data, included by 17 architectures: the first 15 fit in the 16 MiB budget.
    const big = `components: { c: "${'x'.repeat(1_100_000 - 22)}" }\n`;
    const archs = Array.from({ length: 17 }, (_, i) => `a${i}`);
    const dir = writeTree({
      'manifest.yaml': `${MINI_SPEC.replace('  arm64v8: linux/arm64\n', `  arm64v8: linux/arm64\n${archs.map((a) => `  ${a}: linux/amd64\n`).join('')}`)}axes:\n  big:\n    values:\n      "1":\n        architectures:\n${archs.map((a) => `          ${a}: { include: big.yaml }\n`).join('')}`,
      ...MINI_TEMPLATES,
      'big.yaml': big,
    });
    expect(big.length).toBe(1_100_000);
    const e = planError(join(dir, 'manifest.yaml'));
    expect(e.diagnostics.filter((d) => /goes over the 16777216 bytes all included data files may bring in/.test(d.message))).toHaveLength(2);
  });
});
