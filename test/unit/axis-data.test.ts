// Data where a CUDA-like family keeps it: per distro × axis value × architecture, which
// architectures exist per combination (`exclude:`), and data computed once per image.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../core/base/diagnostics.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import type { BuildTask, RenderTask } from '../../core/plan/task.ts';
import type { DirectoryContext } from '../../core/render/contexts.ts';
import { jsonErrorAt } from '../../core/render/render.ts';
import { loadSpec } from '../../core/load/validate.ts';
import { cli } from '../helpers/cli.ts';
import { REPO, planError, writeTree, lineOf } from '../helpers/spec.ts';

const CUDA_SPEC = `package: cuda
version: "1.0"
templates: ./templates
architectures:
  amd64: linux/amd64
  arm64v8: linux/arm64
  ppc64le: linux/ppc64le
axes:
  cuda:
    arg: CUDA_VERSION
    values:
      "12.2.2":
        vars: { major: "12" }
        architectures:
          amd64: { cudnn: "8.9.5", nvrtc: "12.2" }
          arm64v8: { cudnn: "8.9.5" }
      "11.8.0":
        vars: { major: "11" }
        architectures:
          amd64: { cudnn: "8.9.0" }
          arm64v8: { cudnn: "8.9.0" }
          ppc64le: { cudnn: "8.9.0" }
releases:
  base:
    axes: [cuda]
    tags: ["{cuda}-base-{distro}"]
  runtime:
    parent: base
    tags: ["{cuda}-runtime-{distro}"]
distros:
  ubuntu2204:
    family: debian
    package_manager: apt
    image: "ubuntu:22.04"
    architectures: [amd64, arm64v8, ppc64le]
    axes:
      cuda:
        values:
          "12.2.2":
            architectures:
              amd64: { cudnn: "8.9.7", libcublas: "12.2.5.6-1" }
    releases:
      base: {}
      runtime:
        axes:
          cuda:
            values:
              "11.8.0":
                architectures:
                  ppc64le: { libcublas: "11.11.3.6-1" }
  amzn2023:
    family: rhel
    package_manager: dnf
    image: "amazonlinux:2023"
    architectures: [amd64, arm64v8]
    releases: [base, runtime]
EXCLUDES
registries:
  hub: { kind: dockerhub, namespace: acme }
`;

const ARCH_DATA = '<% for (const a of it.architectures) { -%>\n# <%= a.name %> <%= JSON.stringify(a.axes.cuda) %>\n<% } -%>\n';
const TEMPLATES: Record<string, string> = {
  'templates/debian/base.Dockerfile.eta': `ARG CUDA_VERSION\nARG BASE_IMAGE=<%= it.from.default %>\nFROM \${BASE_IMAGE}\n${ARCH_DATA}`,
  'templates/debian/runtime.Dockerfile.eta': `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\n${ARCH_DATA}`,
  'templates/rhel/base.Dockerfile.eta': 'ARG CUDA_VERSION\nARG BASE_IMAGE=<%= it.from.default %>\nFROM ${BASE_IMAGE}\n',
  'templates/rhel/runtime.Dockerfile.eta': 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n',
};

function tree(excludes = '', extra: Record<string, string> = {}, edit: (s: string) => string = (s) => s): { dir: string; manifest: string; yaml: string } {
  const yaml = edit(CUDA_SPEC.replace('EXCLUDES\n', excludes));
  const dir = writeTree({ 'manifest.yaml': yaml, ...TEMPLATES, ...extra });
  return { dir, manifest: join(dir, 'manifest.yaml'), yaml };
}

function errorsOf(manifest: string): Diagnostic[] {
  const r = loadSpec(manifest);
  expect(r.spec, 'spec should be rejected').toBeUndefined();
  return r.diagnostics.filter((d) => d.severity === 'error');
}


