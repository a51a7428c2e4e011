// A real public family in its own layout: a slice of NVIDIA's CUDA images (examples/nvidia-cuda)
// against NVIDIA's files themselves (test/fixtures/nvidia-cuda): the same dist/ tree, with
// the cuDNN images nested in the runtime and devel directories, file for file.
import { readdirSync, readFileSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlan, type Plan } from '../../core/plan/plan.ts';
import type { BuildTask, RenderedFile, RenderTask } from '../../core/plan/task.ts';
import { cli } from '../helpers/cli.ts';
import { REPO, tempDir } from '../helpers/spec.ts';

const MANIFEST = join(REPO, 'examples', 'nvidia-cuda', 'manifest.yaml');
const PUBLIC = join(REPO, 'test', 'fixtures', 'nvidia-cuda');
const VERSIONS = ['12.6.2', '12.6.1'];
const DISTROS = { ubuntu2204: 'ubuntu22.04', ubi9: 'ubi9' } as const;
/** NVIDIA's release directories, and the release each holds. */
const RELEASES = { base: 'base', runtime: 'runtime', 'runtime/cudnn': 'cudnn-runtime', devel: 'devel', 'devel/cudnn': 'cudnn-devel' } as const;
/** NVIDIA's tag of each release directory's image, after the CUDA version. */
const TAG_PART = { base: 'base', runtime: 'runtime', 'runtime/cudnn': 'cudnn-runtime', devel: 'devel', 'devel/cudnn': 'cudnn-devel' } as const;
/** What each child Dockerfile is FROM in NVIDIA's tree: its parent's tag. */
const PARENT_DIR = { runtime: 'base', 'runtime/cudnn': 'runtime', devel: 'runtime', 'devel/cudnn': 'devel' } as const;

/** The generated tree: every file of every image directory and shared directory, by path. */
const generated = (plan: Plan) => new Map([...plan.tasks.values()].flatMap((t) => (t.kind === 'render' && t.dir !== '' ? t.files.map((f) => [f.path, f] as const) : [])));

/** Every file under a directory, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => statSync(join(dir, p)).isFile()).sort();
}

/** The public file a generated path is a copy of: the version trees, or NVIDIA's entrypoint files at the repository root. */
function publicPath(path: string): string {
  const m = /^[^/]+\/[^/]+\/runtime\/((?:entrypoint\.d\/)?[^/]+)$/.exec(path);
  return m && m[1] !== 'Dockerfile' && m[1] !== '.dockerignore' ? join(PUBLIC, 'root', m[1]!) : join(PUBLIC, path);
}

/** The generated files NVIDIA's tree has no counterpart of: each outer directory's ignore file, exactly. */
const IGNORES = new Map<string, string>(VERSIONS.flatMap((v) => Object.keys(DISTROS).flatMap((d) => ['runtime', 'devel'].map((r) => [`${v}/${d}/${r}/.dockerignore`, '# Generated: the image directories inside this one stay out of its build context.\n/cudnn\n'] as const))));

