// NVIDIA's layout: `<cuda>/<distro>/runtime/Dockerfile` and `<cuda>/<distro>/runtime/cudnn/Dockerfile`,
// a release's directory inside another's. A release's `path` names its part of the directory;
// the outer directory's ignore file keeps the nested ones out of its build context, so each
// build's hash still covers everything its context holds.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nestedDirectories, nestedIgnore } from '../../core/load/layout.ts';
import { loadPlan, SIBLING_IGNORE, type Plan } from '../../core/plan/plan.ts';
import type { BuildTask, RenderTask } from '../../core/plan/task.ts';
import { planError, writeTree } from '../helpers/spec.ts';

const SPEC = `package: cuda
templates: ./templates
directory: "{cuda}/{distro}/{release.path}"
build: { parent_arg: IMAGE_NAME }
architectures:
  x86_64: linux/amd64
axes:
  cuda:
    render: per-value
    values: ["12.6.2", "12.6.1"]
releases:
  base:
    axes: [cuda]
    tags: ["{cuda}-base-{distro}"]
  runtime:
    parent: base
    tags: ["{cuda}-runtime-{distro}"]
  cudnn-runtime:
    parent: runtime
    path: runtime/cudnn
    tags: ["{cuda}-cudnn-runtime-{distro}"]
  devel:
    parent: runtime
    tags: ["{cuda}-devel-{distro}"]
  cudnn-devel:
    parent: devel
    path: devel/cudnn
    tags: ["{cuda}-cudnn-devel-{distro}"]
distros:
  ubuntu2204:
    family: ubuntu
    package_manager: apt
    image: ubuntu:22.04
    architectures: [x86_64]
    releases: [base, runtime, cudnn-runtime, devel, cudnn-devel]
`;

const child = (what: string) => `ARG IMAGE_NAME\nFROM \${IMAGE_NAME}\nCOPY . /ctx\nRUN echo ${what}\n`;
const TEMPLATES: Record<string, string> = {
  'templates/ubuntu/base.Dockerfile.eta': 'FROM <%= it.distro.image %>\n',
  'templates/ubuntu/runtime.Dockerfile.eta': child('runtime'),
  'templates/ubuntu/cudnn-runtime.Dockerfile.eta': child('cudnn'),
  'templates/ubuntu/devel.Dockerfile.eta': child('devel'),
  'templates/ubuntu/cudnn-devel.Dockerfile.eta': child('cudnn devel'),
  'templates/ubuntu/note.eta': 'note\n',
};

function tree(spec = SPEC, templates: Record<string, string> = {}): string {
  return join(writeTree({ 'manifest.yaml': spec, ...TEMPLATES, ...templates }), 'manifest.yaml');
}

const render = (plan: Plan, dir: string) => [...plan.tasks.values()].find((t): t is RenderTask => t.kind === 'render' && t.dir === dir)!;
const file = (plan: Plan, path: string) => [...plan.tasks.values()].flatMap((t) => (t.kind === 'render' ? t.files : [])).find((f) => f.path === path);
const builds = (plan: Plan) => new Map([...plan.tasks.values()].filter((t): t is BuildTask => t.kind === 'build').map((t) => [t.id, t.hash.value]));

const IGNORE = '# Generated: the image directories inside this one stay out of its build context.\n/cudnn\n';

