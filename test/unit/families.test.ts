// What real families need of axes: a Dockerfile per value, data per value and per distro,
// derived and default-only tags, tags shared across images, keys YAML would turn into numbers.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../core/base/diagnostics.ts';
import { checkDirectories } from '../../core/load/layout.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import { selectTasks } from '../../core/plan/select.ts';
import { versionParts } from '../../core/load/placeholders.ts';
import type { ManifestTask, RenderTask } from '../../core/plan/task.ts';
import { loadSpec } from '../../core/load/validate.ts';
import { planError, writeTree, lineOf } from '../helpers/spec.ts';

/** Node images: one Dockerfile per major (per-value), a flavor shared as a build arg, Linux and Windows distros. */
const NODE = `package: node
templates: ./templates
directory: "{node}/{distro}"
architectures:
  amd64: linux/amd64
  arm64v8: linux/arm64
  winamd64: windows/amd64
axes:
  node:
    render: per-value
    values:
      "22": { vars: { version: "22.11.0" } }
      "20": { vars: { version: "20.18.1" } }
  flavor:
    arg: FLAVOR
    id: ""
    values: [full, slim]
releases:
  node:
    axes: [node, flavor]
    tags:
      - "{node.version}-{flavor}-{distro}"
      - { template: "{node.major}-{flavor}-{distro}", when: { node: default } }
      - { template: "{node.version}-{flavor}", shared: true, when: { alias: default } }
distros:
  bookworm:
    alias: os
    family: debian
    package_manager: apt
    image: example/debian:bookworm
    architectures: [amd64, arm64v8]
    axes:
      node: { values: { "20": { vars: { version: "20.18.2" } } } }
    releases: [node]
  windows:
    alias: os
    family: windows
    package_manager: apt
    image: example/windows:ltsc2022
    architectures: [winamd64]
    releases: [node]
`;

const TEMPLATES: Record<string, string> = {
  'templates/debian/node.Dockerfile.eta': 'FROM <%= it.distro.image %>\nENV NODE_VERSION <%= it.values.node.vars.version %>\nARG FLAVOR\n',
  'templates/windows/node.Dockerfile.eta': 'FROM <%= it.distro.image %>\nENV NODE_VERSION <%= it.values.node.vars.version %>\n',
  'templates/debian/base.Dockerfile.eta': 'FROM <%= it.distro.image %>\n',
  'templates/windows/base.Dockerfile.eta': 'FROM <%= it.distro.image %>\n',
};

function node(yaml = NODE): string {
  return join(writeTree({ 'manifest.yaml': yaml, ...TEMPLATES }), 'manifest.yaml');
}

function errors(yaml: string): Diagnostic[] {
  const r = loadSpec(node(yaml));
  if (r.spec) return planError(node(yaml)).diagnostics.filter((d) => d.severity === 'error');
  return r.diagnostics.filter((d) => d.severity === 'error');
}


describe('a Dockerfile per axis value', () => {
  const plan = loadPlan(node());

  it('one directory per value and distro; the shared axis stays a build arg in one Dockerfile', () => {
    const renders = [...plan.tasks.values()].filter((t): t is RenderTask => t.kind === 'render' && t.dir !== '');
    expect(renders.map((r) => r.dir)).toEqual(['22/bookworm', '20/bookworm', '22/windows', '20/windows']);
    const df = (dir: string) => renders.find((r) => r.dir === dir)!.files[0]!.content;
    expect(df('22/bookworm')).toBe('FROM example/debian:bookworm\nENV NODE_VERSION 22.11.0\nARG FLAVOR\n');
    // Data per value and distro: bookworm carries its own 20.x.
    expect(df('20/bookworm')).toContain('ENV NODE_VERSION 20.18.2\n');
    expect(df('20/windows')).toContain('ENV NODE_VERSION 20.18.1\n');
    const b = plan.tasks.get('build:node/bookworm/node/node20/slim/arm64v8');
    expect(b?.kind === 'build' && [b.context, b.buildArgs]).toEqual(['20/bookworm', { FLAVOR: 'slim' }]);
  });

  it('tags read value data and derived parts; `when: default` picks the default value', () => {
    const tags = Object.fromEntries(plan.variants.map((v) => [v.key, [...v.tags, ...v.sharedTags.map((t) => `shared:${t}`)]]));
    expect(tags['bookworm/node/node22/full']).toEqual(['22.11.0-full-bookworm', '22-full-bookworm', 'shared:22.11.0-full']);
    expect(tags['bookworm/node/node20/slim']).toEqual(['20.18.2-slim-bookworm', 'shared:20.18.2-slim']);
    expect(tags['windows/node/node22/full']).toEqual(['22.11.0-full-windows', '22-full-windows']);
  });

  it('versionParts: major, major.minor, all of it; nothing for a word', () => {
    expect(versionParts('3.14.6')).toEqual({ major: '3', minor: '3.14', full: '3.14.6' });
    expect(versionParts('3.15-rc')).toEqual({ major: '3', minor: '3.15', full: '3.15-rc' });
    expect(versionParts('22')).toEqual({ major: '22', minor: '22', full: '22' });
    expect(versionParts('bookworm')).toBeUndefined();
  });
});

