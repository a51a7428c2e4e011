// Every generated Dockerfile of every example, checked as a reviewer would (test/helpers/
// dockerfile-check.ts), and the checks themselves shown to catch what they are for.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlan, type Plan } from '../../core/plan/plan.ts';
import type { RenderTask } from '../../core/plan/task.ts';
import { checkDockerfile, entrypointOf } from '../helpers/dockerfile-check.ts';
import { BENTO_MANIFEST, PYTHON_BASE_MANIFEST, REPO, planError, tempDir } from '../helpers/spec.ts';

const EXAMPLES = [
  BENTO_MANIFEST,
  PYTHON_BASE_MANIFEST,
  join(REPO, 'examples', 'lua', 'manifest.yaml'),
  join(REPO, 'examples', 'python-official', 'manifest.yaml'),
  join(REPO, 'examples', 'nvidia-cuda', 'manifest.yaml'),
];

/** Each generated Dockerfile with what the checks need to know about its images. */
function dockerfiles(plan: Plan): { path: string; text: string; buildArgs: string[]; parentEntrypoint?: string[] }[] {
  const renders = [...plan.tasks.values()].filter((t): t is RenderTask => t.kind === 'render' && t.dir !== '');
  const text = (dir: string, name: string) => renders.find((r) => r.dir === dir && r.dockerfile === name)!.files.find((f) => f.path === `${dir}/${name}`)!.content;
  const byKey = new Map(plan.variants.map((v) => [v.key, v]));
  return renders.map((r) => {
    const vs = plan.variants.filter((v) => v.dir === r.dir && v.dockerfile === r.dockerfile);
    // The init process a child inherits is the nearest ancestor's ENTRYPOINT.
    let parentEntrypoint: string[] | undefined;
    for (let p = vs[0]!.parent ? byKey.get(vs[0]!.parent) : undefined; p && !parentEntrypoint; p = p.parent ? byKey.get(p.parent) : undefined) parentEntrypoint = entrypointOf(text(p.dir, p.dockerfile));
    return { path: `${plan.spec.package}/${r.dir}/${r.dockerfile}`, text: text(r.dir, r.dockerfile!), buildArgs: [...new Set(vs.flatMap((v) => Object.keys(v.buildArgs)))], parentEntrypoint };
  });
}

describe('bento-server images take `bentoml containerize`', () => {
  it('every distro\'s base installs groupadd and useradd (containerize creates the bento\'s user with them)', () => {
    const plan = loadPlan(BENTO_MANIFEST);
    // The package that provides them per package manager; Debian's passwd is in every base image.
    const provider: Record<string, RegExp | undefined> = { apk: /\bapk add\b[^\n]*\bshadow\b/, yum: /\bshadow-utils\b/, dnf: /\bshadow-utils\b/, microdnf: /\bshadow-utils\b/, apt: undefined };
    const bases = dockerfiles(plan).filter((f) => /\/base\/Dockerfile$/.test(f.path));
    const distros = new Set(bases.map((f) => f.path.split('/')[1]!));
    expect([...distros].sort()).toEqual(Object.keys(plan.spec.distros).sort());
    const missing = bases.filter((f) => {
      const pm = plan.spec.distros[f.path.split('/')[1]!]!.packageManager;
      expect(Object.keys(provider), `no rule for ${pm}`).toContain(pm);
      return provider[pm] !== undefined && !provider[pm]!.test(f.text);
    });
    expect(missing.map((f) => f.path)).toEqual([]);
  });
});