describe('a release directory inside another', () => {
  it('names each directory by the release path, and the outer one\'s ignore file leaves exactly the nested one out', () => {
    const plan = loadPlan(tree());
    const dirs = [...plan.tasks.values()].filter((t): t is RenderTask => t.kind === 'render' && t.dir !== '').map((t) => t.dir).sort();
    expect(dirs).toEqual(['12.6.1/ubuntu2204/base', '12.6.1/ubuntu2204/devel', '12.6.1/ubuntu2204/devel/cudnn', '12.6.1/ubuntu2204/runtime', '12.6.1/ubuntu2204/runtime/cudnn',
      '12.6.2/ubuntu2204/base', '12.6.2/ubuntu2204/devel', '12.6.2/ubuntu2204/devel/cudnn', '12.6.2/ubuntu2204/runtime', '12.6.2/ubuntu2204/runtime/cudnn']);
    expect(render(plan, '12.6.2/ubuntu2204/runtime').files.map((f) => f.path)).toEqual(['12.6.2/ubuntu2204/runtime/Dockerfile', '12.6.2/ubuntu2204/runtime/.dockerignore']);
    expect(file(plan, '12.6.2/ubuntu2204/runtime/.dockerignore')!.content).toBe(IGNORE);
    expect(file(plan, '12.6.2/ubuntu2204/devel/.dockerignore')!.content).toBe(IGNORE);
    // Nothing is nested in base or in the cudnn directories: no ignore file there.
    for (const d of ['base', 'runtime/cudnn', 'devel/cudnn']) expect(file(plan, `12.6.2/ubuntu2204/${d}/.dockerignore`), d).toBeUndefined();
    expect(plan.tasks.get('build:cuda/ubuntu2204/cudnn-runtime/cuda12.6.2/x86_64')!.deps).toContain('build:cuda/ubuntu2204/runtime/cuda12.6.2/x86_64');
  });

  it('a change to the nested Dockerfile rebuilds the nested image only; the ignore file is part of the outer build\'s hash', () => {
    const before = builds(loadPlan(tree()));
    const edited = builds(loadPlan(tree(SPEC, { 'templates/ubuntu/cudnn-runtime.Dockerfile.eta': child('cudnn 9.5') })));
    const moved = [...edited].filter(([id, h]) => before.get(id) !== h).map(([id]) => id).sort();
    expect(moved).toEqual(['build:cuda/ubuntu2204/cudnn-runtime/cuda12.6.1/x86_64', 'build:cuda/ubuntu2204/cudnn-runtime/cuda12.6.2/x86_64']);
    // Without the nested release the outer context holds no ignore file, and its hash says so.
    const alone = SPEC.replace(/  cudnn-runtime:\n(    .*\n){3}/, '').replace('runtime, cudnn-runtime, devel', 'runtime, devel');
    const plan = loadPlan(tree(alone));
    expect(file(plan, '12.6.2/ubuntu2204/runtime/.dockerignore')).toBeUndefined();
    const id = 'build:cuda/ubuntu2204/runtime/cuda12.6.2/x86_64';
    expect(builds(plan).get(id)).not.toBe(before.get(id));
    expect(builds(plan).get('build:cuda/ubuntu2204/base/cuda12.6.2/x86_64')).toBe(before.get('build:cuda/ubuntu2204/base/cuda12.6.2/x86_64'));
  });

  it('merges with a .dockerignore the spec writes there, and with a per-file Dockerfile\'s own ignore file', () => {
    const own = SPEC.replace('    parent: base\n    tags: ["{cuda}-runtime-{distro}"]', '    parent: base\n    files: [{ path: .dockerignore, template: ignore }]\n    tags: ["{cuda}-runtime-{distro}"]');
    const merged = loadPlan(tree(own, { 'templates/ubuntu/ignore.eta': '*.md' }));
    expect(file(merged, '12.6.2/ubuntu2204/runtime/.dockerignore')!.content).toBe(`*.md\n${IGNORE}`);
    expect(render(merged, '12.6.2/ubuntu2204/runtime').files.filter((f) => f.path.endsWith('.dockerignore'))).toHaveLength(1);
    // A per-file axis: BuildKit reads each Dockerfile's own ignore file instead of .dockerignore, so each says both.
    const perFile = SPEC.replace('axes:\n  cuda:', 'axes:\n  flavor:\n    render: per-file\n    id: ""\n    values: [std, slim]\n  cuda:')
      .replace('    parent: base\n    tags: ["{cuda}-runtime-{distro}"]', '    parent: base\n    axes: [flavor]\n    tags: ["{cuda}-runtime-{distro}-{flavor}"]')
      .replace(/tags: \["\{cuda\}-(cudnn-runtime|devel|cudnn-devel)-\{distro\}"\]/g, 'tags: ["{cuda}-$1-{distro}-{flavor}"]');
    const plan = loadPlan(tree(perFile));
    expect(file(plan, '12.6.2/ubuntu2204/runtime/Dockerfile.dockerignore')!.content).toBe(`${SIBLING_IGNORE}${IGNORE}`);
    expect(file(plan, '12.6.2/ubuntu2204/runtime/Dockerfile-slim.dockerignore')!.content).toBe(`${SIBLING_IGNORE}${IGNORE}`);
    expect(file(plan, '12.6.2/ubuntu2204/runtime/cudnn/Dockerfile.dockerignore')!.content).toBe(SIBLING_IGNORE);
    expect(file(plan, '12.6.2/ubuntu2204/runtime/.dockerignore')).toBeUndefined();
  });

  it('without `directory`, the default layout uses the path too', () => {
    const plan = loadPlan(tree(SPEC.replace('directory: "{cuda}/{distro}/{release.path}"\n', '').replace('render: per-value\n    values', 'values')
      .replace('  base:\n    axes: [cuda]\n    tags: ["{cuda}-base-{distro}"]', '  base:\n    tags: ["base-{distro}"]')
      .replace(/\{cuda\}-/g, '')));
    expect(file(plan, 'ubuntu2204/runtime/cudnn/Dockerfile')).toBeDefined();
    expect(file(plan, 'ubuntu2204/runtime/.dockerignore')!.content).toBe(IGNORE);
  });

  it('refuses a path that is no relative path of names, that names the release, or uses what no directory may', () => {
    const errors = (path: string) => planError(tree(SPEC.replace('path: runtime/cudnn', `path: "${path}"`))).diagnostics.map((d) => `${d.path}: ${d.message}`);
    expect(errors('../cudnn')).toEqual(['releases.cudnn-runtime.path: path "../cudnn" must be a relative path of names (letters, digits, . _ -), without empty or \'..\' parts']);
    expect(errors('runtime//cudnn')).toEqual(['releases.cudnn-runtime.path: path "runtime//cudnn" must be a relative path of names (letters, digits, . _ -), without empty or \'..\' parts']);
    expect(errors('/runtime/cudnn')[0]).toMatch(/must be a relative path of names/);
    expect(errors('{release}/cudnn')).toEqual(['releases.cudnn-runtime.path: path uses {release}: a release\'s path names its directory itself']);
    expect(errors('{release.path}/cudnn')).toEqual(['releases.cudnn-runtime.path: path uses {release.path}: a release\'s path names its directory itself']);
    expect(errors('{gpu}/cudnn')).toEqual(['releases.cudnn-runtime.path: path uses unknown variable {gpu} (known: {distro}, {alias}, {family}, {package}, {cuda})']);
    // What the path may use resolves: {family} here.
    const plan = loadPlan(tree(SPEC.replace('path: runtime/cudnn', 'path: "runtime/{family}-cudnn"')));
    expect(file(plan, '12.6.2/ubuntu2204/runtime/ubuntu-cudnn/Dockerfile')).toBeDefined();
    expect(file(plan, '12.6.2/ubuntu2204/runtime/.dockerignore')!.content).toBe(IGNORE.replace('/cudnn', '/ubuntu-cudnn'));
    expect(planError(tree(SPEC.replace('"{cuda}/{distro}/{release.path}"', '"{cuda}/{distro}/{release.name}"'))).diagnostics.map((d) => d.message))
      .toEqual(['directory uses {release.name}: only whole names ({distro}, {release}, {release.path}, a per-value axis) name directories']);
  });

  it('refuses a file of the outer directory that lands in the nested one', () => {
    const into = SPEC.replace('    parent: base\n    tags: ["{cuda}-runtime-{distro}"]', '    parent: base\n    files: [{ path: cudnn/note.txt, template: note }]\n    tags: ["{cuda}-runtime-{distro}"]');
    expect(planError(tree(into)).diagnostics.map((d) => d.message)).toContain('12.6.2/ubuntu2204/runtime/cudnn/note.txt (a file of 12.6.2/ubuntu2204/runtime) is inside the image directory 12.6.2/ubuntu2204/runtime/cudnn, whose build context it would change (and which the build of 12.6.2/ubuntu2204/runtime leaves out); give the file a path outside 12.6.2/ubuntu2204/runtime/cudnn');
    // A file of the outer one named like the nested directory: that directory would have to be a file.
    const over = SPEC.replace('    parent: base\n    tags: ["{cuda}-runtime-{distro}"]', '    parent: base\n    files: [{ path: cudnn, template: note }]\n    tags: ["{cuda}-runtime-{distro}"]');
    expect(planError(tree(over)).diagnostics.map((d) => d.message)).toContain('12.6.2/ubuntu2204/runtime/cudnn/Dockerfile needs 12.6.2/ubuntu2204/runtime/cudnn to be a directory, but 12.6.2/ubuntu2204/runtime/cudnn is a file too');
  });
});

