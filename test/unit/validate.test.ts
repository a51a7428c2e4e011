import { describe, expect, it } from 'vitest';
import { loadSpec } from '../../core/load/validate.ts';
import { formatDiagnostic, type Diagnostic } from '../../core/base/diagnostics.ts';
import { BENTO_MANIFEST, MINI_SPEC, REPO, miniSpec, planError, tempDir, writeTree, MINI_TEMPLATES, lineOf } from '../helpers/spec.ts';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function errorsOf(yaml: string, extra: Record<string, string> = {}): Diagnostic[] {
  const { manifest } = miniSpec({ 'manifest.yaml': yaml, ...extra });
  const r = loadSpec(manifest);
  expect(r.spec, 'spec should be rejected').toBeUndefined();
  return r.diagnostics.filter((d) => d.severity === 'error');
}

/** 1-based line of the first line containing `needle`. */

describe('loadSpec', () => {
  it('an axis default written as a YAML number is one error, with the quote-it hint, and no follow-on for the axis set aside', () => {
    const yaml = MINI_SPEC.replace('python: ["3.10", "3.11"]\n', 'axes:\n  python:\n    arg: PYTHON_VERSION\n    default: 3.10\n    values: ["3.10", "3.11"]\n');
    const errors = errorsOf(yaml);
    expect(errors.map((d) => [d.path, d.line, d.message])).toEqual([['axes.python.default', lineOf(yaml, 'default: 3.10'), '3.10 is read by YAML as the number 3.1: quote it ("3.10")']]);
    const same = errorsOf(yaml.replace('default: 3.10', 'default: 3.11'));
    expect(same.map((d) => d.message)).toEqual(['3.11 is a number to YAML; this takes a string: quote it ("3.11")']);
  });

  it('on the bento-server example, a numeric cuda default is the one error (its tags, when and data say nothing more)', () => {
    const root = tempDir();
    cpSync(join(REPO, 'examples'), join(root, 'examples'), { recursive: true });
    cpSync(join(REPO, 'templates'), join(root, 'templates'), { recursive: true });
    mkdirSync(join(root, '.git'));
    const shared = join(root, 'examples', 'specs.yaml');
    writeFileSync(shared, readFileSync(shared, 'utf8').replace('default: "11.6.2"', 'default: 11.6'));
    const r = loadSpec(join(root, 'examples', 'bento-server', 'manifest.yaml'));
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => `${d.path}: ${d.message}`)).toEqual(['axes.cuda.default: 11.6 is a number to YAML; this takes a string: quote it ("11.6")']);
  });

  it('accepts tdnf (Azure Linux, CBL-Mariner) beside the other package managers, and refuses one it does not know', () => {
    const ok = loadSpec(miniSpec({ 'manifest.yaml': MINI_SPEC.replace('package_manager: apt', 'package_manager: tdnf') }).manifest);
    expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(ok.spec!.distros['deb']!.packageManager).toBe('tdnf');
    const bad = errorsOf(MINI_SPEC.replace('package_manager: apt', 'package_manager: pacman'));
    expect(bad.map((d) => d.message).join('\n')).toMatch(/tdnf/);
  });

  it('accepts the bento-server example with no warnings', () => {
    const r = loadSpec(BENTO_MANIFEST);
    expect(r.diagnostics).toEqual([]);
    expect(r.spec!.releaseOrder).toEqual(['base', 'runtime', 'cudnn', 'devel', 'devel-trt']);
    expect(r.spec!.releases['devel-trt']!.axes).toEqual(['python', 'python_env', 'cuda']);
    expect(Object.keys(r.spec!.distros)).toEqual(['debian11', 'debian10', 'ubi8', 'alpine3.14', 'amazonlinux2']);
    expect(r.spec!.distros['ubi8']!.axes['python']).toEqual(['3.8', '3.9']);
    expect(r.spec!.distros['ubi8']!.releases['cudnn']!.axes).toEqual({ python: ['3.8', '3.9'], python_env: ['pip'], cuda: ['11.6.2', '11.7.1'] });
    expect(r.spec!.axes['python']).toMatchObject({ arg: 'PYTHON_VERSION', id: 'py', default: '3.7', everywhere: true });
    expect(r.spec!.distros['debian11']!.releases['devel-trt']!.architectures).toEqual(['amd64']);
  });

  it('reports an unknown key at its own line and column', () => {
    const yaml = MINI_SPEC.replace('  deb:\n', '  deb:\n    colour: blue\n');
    const [d, ...rest] = errorsOf(yaml);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ path: 'distros.deb.colour', line: lineOf(yaml, 'colour'), column: 5 });
    expect(d!.message).toContain('unknown key "colour"');
    expect(d!.file).toMatch(/manifest\.yaml$/);
  });

  it('reports a missing parent release with the parent value position', () => {
    const yaml = MINI_SPEC.replace('parent: base', 'parent: bsae');
    const [d] = errorsOf(yaml);
    expect(d).toMatchObject({ path: 'releases.runtime.parent', line: lineOf(yaml, 'parent: bsae'), column: 13 });
    expect(d!.message).toMatch(/parent release "bsae" does not exist/);
  });

  it('reports a cycle of parents', () => {
    const yaml = MINI_SPEC.replace('  base:\n    tags', '  base:\n    parent: runtime\n    tags');
    const ds = errorsOf(yaml);
    expect(ds).toHaveLength(1);
    expect(ds[0]!.message).toMatch(/cycle: (base -> runtime|runtime -> base) -> /);
    expect(ds[0]!.line).toBeGreaterThan(0);
  });

  it('reports unknown releases and architectures listed by a distro, all at once', () => {
    const yaml = MINI_SPEC.replace('architectures: [amd64, arm64v8]', 'architectures: [amd64, mips]').replace('releases: [base, runtime]', 'releases: [base, runtime, gpu]');
    const ds = errorsOf(yaml);
    const arch = ds.find((d) => d.message.includes('"mips"'))!;
    const rel = ds.find((d) => d.message.includes('"gpu"'))!;
    expect(arch).toMatchObject({ path: 'distros.deb.architectures[1]', line: lineOf(yaml, '[amd64, mips]'), column: 28 });
    expect(rel).toMatchObject({ path: 'distros.deb.releases[2]', line: lineOf(yaml, 'runtime, gpu]') });
  });

  it('reports a template that does not exist', () => {
    const yaml = MINI_SPEC.replace('    parent: base\n', '    parent: base\n    dockerfile: nope.Dockerfile\n');
    const [d] = errorsOf(yaml);
    expect(d).toMatchObject({ path: 'releases.runtime.dockerfile', line: lineOf(yaml, 'nope.Dockerfile') });
    expect(d!.message).toMatch(/template "nope.Dockerfile" not found/);
  });

  it('reports duplicate YAML keys with their position', () => {
    const yaml = MINI_SPEC.replace('version: 1.2.3\n', 'version: 1.2.3\nversion: 1.2.4\n');
    const [d] = errorsOf(yaml);
    expect(d!.message).toMatch(/duplicate key/i);
    expect(d!.line).toBe(lineOf(yaml, 'version: 1.2.4'));
  });

  it('refuses unquoted numeric Python versions, which YAML would turn 3.10 into 3.1', () => {
    const yaml = MINI_SPEC.replace('python: ["3.10", "3.11"]', 'python: [3.10, "3.11"]');
    const [d] = errorsOf(yaml);
    expect(d).toMatchObject({ path: 'python[0]', line: lineOf(yaml, 'python: [3.10') });
    expect(d!.message).toBe('3.10 is read by YAML as the number 3.1: quote it ("3.10")');
  });

  it('reports a tag template that gives two images the same tag', () => {
    const yaml = MINI_SPEC.replace('tags: ["base-python{python}-{distro}"]', 'tags: ["base-{distro}"]');
    const { manifest } = miniSpec({ 'manifest.yaml': yaml });
    // Schema and rules pass; the collision shows up when the matrix expands.
    expect(loadSpec(manifest).spec).toBeDefined();
    const [d] = planError(manifest).diagnostics;
    expect(d).toMatchObject({ path: 'releases.base.tags[0]', line: lineOf(yaml, '"base-{distro}"') });
    expect(d!.message).toMatch(/gives tag "base-deb" to both deb\/base\/py3\.10 and deb\/base\/py3\.11/);
  });

  it('reports a missing required key at the parent object', () => {
    const yaml = MINI_SPEC.replace('    package_manager: apt\n', '');
    const [d] = errorsOf(yaml);
    expect(d).toMatchObject({ path: 'distros.deb', line: lineOf(yaml, '  deb:') });
    expect(d!.message).toMatch(/missing required key "package_manager"/);
  });

  it('reports unknown tag variables and a "when" on an axis the release lacks', () => {
    const yaml = MINI_SPEC.replace('"{version}-python{python}-{alias}-runtime"', '"{version}-{flavour}"');
    const [d] = errorsOf(yaml);
    expect(d).toMatchObject({ path: 'releases.runtime.tags[0]', line: lineOf(yaml, '{flavour}') });
    expect(d!.message).toMatch(/unknown variable \{flavour\}/);
  });

  it('reports every error in one pass, each with a position', () => {
    const yaml = MINI_SPEC.replace('parent: base', 'parent: nope').replace('releases: [base, runtime]', 'releases: [base, nothing]').replace('namespace: acme', 'namespace: acme\n    colour: red');
    const ds = errorsOf(yaml);
    // The schema's error and the rules' errors together: the refused registry is set aside and
    // the rest is still checked.
    expect(ds.map((d) => d.path).sort()).toEqual(['distros.deb.releases[1]', 'registries.hub.colour', 'releases.runtime.parent']);
    for (const d of ds) expect(d.line).toBeGreaterThan(0);
  });

  it('formats diagnostics as file:line:column: severity: path: message', () => {
    const yaml = MINI_SPEC.replace('parent: base', 'parent: bsae');
    const [d] = errorsOf(yaml);
    expect(formatDiagnostic(d!, '/')).toMatch(/manifest\.yaml:\d+:13: error: releases\.runtime\.parent: parent release "bsae"/);
  });

  it('reports a YAML syntax error with its position and nothing else', () => {
    const [d] = errorsOf('package: x\nreleases: [a, b\n');
    expect(d!.line).toBeGreaterThan(0);
  });

  it('refuses alias bombs', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const [d] = errorsOf(bomb.join('\n') + '\n');
    expect(d!.message).toMatch(/alias/i);
  });
});