describe('NVIDIA\'s CUDA images, reproduced in NVIDIA\'s layout', () => {
  const plan = loadPlan(MANIFEST);
  const files = generated(plan);

  it('generates NVIDIA\'s dist/ tree: every public file of the slice, and the ignore files of the directories that hold the cuDNN ones', () => {
    const versionFiles = filesUnder(PUBLIC).filter((p) => VERSIONS.some((v) => p.startsWith(`${v}/`)));
    const entrypoint = filesUnder(join(PUBLIC, 'root'));
    const expected = [
      ...versionFiles,
      // The runtime images COPY NVIDIA's entrypoint, which its repository keeps at the root.
      ...VERSIONS.flatMap((v) => Object.keys(DISTROS).flatMap((d) => entrypoint.map((p) => `${v}/${d}/runtime/${p}`))),
      ...IGNORES.keys(),
    ].sort();
    expect([...files.keys()].sort()).toEqual(expected);
    expect(versionFiles).toHaveLength(2 * (8 + 6));
    expect(entrypoint).toEqual(['entrypoint.d/10-banner.sh', 'entrypoint.d/12-banner.sh', 'entrypoint.d/15-container-copyright.txt', 'entrypoint.d/30-container-license.txt', 'entrypoint.d/50-gpu-driver-check.sh', 'entrypoint.d/80-internal-image.sh', 'entrypoint.d/90-deprecated-image.sh', 'nvidia_entrypoint.sh']);
  });

  it('every file is NVIDIA\'s, byte for byte, but the FROM line of a child, which builds on the exact parent image it is given', () => {
    const content = (f: RenderedFile) => (f.bytes ? f.bytes.toString('utf8') : f.content);
    let compared = 0;
    for (const [path, f] of files) {
      if (IGNORES.has(path)) {
        expect(content(f), path).toBe(IGNORES.get(path));
        continue;
      }
      const theirs = readFileSync(publicPath(path), 'utf8');
      const [version, distro, ...rest] = path.split('/');
      const dir = rest.slice(0, -1).join('/') as keyof typeof RELEASES;
      if (rest.at(-1) === 'Dockerfile' && dir in PARENT_DIR) {
        // NVIDIA's: FROM ${IMAGE_NAME}:12.6.2-base-ubuntu22.04; ours: FROM ${IMAGE_NAME}, which the build fills with repository:tag@sha256.
        const parentTag = `${version}-${TAG_PART[PARENT_DIR[dir as keyof typeof PARENT_DIR]]}-${DISTROS[distro as keyof typeof DISTROS]}`;
        const line = `FROM \${IMAGE_NAME}:${parentTag} as base\n`;
        expect(theirs.split('\n')[1], path).toBe(line.trimEnd());
        expect(content(f), path).toBe(theirs.replace(line, 'FROM ${IMAGE_NAME} as base\n'));
      } else expect(content(f), path).toBe(theirs);
      compared++;
    }
    expect(compared).toBe(files.size - IGNORES.size);
    // NVIDIA's git records the entrypoint as executable; so does the generated tree.
    expect(files.get('12.6.2/ubi9/runtime/nvidia_entrypoint.sh')!.mode).toBe(0o755);
    expect([...files.values()].filter((f) => f.mode !== undefined).map((f) => f.path).sort()).toEqual(VERSIONS.flatMap((v) => Object.keys(DISTROS).map((d) => `${v}/${d}/runtime/nvidia_entrypoint.sh`)).sort());
  });

  it('tags each image as NVIDIA does, and builds each child on its parent on both architectures', () => {
    const images = plan.variants.map((v) => `${v.dir} ${v.tags.join(',')} ${v.arches.join(',')}`).sort();
    const expected = VERSIONS.flatMap((v) => Object.entries(DISTROS).flatMap(([d, tag]) => Object.keys(RELEASES).map((r) => `${v}/${d}/${r} ${v}-${TAG_PART[r as keyof typeof TAG_PART]}-${tag} x86_64,arm64`))).sort();
    expect(images).toEqual(expected);
    const build = (dir: string, arch: string) => [...plan.tasks.values()].find((t): t is BuildTask => t.kind === 'build' && plan.variants.find((v) => v.key === t.variant)?.dir === dir && t.arches.includes(arch))!;
    const cudnn = build('12.6.2/ubi9/devel/cudnn', 'arm64');
    expect(cudnn.platforms).toEqual(['linux/arm64']);
    expect(cudnn.deps).toContain(build('12.6.2/ubi9/devel', 'arm64').id);
    expect(cudnn.context).toBe('12.6.2/ubi9/devel/cudnn');
  });

  it('a new cuDNN pin rebuilds that version\'s cuDNN images only, not the images whose directories hold them', () => {
    const root = tempDir();
    cpSync(join(REPO, 'examples', 'nvidia-cuda'), join(root, 'examples', 'nvidia-cuda'), { recursive: true });
    cpSync(join(REPO, 'templates', 'nvidia-cuda'), join(root, 'templates', 'nvidia-cuda'), { recursive: true });
    const manifest = join(root, 'examples', 'nvidia-cuda', 'manifest.yaml');
    const before = readFileSync(manifest, 'utf8');
    expect(before.split('cudnn: "9.5.0.50-1"')).toHaveLength(2);
    writeFileSync(manifest, before.replace('cudnn: "9.5.0.50-1"', 'cudnn: "9.5.1.17-1"'));
    const after = loadPlan(manifest);
    const moved = (kind: string) => [...after.tasks.values()].filter((t) => t.kind === kind && plan.tasks.get(t.id)!.hash.value !== t.hash.value).map((t) => t.id).sort();
    // Every 12.6.2 template sees the version's pins, so each renders again; only the cuDNN Dockerfiles come out different.
    expect(moved('render')).toHaveLength(10);
    expect(moved('render').every((id) => id.startsWith('render:cuda/12.6.2/'))).toBe(true);
    const changed = [...generated(after)].filter(([p, f]) => files.get(p)!.sha256 !== f.sha256).map(([p]) => p).sort();
    expect(changed).toEqual(['12.6.2/ubi9/devel/cudnn/Dockerfile', '12.6.2/ubi9/runtime/cudnn/Dockerfile', '12.6.2/ubuntu2204/devel/cudnn/Dockerfile', '12.6.2/ubuntu2204/runtime/cudnn/Dockerfile']);
    expect(moved('build')).toHaveLength(8);
    expect(moved('build').every((id) => /^build:cuda\/(ubuntu2204|ubi9)\/cudnn-(runtime|devel)\/cuda12\.6\.2\//.test(id))).toBe(true);
    expect((after.tasks.get('render:cuda/12.6.2/ubuntu2204/runtime/cudnn') as RenderTask).files[0]!.content).toMatch(/^ENV NV_CUDNN_VERSION 9\.5\.1\.17-1$/m);
  });

  it('validates, generates NVIDIA\'s tree on disk and plans every build in a dry run', () => {
    const out = tempDir();
    const v = cli(['validate', MANIFEST]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/valid \(20 images, 21 render, 40 build, 20 manifest\)/);
    const g = cli(['generate', MANIFEST, '--output', out]);
    expect(g.code, g.stderr).toBe(0);
    const tree = join(out, 'cuda');
    for (const [path, f] of files) {
      expect(readFileSync(join(tree, path)).equals(f.bytes ?? Buffer.from(f.content)), path).toBe(true);
      expect(statSync(join(tree, path)).mode & 0o777, path).toBe(f.mode ?? 0o644);
    }
    expect(filesUnder(tree).filter((p) => !p.startsWith('.manager/')).map((p) => relative(tree, join(tree, p))).sort()).toEqual([...files.keys(), 'README.md', 'versions'].sort());
    const dry = cli(['build', MANIFEST, '--all', '--dry-run', '--offline', '--output', out]);
    expect(dry.code, dry.stderr).toBe(0);
  });
});