describe('nested directories and their ignore lines', () => {
  it('lists the outermost directories inside one, relative to it', () => {
    expect(nestedDirectories('a', ['a', 'a/b', 'a/b/c', 'a/d/e', 'ab', 'ab/c', 'x/a/b'])).toEqual(['b', 'd/e']);
    expect(nestedDirectories('a/b', ['a', 'a/b', 'a/b/c'])).toEqual(['c']);
    expect(nestedDirectories('a', ['a'])).toEqual([]);
  });

  it('appends to what an ignore file says already, or says nothing without nested directories', () => {
    expect(nestedIgnore([], 'x\n')).toBe('x\n');
    expect(nestedIgnore([])).toBe('');
    expect(nestedIgnore(['b', 'd/e'])).toBe('# Generated: the image directories inside this one stay out of its build context.\n/b\n/d/e\n');
    expect(nestedIgnore(['b'], '*.md')).toBe('*.md\n# Generated: the image directories inside this one stay out of its build context.\n/b\n');
  });
});

describe('export library with a directory inside another', () => {
  it('names each directory by its own last commit: a change in the nested directory moves the nested image\'s GitCommit only', async () => {
    const { execFileSync } = await import('node:child_process');
    const { readFileSync, writeFileSync } = await import('node:fs');
    const { cli } = await import('../helpers/cli.ts');
    const { parseLibraryFile } = await import('../../core/views/library.ts');
    const { gitLastCommitArgv, gitStatusArgv } = await import('../../core/views/library.ts');
    expect(gitLastCommitArgv('/r', 'a/runtime', ['cudnn'])).toEqual(['git', '-C', '/r', 'log', '-1', '--format=%H', '--', 'a/runtime', ':(exclude)a/runtime/cudnn']);
    expect(gitStatusArgv('/r', '.', ['cudnn'])).toEqual(['git', '-C', '/r', 'status', '--porcelain', '--untracked-files=all', '--', '.', ':(exclude)cudnn']);
    const library = 'library:\n  maintainers: ["A <a@example.com> (@a)"]\n  git_repo: https://example.com/cuda.git\n';
    // bashbrew builds each directory on its own: roots only, so every release builds FROM the distro's image.
    const roots = SPEC.replace(/\n    parent: \w+/g, '\n    axes: [cuda]');
    const root = (what: string) => `FROM <%= it.distro.image %>\nRUN echo ${what}\n`;
    const manifest = tree(`${roots}${library}`, {
      'templates/ubuntu/runtime.Dockerfile.eta': root('runtime'),
      'templates/ubuntu/cudnn-runtime.Dockerfile.eta': root('cudnn'),
      'templates/ubuntu/devel.Dockerfile.eta': root('devel'),
      'templates/ubuntu/cudnn-devel.Dockerfile.eta': root('cudnn devel'),
    });
    const dir = manifest.replace(/\/manifest\.yaml$/, '');
    const repo = join(dir, 'out');
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' }).trim();
    const generated = () => {
      const r = cli(['--spec-dir', dir, 'generate', manifest, '--output', repo]);
      expect(r.code, r.stderr).toBe(0);
    };
    generated();
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'generated');
    const first = git('rev-parse', 'HEAD');
    // A change only the nested image sees (its Dockerfile), committed.
    const cudnn = join(dir, 'templates/ubuntu/cudnn-runtime.Dockerfile.eta');
    writeFileSync(cudnn, readFileSync(cudnn, 'utf8').replace('echo cudnn', 'echo cudnn 9.5'));
    generated();
    git('add', '-A');
    git('commit', '-qm', 'cudnn');
    const second = git('rev-parse', 'HEAD');
    const lib = cli(['--spec-dir', dir, 'export', 'library', manifest, '--output', repo]);
    expect(lib.code, lib.stderr).toBe(0);
    const commitOf = Object.fromEntries(parseLibraryFile(lib.stdout).entries.map((e) => [e['Directory'], e['GitCommit']]));
    expect(commitOf['cuda/12.6.2/ubuntu2204/runtime/cudnn']).toBe(second);
    expect(commitOf['cuda/12.6.2/ubuntu2204/runtime']).toBe(first);
    expect(commitOf['cuda/12.6.2/ubuntu2204/base']).toBe(first);
  });
});