const renderOf = (plan: ReturnType<typeof loadPlan>, id: string) => plan.tasks.get(id) as RenderTask;
const platforms = (plan: ReturnType<typeof loadPlan>) =>
  [...plan.tasks.values()].filter((t): t is BuildTask => t.kind === 'build').map((t) => t.id.replace(/^build:cuda\//, '')).sort();

describe('data per distro × axis value × architecture', () => {
  it('merges over the axis value\'s own per-architecture data, distro then distro release, and templates see it', () => {
    const plan = loadPlan(tree().manifest);
    const base = renderOf(plan, 'render:cuda/ubuntu2204/base');
    const archs = Object.fromEntries((base.data as DirectoryContext).architectures.map((a) => [a.name, a.axes['cuda']]));
    expect(archs['amd64']).toEqual({
      '12.2.2': { major: '12', cudnn: '8.9.7', nvrtc: '12.2', libcublas: '12.2.5.6-1' },
      '11.8.0': { major: '11', cudnn: '8.9.0' },
    });
    expect(archs['arm64v8']).toEqual({ '12.2.2': { major: '12', cudnn: '8.9.5' }, '11.8.0': { major: '11', cudnn: '8.9.0' } });
    // 12.2.2 does not exist on ppc64le: no data there, as before.
    expect(archs['ppc64le']).toEqual({ '11.8.0': { major: '11', cudnn: '8.9.0' } });
    const runtime = renderOf(plan, 'render:cuda/ubuntu2204/runtime');
    expect(runtime.files[0]!.content).toContain('# ppc64le {"11.8.0":{"major":"11","cudnn":"8.9.0","libcublas":"11.11.3.6-1"}}');
    expect(runtime.files[0]!.content).toContain('# amd64 {"12.2.2":{"major":"12","cudnn":"8.9.7","nvrtc":"12.2","libcublas":"12.2.5.6-1"}');
    // Another distro sees only the axis's data.
    expect(base.hash).not.toEqual(renderOf(loadPlan(tree('', {}, (s) => s.replace('amd64: { cudnn: "8.9.7", libcublas: "12.2.5.6-1" }', 'amd64: { cudnn: "8.9.8" }')).manifest), 'render:cuda/ubuntu2204/base').hash);
  });

  it('reads the same data from include files at the distro and the distro release, positions pointing into them', () => {
    const inline = loadPlan(tree().manifest);
    const edit = (s: string) => s
      .replace('amd64: { cudnn: "8.9.7", libcublas: "12.2.5.6-1" }', 'amd64: { include: data/ubuntu2204/12.2.2/amd64.yaml }')
      .replace('ppc64le: { libcublas: "11.11.3.6-1" }', 'ppc64le: { include: data/ubuntu2204/runtime-11.8.0-ppc64le.yaml }');
    const files = { 'data/ubuntu2204/12.2.2/amd64.yaml': 'cudnn: "8.9.7"\nlibcublas: "12.2.5.6-1"\n', 'data/ubuntu2204/runtime-11.8.0-ppc64le.yaml': 'libcublas: "11.11.3.6-1"\n' };
    const { manifest } = tree('', files, edit);
    const included = loadPlan(manifest);
    for (const id of ['render:cuda/ubuntu2204/base', 'render:cuda/ubuntu2204/runtime']) expect(renderOf(included, id).files[0]!.content).toBe(renderOf(inline, id).files[0]!.content);
    expect(included.spec.source.files.filter((f) => f.includes('/data/ubuntu2204/')).length).toBe(2);
    const bad = tree('', { ...files, 'data/ubuntu2204/12.2.2/amd64.yaml': 'cudnn: "8.9.7"\ncudnn: "8.9.8"\n' }, edit);
    expect(errorsOf(bad.manifest).map((d) => `${d.file?.split('/').slice(-3).join('/')}:${d.line}`)).toContain('ubuntu2204/12.2.2/amd64.yaml:2');
  });

  it('a changed pin re-renders only the distro that writes it', () => {
    const before = loadPlan(tree().manifest);
    const after = loadPlan(tree('', {}, (s) => s.replace('libcublas: "11.11.3.6-1"', 'libcublas: "11.11.3.7-1"')).manifest);
    const hash = (p: ReturnType<typeof loadPlan>, id: string) => p.tasks.get(id)!.hash;
    expect(hash(after, 'render:cuda/ubuntu2204/runtime')).not.toBe(hash(before, 'render:cuda/ubuntu2204/runtime'));
    expect(hash(after, 'render:cuda/ubuntu2204/base')).toEqual(hash(before, 'render:cuda/ubuntu2204/base'));
    expect(hash(after, 'render:cuda/amzn2023/runtime')).toEqual(hash(before, 'render:cuda/amzn2023/runtime'));
  });

  it('refuses data for an unknown architecture, one not built there, or one the value does not exist on, each at its key', () => {
    const { manifest, yaml } = tree('', {}, (s) => s
      .replace('              amd64: { cudnn: "8.9.7", libcublas: "12.2.5.6-1" }', '              amd64: { cudnn: "8.9.7" }\n              ppc64le: { cudnn: "x" }\n              s390x: { cudnn: "x" }')
      .replace('    releases: [base, runtime]', '    axes: { cuda: { values: { "11.8.0": { architectures: { ppc64le: { a: "1" } } } } } }\n    releases: [base, runtime]'));
    const errs = errorsOf(manifest);
    const find = (m: RegExp) => errs.find((d) => m.test(d.message));
    expect(find(/unknown architecture "s390x"/)).toMatchObject({ path: 'distros.ubuntu2204.axes.cuda.values["12.2.2"].architectures.s390x', line: lineOf(yaml, 's390x: { cudnn') });
    expect(find(/cuda 12\.2\.2 exists only on amd64, arm64v8 .*"ppc64le"/)).toMatchObject({ line: lineOf(yaml, 'ppc64le: { cudnn: "x" }') });
    expect(find(/architecture "ppc64le" is not built here \(amd64, arm64v8\)/)).toMatchObject({ path: 'distros.amzn2023.axes.cuda.values["11.8.0"].architectures.ppc64le', line: lineOf(yaml, 'ppc64le: { a: "1" }') });
    expect(errs).toHaveLength(3);
  });
});

describe('exclude: combinations that do not exist upstream', () => {
  const RULES = `exclude:
  - { distro: amzn2023, cuda: "11.8.0", arch: arm64v8 }   # arm64 only from 12.x on
  - { cuda: "11.8.0", arch: ppc64le, release: runtime }
  - { distro: amzn2023, cuda: "12.2.2", release: runtime }
`;

  it('no image or platform is planned for a removed combination, and children follow their parents', () => {
    const all = platforms(loadPlan(tree().manifest));
    const plan = loadPlan(tree(RULES).manifest);
    const got = platforms(plan);
    const gone = all.filter((p) => !got.includes(p));
    expect(gone).toEqual([
      'amzn2023/base/cuda11.8.0/arm64v8',
      'amzn2023/runtime/cuda11.8.0/arm64v8',
      'amzn2023/runtime/cuda12.2.2/amd64',
      'amzn2023/runtime/cuda12.2.2/arm64v8',
      'ubuntu2204/runtime/cuda11.8.0/ppc64le',
    ]);
    expect(got.every((p) => all.includes(p))).toBe(true);
    expect(plan.variants.find((v) => v.key === 'amzn2023/runtime/cuda12.2.2')).toBeUndefined();
    expect(plan.variants.find((v) => v.key === 'amzn2023/base/cuda11.8.0')!.arches).toEqual(['amd64']);
    expect(plan.variants.find((v) => v.key === 'ubuntu2204/base/cuda11.8.0')!.arches).toEqual(['amd64', 'arm64v8', 'ppc64le']);
    // The manifest of an image lists only the platforms it still has.
    const manifest = [...plan.tasks.values()].find((t) => t.kind === 'manifest' && t.id.includes('amzn2023/base/cuda11.8.0'))!;
    expect(manifest.deps.filter((d) => d.startsWith('build:'))).toEqual(['build:cuda/amzn2023/base/cuda11.8.0/amd64']);
  });

  it('says what each rule removed (info, at the rule), and warns of a rule that removes nothing', () => {
    const { manifest, yaml } = tree(`${RULES}  - { distro: ubuntu2204, cuda: "12.2.2", arch: ppc64le }\n`);
    const plan = loadPlan(manifest);
    const notes = plan.warnings.filter((d) => d.path.startsWith('exclude'));
    expect(notes.map((d) => [d.severity, d.path, d.line])).toEqual([
      ['info', 'exclude[0]', lineOf(yaml, 'arm64 only from')],
      ['info', 'exclude[1]', lineOf(yaml, 'arch: ppc64le, release: runtime')],
      ['info', 'exclude[2]', lineOf(yaml, 'cuda: "12.2.2", release: runtime')],
      ['warning', 'exclude[3]', lineOf(yaml, 'ubuntu2204, cuda: "12.2.2"')],
    ]);
    expect(notes[0]!.message).toBe('exclude rule (distro amzn2023, cuda 11.8.0, arch arm64v8) removes 2 platforms of 2 images: amzn2023/base/cuda11.8.0 (arm64v8), amzn2023/runtime/cuda11.8.0 (arm64v8)');
    expect(notes[2]!.message).toMatch(/removes 2 platforms of 1 image: amzn2023\/runtime\/cuda12\.2\.2 \(amd64, arm64v8\)$/);
    expect(notes[3]!.message).toBe('exclude rule (distro ubuntu2204, cuda 12.2.2, arch ppc64le) removes nothing: no planned image matches it');
    expect(plan.excluded[1]).toEqual({ path: 'exclude[1]', removed: [{ image: 'ubuntu2204/runtime/cuda11.8.0', arch: 'ppc64le' }] });
  });

  it('refuses unknown names, values and keys, each at its position', () => {
    const { manifest, yaml } = tree(`exclude:
  - { distro: amzn2, cuda: "11.8.0" }
  - { cuda: ["11.8.0", "10.2"], arch: s390x }
  - { release: devel, flavor: slim }
  - {}
`);
    const errs = errorsOf(manifest);
    expect(errs.map((d) => [d.path, d.line, d.message])).toEqual([
      ['exclude[0].distro', lineOf(yaml, 'distro: amzn2,'), 'unknown distro "amzn2" (known: ubuntu2204, amzn2023)'],
      ['exclude[1].cuda[1]', lineOf(yaml, '"10.2"'), '"10.2" is not a value of axis "cuda" (values: 12.2.2, 11.8.0)'],
      ['exclude[1].arch', lineOf(yaml, '"10.2"'), 'unknown architecture "s390x" (known: amd64, arm64v8, ppc64le)'],
      ['exclude[2].release', lineOf(yaml, 'release: devel'), 'unknown release "devel" (known: base, runtime)'],
      ['exclude[2].flavor', lineOf(yaml, 'release: devel'), 'an exclude rule matches on distro, release, arch or an axis (cuda); not "flavor"'],
      ['exclude[3]', lineOf(yaml, '- {}'), 'an empty rule would exclude every image; name at least one of distro, release, arch or an axis'],
    ]);
    expect(errs[1]!.column).toBe(yaml.split('\n')[lineOf(yaml, '"10.2"') - 1]!.indexOf('"10.2"') + 1);
  });

  it('an unquoted version is the quote-it error; a rule removing a whole release on a distro is an error naming the rule', () => {
    const num = errorsOf(tree('exclude:\n  - { cuda: 11.8 }\n').manifest);
    expect(num.map((d) => d.message)).toEqual(['11.8 is a number to YAML; this takes a string: quote it ("11.8")']);
    const e = planError(tree('exclude:\n  - { distro: amzn2023, release: runtime }\n').manifest);
    expect(e.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([
      'release "runtime" on distro amzn2023 has no image: exclude[0] removes every one; stop listing the release on this distro instead',
    ]);
  });

  it('`validate` lists the removals (and --json carries them); `build --dry-run` plans none of them', () => {
    const { dir, manifest } = tree(RULES);
    const v = cli(['validate', manifest]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/manifest\.yaml:\d+:\d+: info: exclude\[0\]: exclude rule \(distro amzn2023, cuda 11\.8\.0, arch arm64v8\) removes 2 platforms/);
    const j = cli(['--json', 'validate', manifest]);
    expect(j.code, j.stderr).toBe(0);
    const out = JSON.parse(j.stdout) as { excluded: { path: string; removed: unknown[] }[]; warnings: Diagnostic[] };
    expect(out.excluded.map((x) => [x.path, x.removed.length])).toEqual([['exclude[0]', 2], ['exclude[1]', 1], ['exclude[2]', 2]]);
    expect(out.warnings.filter((d) => d.severity === 'info')).toHaveLength(3);
    const dry = cli(['build', manifest, '--all', '--dry-run', '--offline', '--output', join(dir, 'gen')]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/build:cuda\/amzn2023\/base\/cuda11\.8\.0\/amd64/);
    expect(dry.stdout).not.toMatch(/build:cuda\/amzn2023\/base\/cuda11\.8\.0\/arm64v8|build:cuda\/amzn2023\/runtime\/cuda12\.2\.2|build:cuda\/ubuntu2204\/runtime\/cuda11\.8\.0\/ppc64le/);
  });
});

describe('a data template: derived data computed once per Dockerfile', () => {
  const DATA = [
    '<% const arches = it.architectures.map((a) => a.name) -%>',
    '<% const pins = Object.fromEntries(it.architectures.map((a) => [a.name, a.axes.cuda["12.2.2"]?.cudnn ?? null])) -%>',
    '{',
    '  "arches": <%~ JSON.stringify(arches) %>,',
    '  "cudnn": <%~ JSON.stringify(pins) %>,',
    '  "sandboxed": "<%= typeof process %>"',
    '}',
    '',
  ].join('\n');
  const withData = (data: string, extra: Record<string, string> = {}) => tree('', {
    'templates/debian/cuda.data.eta': data,
    'templates/debian/base.Dockerfile.eta': 'ARG BASE_IMAGE=<%= it.from.default %>\nFROM ${BASE_IMAGE}\n# <%= it.computed.arches?.join(" ") ?? "" %> cudnn <%= it.computed.cudnn?.amd64 ?? "" %>\n',
    'templates/debian/runtime.Dockerfile.eta': 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n# <%= it.computed.sandboxed ?? "" %> <%= it.computed.missing ?? "free-form" %>\n',
    ...extra,
  }, (s) => s.replace('    image: "ubuntu:22.04"\n', '    image: "ubuntu:22.04"\n    data: cuda.data\n'));

  it('its JSON output is it.computed for every template of the Dockerfile, and its source is hashed', () => {
    const { manifest } = withData(DATA);
    const plan = loadPlan(manifest);
    const base = renderOf(plan, 'render:cuda/ubuntu2204/base');
    expect(base.files[0]!.content).toContain('# amd64 arm64v8 ppc64le cudnn 8.9.7\n');
    expect((base.data as DirectoryContext).computed).toEqual({ arches: ['amd64', 'arm64v8', 'ppc64le'], cudnn: { amd64: '8.9.7', arm64v8: '8.9.5', ppc64le: null }, sandboxed: 'undefined' });
    expect(renderOf(plan, 'render:cuda/ubuntu2204/runtime').files[0]!.content).toContain('# undefined free-form\n');
    expect(Object.keys(base.hash.parts)).toContain('template:debian/cuda.data.eta');
    // A distro without one sees no `computed`, and its hash is as before.
    expect((renderOf(plan, 'render:cuda/amzn2023/base').data as DirectoryContext).computed).toBeUndefined();
    expect(renderOf(plan, 'render:cuda/amzn2023/base').hash).toEqual(renderOf(loadPlan(tree().manifest), 'render:cuda/amzn2023/base').hash);
    const edited = loadPlan(withData(DATA.replace('"sandboxed"', '"extra": 1,\n  "sandboxed"')).manifest);
    expect(renderOf(edited, 'render:cuda/ubuntu2204/base').hash).not.toEqual(base.hash);
  });

  it('output that is not JSON is an error at the template line and column that wrote it', () => {
    const trailing = DATA.replace('"sandboxed": "<%= typeof process %>"', '"sandboxed": "<%= typeof process %>",');
    const e = planError(withData(trailing).manifest).diagnostics.find((d) => d.severity === 'error')!;
    expect(e.file).toMatch(/templates\/debian\/cuda\.data\.eta$/);
    // The JSON parser stops at the closing brace after the trailing comma: line 7, column 1.
    expect([e.line, e.column]).toEqual([7, 1]);
    expect(e.message).toMatch(/^data template error: the output is not JSON: unexpected "\}" at output line 5, column 1 \(near .*\) \(rendering ubuntu2204\/base\/Dockerfile for distro ubuntu2204, release base\)$/);
    expect(e.path).toBe('distros.ubuntu2204.releases.base');
    // Text a tag printed is blamed on the tag.
    const tagged = planError(withData('{\n  "a": 1,\n  "b": <%= "not json" %>\n}\n').manifest).diagnostics.find((d) => d.severity === 'error')!;
    expect([tagged.line, tagged.column]).toEqual([3, 8]);
    // Inside a loop (a comma missing between iterations), the text's own line and column.
    const looped = planError(withData('{\n<% for (const a of it.architectures) { -%>\n  "<%= a.name %>": 1\n<% } -%>\n}\n').manifest).diagnostics.find((d) => d.severity === 'error')!;
    expect([looped.line, looped.column]).toEqual([3, 3]);
    const cut = planError(withData('{ "a": 1\n').manifest).diagnostics.find((d) => d.severity === 'error')!;
    expect(cut.message).toMatch(/the output ends before the JSON does at output line 2, column 1/);
  });

  it('is bounded in size and must be an object; a missing one is a spec error at its key', () => {
    const big = planError(withData('{ "x": "<%= "x".repeat(1100000) %>" }').manifest).diagnostics.find((d) => d.severity === 'error')!;
    expect(big.message).toMatch(/^data template error: the output is 1100011 bytes; a data template may write at most 1048576/);
    const list = planError(withData('[1, 2]').manifest).diagnostics.find((d) => d.severity === 'error')!;
    expect(list.message).toMatch(/must be a JSON object \(\{ … \}\), not an array/);
    const { manifest, yaml } = tree('', {}, (s) => s.replace('    image: "ubuntu:22.04"\n', '    image: "ubuntu:22.04"\n    data: nothing-here\n'));
    const errs = errorsOf(manifest);
    expect(errs.map((d) => [d.path, d.line])).toEqual([['distros.ubuntu2204.data', lineOf(yaml, 'data: nothing-here')]]);
    expect(errs[0]!.message).toMatch(/^data template "nothing-here" not found for distro ubuntu2204 \(looked for .*templates\/debian\/nothing-here\.eta\)$/);
  });

  it('the example in docs/spec.md renders as it says', () => {
    const docs = readFileSync(join(REPO, 'docs', 'spec.md'), 'utf8');
    const block = (marker: string) => new RegExp(`\`${marker}\`[^\\n]*\\n\\n\`\`\`\\n([\\s\\S]*?)\`\`\``).exec(docs)![1]!;
    const { manifest } = withData(block('templates/ubuntu/cuda\\.data\\.eta'), { 'templates/debian/base.Dockerfile.eta': TEMPLATES['templates/rhel/base.Dockerfile.eta']!, 'templates/debian/runtime.Dockerfile.eta': `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\n${block('templates/ubuntu/runtime\\.Dockerfile\\.eta')}` });
    const out = renderOf(loadPlan(manifest), 'render:cuda/ubuntu2204/runtime').files[0]!.content;
    expect(out).toBe([
      'ARG BASE_IMAGE',
      'FROM ${BASE_IMAGE}',
      '# built for amd64 arm64v8 ppc64le',
      '# amd64: libcudnn8=8.9.7-1+cuda12.2 libcudnn8=8.9.0-1+cuda11.8',
      '# arm64v8: libcudnn8=8.9.5-1+cuda12.2 libcudnn8=8.9.0-1+cuda11.8',
      '# ppc64le: libcudnn8=8.9.0-1+cuda11.8',
      '',
    ].join('\n'));
  });

  it('finds where any JSON goes wrong', () => {
    for (const [text, at] of [['{"a":1}', 7], ['{"a":1,}', 7], ['[1 2]', 3], ['{"a":"x\\q"}', 8], ['{"a":-}', 6], ['nul', 3], ['{"a":1} x', 8], ['"\\u12g4"', 5], ['', 0]] as const) {
      expect(jsonErrorAt(text), text).toBe(at);
    }
    expect(jsonErrorAt('['.repeat(200_000))).toBeTypeOf('number');
  });

  it('JSON.stringify works on what templates see (no toJSON asked of the strict view fails)', () => {
    const { manifest } = withData('{ "distro": <%~ JSON.stringify(it.distro) %>, "from": <%~ JSON.stringify(it.from) %> }');
    const computed = (renderOf(loadPlan(manifest), 'render:cuda/ubuntu2204/base').data as DirectoryContext).computed!;
    expect(computed['distro']).toMatchObject({ name: 'ubuntu2204', family: 'debian', package_manager: 'apt' });
  });

  it('is sandboxed as templates are', () => {
    const e = planError(withData('{ "x": "<%= await import("node:fs") %>" }').manifest).diagnostics.find((d) => d.severity === 'error')!;
    expect(e.message).toMatch(/import\( is not available to templates/);
  });
});