describe('generated Dockerfiles pass review', () => {
  for (const manifest of EXAMPLES) {
    const plan = loadPlan(manifest);
    it(`every Dockerfile of ${plan.spec.package}`, () => {
      const files = dockerfiles(plan);
      expect(files.length).toBeGreaterThan(0);
      const findings = files.flatMap((f) => checkDockerfile(f.text, f).map((x) => `${f.path}:${x.line}: [${x.check}] ${x.message}`));
      expect(findings).toEqual([]);
    });
  }

  it('bento-server: tini is the entrypoint of every base, no release below replaces it, and none switches user or sets a command', () => {
    const plan = loadPlan(BENTO_MANIFEST);
    for (const f of dockerfiles(plan)) {
      if (/\/base\/Dockerfile(-\w+)?$/.test(f.path)) expect(entrypointOf(f.text)?.[0], f.path).toMatch(/\/tini$/);
      else expect(entrypointOf(f.text), f.path).toBeUndefined();
      // The service image (bentoml containerize) creates its user as root and sets the command.
      expect(f.text, f.path).not.toMatch(/^\s*(USER|CMD)\s/m);
    }
  });

  it('bento-server: every Dockerfile starts with the spec\'s banner, and every base sets the spec\'s environment', () => {
    const plan = loadPlan(BENTO_MANIFEST);
    const files = dockerfiles(plan);
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) expect(f.text.split('\n')[0], f.path).toBe(plan.spec.dockerfile!.header[0]);
    for (const f of files.filter((x) => /\/base\/Dockerfile/.test(x.path))) {
      for (const [k, v] of Object.entries(plan.spec.dockerfile!.env)) expect(f.text, `${f.path} ${k}`).toMatch(new RegExp(`(ENV |\\n    )${k}="${v.replace(/[.]/g, '\\.')}"`));
    }
  });

  it('bento-server: every base installs its family\'s toolchain, as the spec declares it', () => {
    const plan = loadPlan(BENTO_MANIFEST);
    const toolchain = plan.spec.vars['toolchain'] as Record<string, string[]>;
    for (const d of Object.values(plan.spec.distros)) {
      const bases = dockerfiles(plan).filter((f) => f.path.startsWith(`bento-server/${d.name}/base/Dockerfile`));
      expect(bases.length).toBeGreaterThan(0);
      for (const base of bases) for (const pkg of toolchain[d.family]!) expect(base.text.replace(/\\\n/g, ' '), `${base.path} needs ${pkg}`).toMatch(new RegExp(`(install|apk add)[^\\n]*\\s${pkg.replace(/[+]/g, '\\+')}(\\s|;)`));
    }
  });

  describe('bento-server: the CUDA stack in each GPU Dockerfile is the spec\'s data', () => {
    const plan = loadPlan(BENTO_MANIFEST);
    type Table = Record<string, { release: string } & Record<string, string[]>>;
    const table = plan.spec.vars['cuda_packages'] as Table;
    /** A component's data: its version, or its version and the CUDA release its package was built for. */
    type Pin = string | { version: string; cuda: string };
    const dataOf = (cuda: string, arch: string) => plan.spec.axes['cuda']!.values[cuda]!.architectures![arch]! as { requires: string; components: Record<string, Pin> };
    const dockerArch = (name: string) => plan.spec.architectures[name]!.split('/')[1]!;
    /** What the spec says one stage installs: every component of the release, pinned as the family writes it. */
    const expected = (family: string, release: string, cuda: string, arch: string) => {
      return Object.entries(dataOf(cuda, arch).components)
        .filter(([c]) => table[c]!.release === release)
        .flatMap(([c, pin]) => {
          const [v, built] = typeof pin === 'string' ? [pin, cuda] : [pin.version, pin.cuda];
          const [major, minor] = built.split('.');
          const fill = (p: string, x: string) => p.replaceAll('{v}', x).replaceAll('{mm}', `${major}-${minor}`).replaceAll('{dot}', `${major}.${minor}`);
          return table[c]![family]!.map((p) => ({ spec: fill(p, v), name: fill(p.split('{v}')[0]!.replace(/[-=]$/, ''), '') }));
        });
    };
    const gpu = [...plan.tasks.values()].filter((t): t is RenderTask => t.kind === 'render' && (t.release === 'cudnn' || t.release === 'devel-trt'));

    it('covers every GPU directory', () => {
      expect(gpu.map((r) => `${r.dir}/${r.dockerfile}`).sort()).toEqual([
        'debian10/cudnn/Dockerfile', 'debian10/cudnn/Dockerfile-conda', 'debian11/cudnn/Dockerfile', 'debian11/cudnn/Dockerfile-conda', 'debian11/devel-trt/Dockerfile', 'ubi8/cudnn/Dockerfile',
      ]);
    });

    for (const r of gpu) {
      it(`${r.dir}/${r.dockerfile}: one stage per CUDA version and architecture built, each with the data's components, pins, hold and driver requirement`, () => {
        const text = r.files.find((f) => f.path === `${r.dir}/${r.dockerfile}`)!.content;
        const family = plan.spec.distros[r.distro!]!.family;
        const prefix = r.release === 'cudnn' ? 'cuda' : 'tensorrt';
        const stages = new Map([...text.matchAll(/^FROM \$\{BASE_IMAGE\} AS (\w+)-([\d.]+)-(\w+)\n([\s\S]*?)(?=^FROM )/gm)].map((m) => [`${m[2]}/${m[3]}`, { prefix: m[1], body: m[4]! }]));
        const built = new Set(plan.variants.filter((v) => v.dir === r.dir && v.dockerfile === r.dockerfile).flatMap((v) => v.arches.map((a) => `${v.axes['cuda']}/${dockerArch(a)}`)));
        expect(built.size).toBeGreaterThan(0);
        for (const k of built) expect(stages.has(k), `stage for ${k}`).toBe(true);
        expect(text).toMatch(new RegExp(`^FROM ${prefix}-\\$\\{CUDA_VERSION\\}-\\$\\{TARGETARCH\\}$`, 'm'));
        for (const [k, st] of stages) {
          const [cuda, darch] = k.split('/') as [string, string];
          expect(st.prefix).toBe(prefix);
          const arch = Object.keys(plan.spec.architectures).find((a) => dockerArch(a) === darch)!;
          const want = expected(family, r.release!, cuda, arch);
          expect(want.length, `${k} has ${r.release} components in the data`).toBeGreaterThan(0);
          const installed = [...st.body.matchAll(/^ {6}"([^"]+)" \\$/gm)].map((m) => m[1]);
          expect(installed, k).toEqual(want.map((w) => w.spec));
          const hold = family === 'debian' ? /apt-mark hold ([^;]+);/.exec(st.body)?.[1] : /exclude=([^"]+)"/.exec(st.body)?.[1];
          expect(hold?.split(' '), `${k} holds what it installs`).toEqual(want.map((w) => w.name));
          if (r.release === 'cudnn') {
            expect(st.body, k).toContain(`ENV CUDA_VERSION=${cuda} \\\n    NVIDIA_REQUIRE_CUDA="${dataOf(cuda, arch).requires}"`);
          }
        }
      });
    }

    it('a component the package table does not know is a spec error naming it, never skipped', () => {
      const root = tempDir();
      cpSync(join(REPO, 'examples'), join(root, 'examples'), { recursive: true });
      cpSync(join(REPO, 'templates'), join(root, 'templates'), { recursive: true });
      mkdirSync(join(root, '.git'));
      const data = join(root, 'examples', 'cuda', '11.7.1', 'amd64.yaml');
      writeFileSync(data, readFileSync(data, 'utf8').replace('  nvtx: 11.7.91-1\n', '  nvtx: 11.7.91-1\n  cupti: 11.7.101-1\n'));
      expect(planError(join(root, 'examples', 'bento-server', 'manifest.yaml')).diagnostics.map((d) => d.message).join('\n')).toMatch(/CUDA component "cupti" has no entry in vars\.cuda_packages/);
    });

    it('the data gives every CUDA version and architecture the libraries TensorFlow and PyTorch load, and a driver requirement', () => {
      const runtime = ['cudart', 'compat', 'cublas', 'cufft', 'curand', 'cusolver', 'cusparse', 'npp', 'nvtx', 'nccl', 'cudnn'];
      for (const [cuda, value] of Object.entries(plan.spec.axes['cuda']!.values)) {
        for (const arch of Object.keys(value.architectures ?? {})) {
          const d = dataOf(cuda, arch);
          expect(Object.keys(d.components), `${cuda}/${arch}`).toEqual(expect.arrayContaining(runtime));
          expect(d.requires, `${cuda}/${arch}`).toMatch(new RegExp(`^cuda>=${cuda.split('.').slice(0, 2).join('\\.')}( |$)`));
          for (const c of Object.keys(d.components)) expect(Object.hasOwn(table, c), `${cuda}/${arch}: component ${c} has packages`).toBe(true);
        }
      }
    });

    // NVIDIA's own pins, as its Dockerfiles spell each package: gitlab.com/nvidia/container-images/cuda,
    // read in its copy github.com/wimjan123/cuda11.7-gptj-training at commit
    // d9a5c8fa6704c46e7f1ebc4c8489134d0ed18587, the base-<arch> stages of
    // dist/<cuda>/{ubuntu2004,ubi8}/{base,runtime,runtime/cudnn8}/Dockerfile (Ubuntu's for the Debian
    // family, which NVIDIA publishes no images of). `unpinned` are what NVIDIA installs without a
    // version: cuda-compat in base, NVRTC through runtime's cuda-libraries meta-package.
    const brands = (driver: number) => ['tesla', 'unknown', 'nvidia', 'nvidiartx', 'geforce', 'geforcertx', 'quadro', 'quadrortx', 'titan', 'titanrtx'].map((b) => `brand=${b},driver>=${driver},driver<${driver + 1}`).join(' ');
    const NVIDIA: Record<string, { requires: Record<string, string>; unpinned: string[]; pins: Record<string, Record<string, string[]>> }> = {
      '11.6.2': {
        requires: { amd64: `cuda>=11.6 brand=tesla,driver>=418,driver<419 brand=tesla,driver>=450,driver<451 ${brands(470)}`, arm64v8: 'cuda>=11.6', ppc64le: 'cuda>=11.6' },
        unpinned: ['cuda-compat-11-6', 'cuda-nvrtc-11-6'],
        pins: {
          debian: { amd64: ['cuda-cudart-11-6=11.6.55-1', 'libnpp-11-6=11.6.3.124-1', 'cuda-nvtx-11-6=11.6.124-1', 'libcusparse-11-6=11.7.2.124-1', 'libcublas-11-6=11.9.2.110-1', 'libnccl2=2.12.10-1+cuda11.6', 'libcudnn8=8.4.0.27-1+cuda11.6'] },
          rhel: Object.fromEntries(['amd64', 'arm64v8', 'ppc64le'].map((a) => [a, ['cuda-cudart-11-6-11.6.55-1', 'cuda-nvtx-11-6-11.6.124-1', 'libnpp-11-6-11.6.3.124-1', 'libcublas-11-6-11.9.2.110-1', 'libnccl-2.12.10-1+cuda11.6', 'libcudnn8-8.4.0.27-1.cuda11.6']])),
        },
      },
      '11.7.1': {
        requires: { amd64: `cuda>=11.7 brand=tesla,driver>=450,driver<451 ${brands(470)} ${brands(510)}`, arm64v8: 'cuda>=11.7' },
        unpinned: ['cuda-compat-11-7', 'cuda-nvrtc-11-7'],
        pins: {
          debian: { amd64: ['cuda-cudart-11-7=11.7.99-1', 'libnpp-11-7=11.7.4.75-1', 'cuda-nvtx-11-7=11.7.91-1', 'libcusparse-11-7=11.7.4.91-1', 'libcublas-11-7=11.10.3.66-1', 'libnccl2=2.13.4-1+cuda11.7', 'libcudnn8=8.5.0.96-1+cuda11.7'] },
          rhel: Object.fromEntries(['amd64', 'arm64v8'].map((a) => [a, ['cuda-cudart-11-7-11.7.99-1', 'cuda-nvtx-11-7-11.7.91-1', 'libnpp-11-7-11.7.4.75-1', 'libcublas-11-7-11.10.3.66-1', 'libnccl-2.13.4-1+cuda11.7', 'libcudnn8-8.5.0.96-1.cuda11.7']])),
        },
      },
    };
    const stagesOf = (text: string) => [...text.matchAll(/^FROM \$\{BASE_IMAGE\} AS \w+-([\d.]+)-(\w+)\n([\s\S]*?)(?=^FROM )/gm)].map((m) => ({
      cuda: m[1]!, arch: Object.keys(plan.spec.architectures).find((a) => dockerArch(a) === m[2])!, body: m[3]!,
      installed: [...m[3]!.matchAll(/^ {6}"([^"]+)" \\$/gm)].map((x) => x[1]!),
    }));
    const cudnn = gpu.filter((r) => r.release === 'cudnn');

    for (const r of cudnn) {
      it(`${r.dir}/${r.dockerfile}: every stage installs NVIDIA's pins for its CUDA version, architecture and family, and sets NVIDIA's driver requirement`, () => {
        const text = r.files.find((f) => f.path === `${r.dir}/${r.dockerfile}`)!.content;
        const family = plan.spec.distros[r.distro!]!.family;
        const stages = stagesOf(text);
        expect(stages.length).toBeGreaterThan(0);
        for (const st of stages) {
          const k = `${st.cuda}/${st.arch} (${family})`;
          const nv = NVIDIA[st.cuda];
          expect(nv?.pins[family]?.[st.arch], `NVIDIA's pins for ${k} are in the table`).toBeDefined();
          expect(st.installed, k).toEqual(expect.arrayContaining(nv!.pins[family]![st.arch]!));
          for (const name of nv!.unpinned) expect(st.installed.some((p) => p.startsWith(name) && /^[-=]\d/.test(p.slice(name.length))), `${k} installs ${name}`).toBe(true);
          expect(st.body, k).toContain(`NVIDIA_REQUIRE_CUDA="${nv!.requires[st.arch]}"`);
        }
      });
    }

    it('every cudnn image writes the driver\'s library directories into /etc/ld.so.conf.d/nvidia.conf, as NVIDIA\'s base images do', () => {
      expect(cudnn.length).toBeGreaterThan(0);
      for (const r of cudnn) {
        const text = r.files.find((f) => f.path === `${r.dir}/${r.dockerfile}`)!.content;
        const final = text.slice(text.lastIndexOf('\nFROM '));
        expect(final, r.dir).toContain("RUN printf '%s\\n' /usr/local/nvidia/lib /usr/local/nvidia/lib64 >> /etc/ld.so.conf.d/nvidia.conf\n");
      }
    });

    it('TensorRT 8.4 is installed as the +cuda11.6 build it only exists as, on every CUDA version', () => {
      const trt = gpu.filter((r) => r.release === 'devel-trt');
      expect(trt.length).toBeGreaterThan(0);
      for (const r of trt) {
        const stages = stagesOf(r.files.find((f) => f.path === `${r.dir}/${r.dockerfile}`)!.content);
        expect(stages.map((st) => st.cuda)).toEqual(expect.arrayContaining(['11.6.2', '11.7.1']));
        for (const st of stages) {
          expect(st.installed.length, st.cuda).toBeGreaterThan(0);
          for (const p of st.installed) expect(p, `${r.dir} ${st.cuda}`).toMatch(/^libnvinfer[\w-]*8[=-]8\.4\.\d+-1[+.]cuda11\.6$/);
        }
      }
    });

    it('a component written { version, cuda } is pinned to that CUDA release\'s build; any other shape is a spec error naming it', () => {
      const root = tempDir();
      cpSync(join(REPO, 'examples'), join(root, 'examples'), { recursive: true });
      cpSync(join(REPO, 'templates'), join(root, 'templates'), { recursive: true });
      mkdirSync(join(root, '.git'));
      const data = join(root, 'examples', 'cuda', '11.7.1', 'amd64.yaml');
      const text = readFileSync(data, 'utf8');
      expect(text).toMatch(/^ {2}tensorrt: \{ version: 8\.4\.3-1, cuda: "11\.6" \}$/m);
      writeFileSync(data, text.replace(/^ {2}tensorrt: .*$/m, '  tensorrt: { version: 8.4.3-1 }'));
      expect(planError(join(root, 'examples', 'bento-server', 'manifest.yaml')).diagnostics.map((d) => d.message).join('\n')).toMatch(/CUDA component "tensorrt" must be a version or \{ version, cuda/);
    });
  });
});

describe('the checks catch what they are for', () => {
  const check = (text: string, ctx: { buildArgs?: string[]; parentEntrypoint?: string[] } = {}) =>
    checkDockerfile(text, { buildArgs: ctx.buildArgs ?? [], parentEntrypoint: ctx.parentEntrypoint }).map((f) => `${f.line} ${f.check}`);

  it('a FROM arg declared only after FROM, and a build arg read without ARG', () => {
    expect(check('FROM ${BASE}\nARG BASE\n')).toEqual(['1 from-args']);
    expect(check('ARG BASE=x\nFROM ${BASE}\nRUN echo ${PYTHON_VERSION}\nARG PYTHON_VERSION\nRUN echo ${PYTHON_VERSION} $HOME\n', { buildArgs: ['PYTHON_VERSION'] })).toEqual(['3 args-declared']);
    expect(check('FROM x\nRUN case "$TARGETARCH" in *) ;; esac\n')).toEqual(['2 args-declared']);
  });

  it('upgrades, package indexes left in the layer, retired repositories, unknown instructions', () => {
    expect(check('FROM x\nRUN apt-get update && apt-get upgrade -y && rm -rf /var/lib/apt/lists/*\n')).toEqual(['2 no-upgrade']);
    expect(check('FROM x\nRUN apt-get update && apt-get install -y curl\n')).toEqual(['2 clean-layer']);
    expect(check('FROM x\nRUN dnf install -y gcc\nRUN apk add gcc\n')).toEqual(['2 clean-layer', '3 clean-layer']);
    expect(check('FROM x\nRUN curl https://developer.download.nvidia.com/compute/machine-learning/repos/rhel8/x86_64/x.repo\n')).toEqual(['2 no-retired-repo']);
    expect(check('FROM x\nRUNN true\n')).toEqual(['2 parses']);
    expect(check('RUN true\n')).toEqual(['1 parses']);
  });

  it('an ENTRYPOINT that drops the parent\'s init process', () => {
    expect(check('FROM x\nENTRYPOINT ["bentoml"]\n', { parentEntrypoint: ['/usr/bin/tini', '--'] })).toEqual(['2 keeps-init']);
    expect(check('FROM x\nENTRYPOINT ["/usr/bin/tini", "--", "bentoml"]\n', { parentEntrypoint: ['/usr/bin/tini', '--'] })).toEqual([]);
    expect(check('FROM x\nCMD ["bentoml", "serve"]\n', { parentEntrypoint: ['/usr/bin/tini', '--'] })).toEqual([]);
  });
});