describe('shared tags', () => {
  const yaml = NODE.replace('{ template: "{node.version}-{flavor}", shared: true, when: { alias: default } }', '{ template: "{node.version}-{flavor}", shared: true }')
    .replace('    axes:\n      node: { values: { "20": { vars: { version: "20.18.2" } } } }\n', '');
  const plan = loadPlan(node(yaml));

  it('images with different platforms share one index: one manifest task with all their builds', () => {
    const shared = [...plan.tasks.values()].filter((t): t is ManifestTask => t.kind === 'manifest' && t.variant.startsWith('@shared/'));
    expect(shared.map((m) => [m.id, m.tags, m.platforms])).toEqual([
      ['manifest:node/@shared/22.11.0-full', ['22.11.0-full'], ['linux/amd64', 'linux/arm64', 'windows/amd64']],
      ['manifest:node/@shared/22.11.0-slim', ['22.11.0-slim'], ['linux/amd64', 'linux/arm64', 'windows/amd64']],
      ['manifest:node/@shared/20.18.1-full', ['20.18.1-full'], ['linux/amd64', 'linux/arm64', 'windows/amd64']],
      ['manifest:node/@shared/20.18.1-slim', ['20.18.1-slim'], ['linux/amd64', 'linux/arm64', 'windows/amd64']],
    ]);
    expect(shared[0]!.builds).toEqual(['build:node/bookworm/node/node22/full/amd64', 'build:node/bookworm/node/node22/full/arm64v8', 'build:node/windows/node/node22/full/winamd64']);
    expect(shared[0]!.variants).toEqual(['bookworm/node/node22/full', 'windows/node/node22/full']);
    // The images' own manifests do not publish it.
    expect((plan.tasks.get('manifest:node/bookworm/node/node22/full') as ManifestTask).tags).toEqual(['22.11.0-full-bookworm', '22-full-bookworm']);
  });

  it('is selected only with every image in it', () => {
    const linux = selectTasks(plan, { distros: ['bookworm'] });
    expect([...linux].some((id) => id.includes('@shared'))).toBe(false);
    const all = selectTasks(plan, { axes: { node: ['22'] } });
    expect([...all].filter((id) => id.includes('@shared')).sort()).toEqual(['manifest:node/@shared/22.11.0-full', 'manifest:node/@shared/22.11.0-slim']);
  });

  it('refuses images whose platforms overlap, and a tag shared by some images but not others', () => {
    const overlap = yaml.replace('architectures: [winamd64]', 'architectures: [amd64]').replace('family: windows', 'family: debian');
    const [e] = errors(overlap);
    expect(e).toMatchObject({ line: lineOf(overlap, 'shared: true'), message: 'shared tag "22.11.0-full" would hold linux/amd64 of both bookworm/node/node22/full and windows/node/node22/full; the images sharing a tag must have different platforms' });
    // Shared on bookworm (the alias's first distro), plain on windows: one or the other.
    const mixed = NODE.replace('      - { template: "{node.version}-{flavor}", shared: true', '      - { template: "{node.version}-{flavor}", when: { distro: windows } }\n      - { template: "{node.version}-{flavor}", shared: true');
    expect(errors(mixed)[0]!.message).toBe('tag template "{node.version}-{flavor}" gives tag "22.11.0-full" to both bookworm/node/node22/full and windows/node/node22/full; add a variable that tells them apart (a tag is shared by every image that carries it, or by none)');
  });
});

