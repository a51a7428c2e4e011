// The bento-server GPU and conda mechanisms on the real engine and registry: the CUDA stack as
// data (per-architecture files included into the spec) rendered by the real
// templates/bento-server/partials/cuda-stages.eta into one stage per CUDA version and
// architecture, BuildKit picking the stage by CUDA_VERSION and TARGETARCH; and a per-file axis
// whose conda value builds from `Dockerfile-conda` beside `Dockerfile`.
//
// NVIDIA's and Anaconda's repositories cannot be reached from the test machines, so the
// package table maps the CUDA components to small Debian packages (tini, file) as stand-ins,
// and the conda base only records its value; what is checked is what the tool decides: the
// stages, the environment each platform's image carries, the holds, the Dockerfile each build
// reads, and that a conda-only change rebuilds the conda images and nothing else.
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, type CliResult } from '../helpers/cli.ts';
import { docker, e2eEnv, idsOf as ids, taskRows, type TaskRow, localRegistryLines } from '../helpers/e2e.ts';
import { REPO, tempDir, writeTree } from '../helpers/spec.ts';

const env = e2eEnv();
const REQUIRES_AMD64 = 'cuda>=11.6 brand=tesla,driver>=470,driver<471';

describe('CUDA stages from per-architecture data, and Dockerfile-conda beside Dockerfile', () => {
  const ns = `cuda-${Date.now().toString(36)}`;
  const repo = `${env.registry}/${ns}/gpu`;
  let dir = '';
  let manifest = '';
  let generated = '';
  const build = (): { code: number; rows: TaskRow[]; r: CliResult } => {
    const r = cli(['build', manifest, '--all', '--output', generated, '--json'], { env: { E2E_REGISTRY_USER: env.user, E2E_REGISTRY_PASSWORD: env.password }, timeoutMs: 15 * 60_000 });
    return { code: r.code, rows: taskRows(r.stdout, r.stderr), r };
  };
  const baseTemplate = (extra: string) =>
    `ARG BASE_IMAGE=<%= it.from.default %>\nFROM \${BASE_IMAGE}\nCOPY . /ctx/\nRUN echo <%= it.values.python_env.value %> > /flavor${extra}\n`;

  beforeAll(() => {
    dir = tempDir('manager-e2e-cuda-');
    manifest = join(dir, 'manifest.yaml');
    generated = join(dir, 'generated');
    writeTree({
      'manifest.yaml': [
        'package: gpu',
        'version: 1.0.0',
        'templates: ./templates',
        'architectures: { amd64: linux/amd64, arm64v8: linux/arm64 }',
        'axes:',
        '  python_env:',
        '    render: per-file',
        '    id: ""',
        '    default: pip',
        '    values:',
        '      pip: { vars: { suffix: "" } }',
        '      conda: { vars: { suffix: "-conda" }, architectures: { amd64: {} } }',
        '  cuda:',
        '    arg: CUDA_VERSION',
        '    values:',
        '      "11.6.2":',
        '        vars: { major: "11", minor: "6" }',
        '        architectures:',
        '          amd64: { include: cuda/11.6.2/amd64.yaml }',
        '          arm64v8: { include: cuda/11.6.2/arm64v8.yaml }',
        'releases:',
        '  base:',
        '    axes: [python_env]',
        '    tags: ["base-{distro}{python_env.suffix}"]',
        '    files: [{ path: note, template: note }]',
        '    tests:',
        '      - { name: flavor, run: ["cat", "/flavor"], expect: { output: "^{python_env}\\\\s*$" } }',
        '      # The context is shared by Dockerfile and Dockerfile-conda; each one\'s ignore file keeps the other out.',
        '      - { name: context, run: ["ls", "-A", "/ctx"], expect: { output: "^note\\\\s*$" } }',
        '  cudnn:',
        '    parent: base',
        '    axes: [cuda]',
        '    tags: ["{version}-{distro}-cudnn{python_env.suffix}"]',
        '    tests:',
        '      - { name: cuda-env, run: ["sh", "-c", "echo \\"$CUDA_VERSION|$NVIDIA_REQUIRE_CUDA\\""], expect: { output: "^{cuda}\\\\|cuda>=11\\\\.6" } }',
        '      - { name: held, run: "apt-mark showhold | tr \'\\\\n\' \' \'", expect: { output: "^file tini $" } }',
        'distros:',
        '  bookworm:',
        '    alias: bookworm',
        '    family: debian',
        '    package_manager: apt',
        `    image: "${env.baseImage}"`,
        '    architectures: [amd64, arm64v8]',
        '    releases: [base, cudnn]',
        'registries:',
        ...localRegistryLines(env, ns),
        'build: { max_workers: 2, timeout: 900 }',
        'vars:',
        '  nvidia_arch: { amd64: x86_64, arm64v8: sbsa }',
        '  cuda_repository: { debian: "https://developer.download.nvidia.com/compute/cuda/repos/{distro}/{nvarch}" }',
        '  # Stand-ins: Debian packages for two CUDA components, unpinned (the archive moves).',
        '  cuda_packages:',
        '    cudart: { release: cudnn, debian: ["tini"] }',
        '    cudnn: { release: cudnn, debian: ["file"] }',
        '',
      ].join('\n'),
      'cuda/11.6.2/amd64.yaml': `requires: "${REQUIRES_AMD64}"\ncomponents: { cudart: "11.6.55-1", cudnn: "8.4.1.50-1" }\n`,
      'cuda/11.6.2/arm64v8.yaml': 'requires: "cuda>=11.6"\ncomponents: { cudart: "11.6.55-1", cudnn: "8.4.1.50-1" }\n',
      'templates/debian/base.Dockerfile.eta': baseTemplate(''),
      'templates/debian/note.eta': 'the same for both Dockerfiles\n',
      'templates/debian/cudnn.Dockerfile.eta': [
        '<%~ include("../partials/parent-args", it) -%>',
        'ARG CUDA_VERSION',
        '<%~ include("../partials/cuda-stages", { ...it, stage_prefix: "cuda", nvidia_repository: false, cuda_env: true }) %>',
        'FROM cuda-${CUDA_VERSION}-${TARGETARCH}',
        '',
      ].join('\n'),
    }, dir);
    // The real partials, as the bento-server templates use them.
    mkdirSync(join(dir, 'templates', 'partials'), { recursive: true });
    for (const p of ['cuda-stages.eta', 'parent-args.eta']) copyFileSync(join(REPO, 'templates', 'bento-server', 'partials', p), join(dir, 'templates', 'partials', p));
  });

  it('builds one stage per CUDA version and architecture, and each platform\'s image carries its own pair\'s data', () => {
    const { code, rows, r } = build();
    expect(code, r.stderr.slice(-3000)).toBe(0);
    expect(ids(rows, 'build', 'built')).toEqual([
      'build:gpu/bookworm/base/amd64', 'build:gpu/bookworm/base/arm64v8', 'build:gpu/bookworm/base/conda/amd64',
      'build:gpu/bookworm/cudnn/conda/cuda11.6.2/amd64', 'build:gpu/bookworm/cudnn/cuda11.6.2/amd64', 'build:gpu/bookworm/cudnn/cuda11.6.2/arm64v8',
    ]);
    // Every test passed inside its image: the flavor and the context (base), the variables and the holds (cudnn).
    expect(ids(rows, 'test', 'ran')).toHaveLength(6);
    expect(readdirSync(join(generated, 'gpu', 'bookworm', 'base')).sort()).toEqual(['Dockerfile', 'Dockerfile-conda', 'Dockerfile-conda.dockerignore', 'Dockerfile.dockerignore', 'note']);
    const dockerfile = readFileSync(join(generated, 'gpu', 'bookworm', 'cudnn', 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM \$\{BASE_IMAGE\} AS cuda-11\.6\.2-amd64$/m);
    expect(dockerfile).toMatch(/^FROM \$\{BASE_IMAGE\} AS cuda-11\.6\.2-arm64$/m);
    const inspect = docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Image}}', `${repo}:1.0.0-bookworm-cudnn`]);
    expect(inspect.code, inspect.stderr).toBe(0);
    const images = JSON.parse(inspect.stdout) as Record<string, { config: { Env: string[] } }>;
    const envOf = (platform: string) => Object.fromEntries(images[platform]!.config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    expect(envOf('linux/amd64')).toMatchObject({ CUDA_VERSION: '11.6.2', NVIDIA_REQUIRE_CUDA: REQUIRES_AMD64 });
    expect(envOf('linux/arm64')).toMatchObject({ CUDA_VERSION: '11.6.2', NVIDIA_REQUIRE_CUDA: 'cuda>=11.6' });
  });

  it('builds the conda value from Dockerfile-conda, amd64 only, under its own tags', () => {
    const logs = join(generated, 'gpu', '.logs');
    const log = readFileSync(join(logs, readdirSync(logs).find((f) => f.startsWith('build_gpu_bookworm_base_conda_amd64'))!), 'utf8');
    expect(log).toContain(`--file ${join(generated, 'gpu', 'bookworm', 'base', 'Dockerfile-conda')} `);
    const pipLog = readFileSync(join(logs, readdirSync(logs).find((f) => f.startsWith('build_gpu_bookworm_base_amd64'))!), 'utf8');
    expect(pipLog).not.toContain('--file');
    const inspect = docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Manifest}}', `${repo}:1.0.0-bookworm-cudnn-conda`]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect((JSON.parse(inspect.stdout) as { manifests: { platform: { architecture: string } }[] }).manifests.map((m) => m.platform.architecture)).toEqual(['amd64']);
    const run = docker(['run', '--rm', '--pull', 'always', '--platform', 'linux/amd64', `${repo}:1.0.0-bookworm-cudnn-conda`, 'cat', '/flavor']);
    expect(run.stdout.trim(), run.stderr).toBe('conda');
  });

  it('rebuilds exactly the conda images when only the conda Dockerfile changes', () => {
    writeFileSync(join(dir, 'templates', 'debian', 'base.Dockerfile.eta'), baseTemplate('<%= it.values.python_env.value === "conda" ? " && echo again > /again" : "" %>'));
    const { code, rows, r } = build();
    expect(code, r.stderr.slice(-3000)).toBe(0);
    expect(ids(rows, 'build', 'built')).toEqual(['build:gpu/bookworm/base/conda/amd64', 'build:gpu/bookworm/cudnn/conda/cuda11.6.2/amd64']);
    expect(ids(rows, 'build', 'skipped')).toHaveLength(4);
    expect(readFileSync(join(generated, 'gpu', 'bookworm', 'base', 'Dockerfile'), 'utf8')).not.toContain('again');
  });
});
