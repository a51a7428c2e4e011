import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { loadPlan } from '../../core/plan/plan.ts';
import { WorkError } from '../../core/base/errors.ts';
import { generate } from '../../tasks/generate.ts';
import { GOLDEN_DIR, GOLDEN_FILES, TREE_DIGEST_FILE, treeDigests } from '../helpers/golden.ts';
import { BENTO_MANIFEST, PYTHON_BASE_MANIFEST, miniSpec, planError, tempDir } from '../helpers/spec.ts';

const ALL = { dockerfiles: true, docs: true, metadata: false, overwrite: false };

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (d === dir && e.name.startsWith('.')) continue;
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  walk(dir);
  return out.sort();
}

const INSTRUCTIONS = new Set(['ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);

/** Problems dockerfile-ast sees in a Dockerfile; empty when it is well formed. */
export function dockerfileProblems(text: string): string[] {
  const df = DockerfileParser.parse(text);
  const problems: string[] = [];
  const ins = df.getInstructions();
  if (!df.getFROMs().length) problems.push('no FROM');
  const firstNonArg = ins.find((i) => i.getKeyword() !== 'ARG');
  if (firstNonArg?.getKeyword() !== 'FROM') problems.push(`first instruction after ARGs is ${firstNonArg?.getKeyword()}`);
  const declared = new Set(ins.filter((i) => i.getKeyword() === 'ARG' && i.getRange().start.line < df.getFROMs()[0]!.getRange().start.line).map((i) => i.getArguments()[0]!.getValue().split('=')[0]));
  for (const f of df.getFROMs()) {
    for (const m of f.getArguments().map((a) => a.getValue()).join(' ').matchAll(/\$\{?([A-Za-z_]\w*)/g)) {
      // BuildKit defines the platform args in the global scope; a FROM may use them undeclared.
      if (!declared.has(m[1]!) && !/^(TARGET|BUILD)(PLATFORM|OS|ARCH|VARIANT)$/.test(m[1]!)) problems.push(`FROM uses \${${m[1]}} without an ARG before it`);
    }
  }
  for (const i of ins) {
    if (!INSTRUCTIONS.has(i.getKeyword())) problems.push(`line ${i.getRange().start.line + 1}: unknown instruction ${i.getKeyword()}`);
    if (i.getArguments().length === 0) problems.push(`line ${i.getRange().start.line + 1}: ${i.getKeyword()} without arguments`);
  }
  if (/\\\n\s*$/.test(text)) problems.push('ends inside a line continuation');
  return problems;
}

describe('generate', () => {
  it('writes the tree of the design notes (with BentoML\'s debian10 and Dockerfile-conda beside it), then nothing on a rerun', () => {
    const out = tempDir();
    const plan = loadPlan(BENTO_MANIFEST);
    const pkgDir = join(out, 'bento-server');
    const first = generate(plan, { ...ALL, packageDir: pkgDir });
    expect(files(pkgDir)).toEqual([
      'README.md',
      'alpine3.14/base/Dockerfile', 'alpine3.14/devel/Dockerfile', 'alpine3.14/runtime/Dockerfile',
      'amazonlinux2/base/Dockerfile', 'amazonlinux2/runtime/Dockerfile',
      // Each Dockerfile that shares its directory has an ignore file keeping the others out of its context.
      ...['debian10', 'debian11'].flatMap((d) => ['base', 'cudnn', 'devel', 'runtime'].flatMap((r) => [
        `${d}/${r}/Dockerfile`, `${d}/${r}/Dockerfile-conda`, `${d}/${r}/Dockerfile-conda.dockerignore`, `${d}/${r}/Dockerfile.dockerignore`,
      ])),
      'debian11/devel-trt/Dockerfile',
      'ubi8/base/Dockerfile', 'ubi8/cudnn/Dockerfile',
      // The notes' tree also has nvidia-ml.repo-<arch>: NVIDIA retired that repository (docs/building.md).
      'ubi8/cudnn/cuda.repo-amd64', 'ubi8/cudnn/cuda.repo-arm64v8', 'ubi8/cudnn/cuda.repo-ppc64le',
      'ubi8/devel/Dockerfile', 'ubi8/runtime/Dockerfile',
      'versions',
    ].sort());
    expect(first.written).toHaveLength(47);
    expect(readFileSync(join(pkgDir, 'versions'), 'utf8')).toBe('1.0.0a5\n');
    const stamp = statSync(join(pkgDir, 'ubi8/cudnn/Dockerfile'));
    const second = generate(loadPlan(BENTO_MANIFEST), { ...ALL, packageDir: pkgDir });
    expect(second).toMatchObject({ written: [], removed: [] });
    expect(second.unchanged).toHaveLength(47);
    const again = statSync(join(pkgDir, 'ubi8/cudnn/Dockerfile'));
    expect([again.ino, again.mtimeMs]).toEqual([stamp.ino, stamp.mtimeMs]);
  });

  it('rewrites only the files whose template changed, and removes what left the spec', () => {
    const { dir, manifest } = miniSpec();
    const pkgDir = join(dir, 'generated', 'mini');
    generate(loadPlan(manifest), { ...ALL, packageDir: pkgDir });
    writeFileSync(join(dir, 'templates/partials/run.eta'), 'RUN echo runtime v2\n');
    const r = generate(loadPlan(manifest), { ...ALL, packageDir: pkgDir });
    expect(r.written).toEqual(['deb/runtime/Dockerfile']);
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('releases: [base, runtime]', 'releases: [base]'));
    const r2 = generate(loadPlan(manifest), { ...ALL, packageDir: pkgDir });
    expect(r2.removed).toEqual(['deb/runtime/Dockerfile']);
    expect(existsSync(join(pkgDir, 'deb/runtime'))).toBe(false);
    expect(r2.written).toEqual(['README.md']);
  });

  it('takes each render\'s run/skip from the one rule, the same the dry run prints, and writes exactly what runs', async () => {
    const { cli } = await import('../helpers/cli.ts');
    const { dir, manifest } = miniSpec();
    const pkgDir = join(dir, 'generated', 'mini');
    const first = generate(loadPlan(manifest), { ...ALL, packageDir: pkgDir });
    expect(first.renders.map((d) => d.action)).toEqual(first.renders.map(() => 'run'));
    expect(first.renders.map((d) => d.reason)).toContain('no record of an earlier run');
    // Hand-edited, template edited, untouched: one render each.
    writeFileSync(join(pkgDir, 'deb/base/Dockerfile'), 'FROM scratch\n');
    writeFileSync(join(dir, 'templates/partials/run.eta'), 'RUN echo runtime v3\n');
    const dry = cli(['--spec-dir', dir, 'build', manifest, '--all', '--dry-run', '--offline', '--json']);
    const dryRenders = (JSON.parse(dry.stdout) as { tasks: { id: string; kind: string; action: string; reason: string }[] }).tasks.filter((t) => t.kind === 'render');
    const r = generate(loadPlan(manifest), { ...ALL, packageDir: pkgDir });
    const byId = Object.fromEntries(r.renders.map((d) => [d.id, d]));
    expect(byId['render:mini/deb/base']).toMatchObject({ action: 'run', reason: expect.stringMatching(/differ from the templates' output/) });
    expect(byId['render:mini/deb/runtime']).toMatchObject({ action: 'run', reason: expect.stringMatching(/^inputs changed: .*partials\/run\.eta/) });
    expect(Object.values(byId).filter((d) => d.action === 'skip').map((d) => d.reason)).toEqual(expect.arrayContaining(['files unchanged']));
    // The dry run of a build judged every render the same way, for the same reason.
    expect(Object.fromEntries(dryRenders.map((t) => [t.id, [t.action, t.reason]]))).toEqual(Object.fromEntries(r.renders.map((d) => [d.id, [d.action, d.reason]])));
    expect(r.written.sort()).toEqual(['deb/base/Dockerfile', 'deb/runtime/Dockerfile']);
    // And now nothing runs.
    expect(generate(loadPlan(manifest), { ...ALL, packageDir: pkgDir }).renders.every((d) => d.action === 'skip')).toBe(true);
  });

  it('--dockerfiles leaves the docs alone, --overwrite rewrites everything', () => {
    const { dir, manifest } = miniSpec();
    const pkgDir = join(dir, 'out', 'mini');
    generate(loadPlan(manifest), { ...ALL, packageDir: pkgDir, docs: false });
    expect(existsSync(join(pkgDir, 'README.md'))).toBe(false);
    const all = generate(loadPlan(manifest), { ...ALL, packageDir: pkgDir });
    expect(all.written).toEqual(['README.md', 'versions']);
    const over = generate(loadPlan(manifest), { ...ALL, packageDir: pkgDir, overwrite: true });
    expect(over.written).toHaveLength(4);
  });

  it('writes nothing when a template fails, naming the template and line', () => {
    const { dir, manifest } = miniSpec();
    const pkgDir = join(dir, 'generated', 'mini');
    generate(loadPlan(manifest), { ...ALL, packageDir: pkgDir });
    const before = readFileSync(join(pkgDir, 'deb/runtime/Dockerfile'), 'utf8');
    writeFileSync(join(dir, 'templates/partials/run.eta'), 'RUN echo <%= it.nope.deeper %>\n');
    const d = planError(manifest).diagnostics[0]!;
    expect(d.file).toBe(join(dir, 'templates/partials/run.eta'));
    expect(d.line).toBe(1);
    expect(d.message).toMatch(/reading 'deeper'/);
    expect(readFileSync(join(pkgDir, 'deb/runtime/Dockerfile'), 'utf8')).toBe(before);
  });

  it('refuses to write through a symlink inside the generated tree', () => {
    const { dir, manifest } = miniSpec();
    const pkgDir = join(dir, 'generated', 'mini');
    mkdirSync(pkgDir, { recursive: true });
    symlinkSync('/etc', join(pkgDir, 'deb'));
    expect(() => generate(loadPlan(manifest), { ...ALL, packageDir: pkgDir })).toThrow(WorkError);
    expect(() => generate(loadPlan(manifest), { ...ALL, packageDir: pkgDir })).toThrow(/symbolic link/);
  });

  it('generates the second family (python-base) with its own tree', () => {
    const out = tempDir();
    const r = generate(loadPlan(PYTHON_BASE_MANIFEST), { ...ALL, packageDir: join(out, 'python-base') });
    expect(r.written).toEqual(['README.md', 'alpine3.19/build/Dockerfile', 'alpine3.19/slim/Dockerfile', 'bookworm/build/Dockerfile', 'bookworm/notebook/Dockerfile', 'bookworm/slim/Dockerfile', 'versions']);
    expect(readFileSync(join(out, 'python-base', 'README.md'), 'utf8')).toContain('`3.12-notebook-bookworm-2024.1`');
  });

  it('writes dockerfiles.json and images.json with --save-metadata, deterministically', () => {
    const out = tempDir();
    const pkgDir = join(out, 'bento-server');
    generate(loadPlan(BENTO_MANIFEST), { ...ALL, metadata: true, packageDir: pkgDir });
    const images = JSON.parse(readFileSync(join(pkgDir, 'images.json'), 'utf8')) as { tags: string[]; platforms: string[] }[];
    expect(images.length).toBe(loadPlan(BENTO_MANIFEST).variants.length);
    expect(images.find((i) => i.tags.includes('1.0.0a5-python3.7-ami2-runtime'))!.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    const first = readFileSync(join(pkgDir, 'dockerfiles.json'), 'utf8');
    expect(generate(loadPlan(BENTO_MANIFEST), { ...ALL, metadata: true, packageDir: pkgDir }).written).toEqual([]);
    expect(readFileSync(join(pkgDir, 'dockerfiles.json'), 'utf8')).toBe(first);
  });
});

describe('generated Dockerfiles', () => {
  for (const manifest of [BENTO_MANIFEST, PYTHON_BASE_MANIFEST]) {
    const plan = loadPlan(manifest);
    for (const t of plan.tasks.values()) {
      if (t.kind !== 'render') continue;
      for (const f of t.files.filter((x) => x.path.endsWith('Dockerfile'))) {
        it(`${plan.spec.package}/${f.path} parses without problems`, () => {
          expect(dockerfileProblems(f.content)).toEqual([]);
          expect(f.content).toMatch(/^ARG PYTHON_VERSION$/m);
          expect(f.content).not.toMatch(/\n\n\n/);
        });
      }
    }
  }

  it('the lint itself catches broken Dockerfiles', () => {
    expect(dockerfileProblems('FRM x\nRUN echo \\\n')).not.toEqual([]);
    expect(dockerfileProblems('FROM ${IMG}\n')).toEqual(['FROM uses ${IMG} without an ARG before it']);
  });

  // Updated only by scripts/update-golden.ts, never by a test run.
  const rendered = new Map([...loadPlan(BENTO_MANIFEST).tasks.values()].flatMap((t) => (t.kind === 'render' ? t.files.map((f) => [f.path, f.content] as const) : [])));
  it('the whole bento-server tree and every tag are as checked in', () => {
    expect(treeDigests(loadPlan(BENTO_MANIFEST))).toEqual(JSON.parse(readFileSync(TREE_DIGEST_FILE, 'utf8')));
  });

  for (const g of GOLDEN_FILES) {
    it(`matches the golden ${g}`, () => {
      expect(rendered.get(g)).toBe(readFileSync(join(GOLDEN_DIR, g), 'utf8'));
    });
  }
});