describe('errors a real family can make, each at its line', () => {
  it('keys YAML reads as numbers: releases, distros, axis values', () => {
    const yaml = NODE.replace('"22": { vars', '22: { vars').replace('releases:\n  node:', 'releases:\n  3.10:\n    tags: [x]\n  node:');
    const errs = errors(yaml);
    expect(errs.map((e) => [e.line, e.message])).toEqual(expect.arrayContaining([
      [lineOf(yaml, '22: { vars'), 'key 22 is a number to YAML; names are strings: quote it ("22")'],
      [lineOf(yaml, '3.10:'), 'key 3.10 is read by YAML as the number 3.1: quote it ("3.10")'],
    ]));
  });

  it('axis values keep the order written, even when they look like integers', () => {
    const plan = loadPlan(node());
    expect(plan.spec.axes['node']!.order).toEqual(['22', '20']);
    expect(plan.spec.axes['node']!.default).toBe('22');
  });

  it('a `when` naming a distro, alias or release that does not exist', () => {
    const yaml = NODE.replace('when: { node: default }', 'when: { distro: bookwrom, alias: [os, slim] }');
    const errs = errors(yaml);
    const line = lineOf(yaml, 'bookwrom');
    expect(errs.map((e) => [e.line, e.message])).toEqual([
      [line, '"bookwrom" is not a distro of this spec (bookworm, windows, or default)'],
      [line, '"slim" is not a alias of this spec (os, or default)'],
    ]);
  });

  it('placeholders into value data and version parts say what is missing', () => {
    const yaml = NODE.replace('"{node.version}-{flavor}-{distro}"', '"{node.sha}-{flavor.major}-{distro}"');
    const msgs = errors(yaml).map((e) => e.message);
    expect(msgs).toContain('tag template "{node.sha}-{flavor.major}-{distro}" uses {node.sha}: the node value 22 has no var "sha", and it is not one of major, minor, full');
  });

  it('directories: only per-value axes, no two images of different Dockerfiles in one, one inside another allowed', () => {
    const flavor = NODE.replace('directory: "{node}/{distro}"', 'directory: "{flavor}/{distro}"');
    expect(errors(flavor).map((e) => e.message)).toContain('directory uses {flavor}, but axis "flavor" shares one Dockerfile across its values; set axes.flavor.render: per-value');
    const collide = NODE.replace('directory: "{node}/{distro}"', 'directory: "{distro}"');
    expect(errors(collide).map((e) => e.message)).toContain('directory gives "bookworm" to both bookworm/node/node22/full and bookworm/node/node20/full, whose Dockerfiles differ; add a variable that tells them apart');
    const byValue = NODE.replace('directory: "{node}/{distro}"', 'directory: "{node}"');
    expect(errors(byValue).map((e) => e.message)[0]).toBe('directory gives "22" to both bookworm/node/node22/full and windows/node/node22/full, whose Dockerfiles differ; add a variable that tells them apart');
    const img = (key: string, dir: string) => ({ key, distro: key, release: 'r', dir, axes: {} });
    const found: string[] = [];
    // x/y inside x is allowed: x's ignore file leaves x/y out of its build context (test/unit/nested-directories.test.ts).
    checkDirectories([img('a', 'x'), img('b', 'x/y'), img('c', 'docs'), img('d', 'README.md/z')], { axes: {} }, (_, m) => found.push(m));
    expect(found.sort()).toEqual([
      'directory "README.md/z" is the name of a file generate writes beside the directories',
      'directory "docs" is taken by the package docs (README.md, versions); name it otherwise',
    ]);
    const partial = NODE.replace('  node:\n    axes: [node, flavor]', '  base:\n    tags: ["base-{distro}"]\n  node:\n    parent: base\n    axes: [node, flavor]').replace(/releases: \[node\]/g, 'releases: [base, node]');
    expect(errors(partial).map((e) => e.message)).toContain('directory uses {node}, but release "base" does not expand over axis "node"');
    const bad = NODE.replace('directory: "{node}/{distro}"', 'directory: "../{node}"');
    expect(errors(bad).map((e) => e.message)).toEqual(['directory "../{node}" must be a relative path of names (letters, digits, . _ -), without empty or \'..\' parts']);
  });

  it('per-distro data for a value the distro does not build', () => {
    const yaml = NODE.replace('node: { values: { "20": {', 'node: { exclude: ["20"], values: { "20": {');
    expect(errors(yaml).map((e) => e.message)).toEqual(['node 20 is not built here (22); its data would never be used']);
  });
});