describe('layers', () => {
  const base = `architectures:
  amd64: linux/amd64
  arm64v8: linux/arm64
python: ["3.10", "3.11"]
releases:
  base:
    tags: ["base-python{python}-{distro}"]
  runtime:
    parent: base
    tags: ["{version}-python{python}-{distro}-runtime"]
distros:
  deb:
    family: debian
    package_manager: apt
    image: example/python:{python}
    architectures: [amd64, arm64v8]
    releases: [base, runtime]
  alp:
    family: alpine
    package_manager: apk
    image: example/python:{python}-alpine
    architectures: [amd64]
    releases: [base]
registries:
  hub: { kind: dockerhub, namespace: acme }
`;

  it('merges maps key by key, replaces lists, and removes keys set to null', () => {
    const dir = writeTree({
      'specs.yaml': base,
      'pkg/manifest.yaml': `extends: ../specs.yaml
package: pkg
version: "1"
templates: ../templates
python: ["3.12"]
releases:
  runtime:
    build_args: { X: "1" }
distros:
  alp: null
  deb:
    architectures: [amd64]
`,
      ...MINI_TEMPLATES,
    });
    const r = loadSpec(join(dir, 'pkg/manifest.yaml'), { root: dir });
    expect(r.diagnostics).toEqual([]);
    const s = r.spec!;
    expect(s.axes['python']!.order).toEqual(['3.12']);
    expect(Object.keys(s.distros)).toEqual(['deb']);
    expect(s.distros['deb']!.architectures).toEqual(['amd64']);
    expect(s.distros['deb']!.family).toBe('debian');
    expect(s.releases['runtime']!.parent).toBe('base');
    expect(s.releases['runtime']!.buildArgs).toEqual({ X: '1' });
    expect(s.source.files.map((f) => f.split('/').pop())).toEqual(['specs.yaml', 'manifest.yaml']);
  });

  it('points errors at the layer that wrote the bad value', () => {
    const dir = writeTree({
      'specs.yaml': base.replace('parent: base', 'parent: bsae'),
      'pkg/manifest.yaml': 'extends: ../specs.yaml\npackage: pkg\nversion: "1"\ntemplates: ../templates\n',
      ...MINI_TEMPLATES,
    });
    const r = loadSpec(join(dir, 'pkg/manifest.yaml'), { root: dir });
    const d = r.diagnostics.find((x) => x.severity === 'error')!;
    expect(d.file).toBe(join(dir, 'specs.yaml'));
    expect(d.line).toBe(lineOf(base, 'parent: base'));
  });

  it('reports an extends cycle and a missing base file', () => {
    const dir = writeTree({ 'a.yaml': 'extends: b.yaml\npackage: a\n', 'b.yaml': 'extends: a.yaml\n', 'c.yaml': 'extends: nope.yaml\npackage: c\n' });
    const cycle = loadSpec(join(dir, 'a.yaml')).diagnostics[0]!;
    expect(cycle.message).toMatch(/extends forms a cycle/);
    // At the entry that closes the cycle: b.yaml's `extends: a.yaml`, line 1, column 10.
    expect(cycle).toMatchObject({ file: join(dir, 'b.yaml'), line: 1, column: 10 });
    const missing = loadSpec(join(dir, 'c.yaml')).diagnostics[0]!;
    expect(missing.message).toMatch(/cannot read spec file .*nope\.yaml/);
    expect(missing).toMatchObject({ file: join(dir, 'c.yaml'), line: 1, path: 'extends' });
  });
});
