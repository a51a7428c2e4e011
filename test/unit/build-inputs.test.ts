// Build secrets, SSH mounts and entitlements: from the spec into buildx's argv and bake's
// target, by reference only (a variable's name or a file's path, never a secret's value); their
// ids are inputs of the build's hash, where the value comes from is not.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildArgv } from '../../core/buildx/argv.ts';
import { bakeFile } from '../../core/buildx/bake.ts';
import { buildInvocation } from '../../core/buildx/invocation.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import type { BuildTask } from '../../core/plan/task.ts';
import { loadSpec } from '../../core/load/validate.ts';
import { MINI_SPEC, miniSpec } from '../helpers/spec.ts';

const RUNTIME = `    tags: ["{version}-python{python}-{alias}-runtime"]\n`;
function withInputs(extra: string): string {
  return MINI_SPEC.replace(RUNTIME, `${RUNTIME}${extra}`);
}
const INPUTS = '    secrets:\n      - { id: pip, env: PIP_TOKEN }\n      - { id: netrc, src: secrets/netrc }\n    ssh: [default, { id: gh, paths: [/keys/gh] }]\n    allow: [network.host]\n';

function builds(yaml: string): { plan: ReturnType<typeof loadPlan>; dir: string; bs: BuildTask[] } {
  const { manifest, dir } = miniSpec({ 'manifest.yaml': yaml });
  const plan = loadPlan(manifest);
  return { plan, dir, bs: [...plan.tasks.values()].filter((t): t is BuildTask => t.kind === 'build') };
}

const ctx = (plan: ReturnType<typeof loadPlan>) => ({ plan, packageDir: '/g/mini', stagingRepo: 'r/s', mode: 'push' as const, cacheExport: true });

describe('build secrets, SSH and entitlements', () => {
  it('reach buildx as --secret env=/src=, --ssh and --allow, on the release that names them only', () => {
    const { plan, dir, bs } = builds(withInputs(INPUTS));
    const runtime = bs.find((b) => b.release === 'runtime')!;
    const argv = buildArgv(buildInvocation(runtime, 'parent@sha256:x', ctx(plan)));
    const flags = argv.flatMap((a, i) => (['--secret', '--ssh', '--allow'].includes(a) ? [`${a} ${argv[i + 1]}`] : []));
    expect(flags).toEqual([
      '--secret id=pip,env=PIP_TOKEN',
      `--secret id=netrc,src=${join(dir, 'secrets', 'netrc')}`,
      '--ssh default',
      '--ssh gh=/keys/gh',
      '--allow network.host',
    ]);
    const base = bs.find((b) => b.release === 'base')!;
    expect(buildArgv(buildInvocation(base, undefined, ctx(plan))).some((a) => ['--secret', '--ssh', '--allow'].includes(a))).toBe(false);
  });

  it('hash their ids: a new id rebuilds that release; where a secret comes from does not', () => {
    const hashes = (yaml: string) => Object.fromEntries(builds(yaml).bs.map((b) => [b.id, b.hash.value]));
    const plain = hashes(MINI_SPEC);
    const withSecret = hashes(withInputs('    secrets: [{ id: pip, env: PIP_TOKEN }]\n'));
    const moved = hashes(withInputs('    secrets: [{ id: pip, src: elsewhere/token }]\n'));
    const renamed = hashes(withInputs('    secrets: [{ id: pip, env: OTHER_VAR }]\n'));
    const other = hashes(withInputs('    secrets: [{ id: pip2, env: PIP_TOKEN }]\n'));
    for (const id of Object.keys(plain)) {
      if (id.includes('/base/')) expect(withSecret[id], id).toBe(plain[id]);
      else expect(withSecret[id], id).not.toBe(plain[id]);
      expect(moved[id], id).toBe(withSecret[id]);
      expect(renamed[id], id).toBe(withSecret[id]);
      if (!id.includes('/base/')) expect(other[id], id).not.toBe(withSecret[id]);
    }
    const runtime = builds(withInputs(INPUTS)).bs.find((b) => b.release === 'runtime')!;
    expect(Object.keys(runtime.hash.parts)).toEqual(expect.arrayContaining(['secrets', 'ssh', 'entitlements']));
  });

  it('go into the bake target under bake\'s names', () => {
    const { plan } = builds(withInputs(INPUTS));
    const bake = bakeFile(plan, { selected: new Set(plan.order), packageDir: '/g/mini', bakeDir: '/g', stagingRepo: 'r/s', parentMode: 'args', push: true });
    const t = Object.entries(bake.target).find(([k]) => k.startsWith('deb_runtime_py3_10'))![1] as Record<string, unknown>;
    expect(t['secret']).toEqual(['id=pip,env=PIP_TOKEN', expect.stringMatching(/^id=netrc,src=\/.*secrets\/netrc$/)]);
    expect(t['ssh']).toEqual(['default', 'gh=/keys/gh']);
    expect(t['entitlements']).toEqual(['network.host']);
  });

  it('are refused with a position when malformed: both env and src, an id twice, an unknown entitlement, a bad id', () => {
    const errs = (extra: string) => loadSpec(miniSpec({ 'manifest.yaml': withInputs(extra) }).manifest).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.path}: ${d.message}`);
    expect(errs('    secrets: [{ id: a, env: A, src: f }]\n').join('\n')).toMatch(/releases\.runtime\.secrets\[0\].*exactly one of env or src/);
    expect(errs('    secrets: [{ id: a, env: A }, { id: a, src: f }]\n')).toEqual(['releases.runtime.secrets[1].id: id "a" is given twice']);
    expect(errs('    allow: [network.none]\n').join('\n')).toMatch(/releases\.runtime\.allow\[0\]/);
    expect(errs('    ssh: ["bad id"]\n').join('\n')).toMatch(/releases\.runtime\.ssh\[0\]/);
    expect(errs('    secrets: [{ id: a, value: hunter2 }]\n').join('\n')).toMatch(/unknown key "value"/);
  });
});

describe('entitlements a run has not granted', () => {
  it('are named with the releases that need them and the flag that grants them; granted ones pass', async () => {
    const { missingEntitlements, entitlementRefusal } = await import('../../core/plan/entitlements.ts');
    const { plan } = builds(withInputs('    allow: [network.host, security.insecure]\n'));
    const all = new Set(plan.order);
    expect(missingEntitlements(plan, all, [])).toEqual([
      { entitlement: 'network.host', releases: ['runtime'] },
      { entitlement: 'security.insecure', releases: ['runtime'] },
    ]);
    expect(entitlementRefusal(missingEntitlements(plan, all, ['network.host']))).toBe('release runtime needs the security.insecure entitlement; pass --allow security.insecure to grant it');
    expect(missingEntitlements(plan, all, ['network.host', 'security.insecure'])).toEqual([]);
    // A selection without the release needs nothing.
    const bases = new Set(plan.order.filter((id) => id.includes('/base/')));
    expect(missingEntitlements(plan, bases, [])).toEqual([]);
  });
});

describe('build --secret, --ssh and --allow', () => {
  it('parse as buildx takes them, refusing a value given outright, and make files absolute', async () => {
    const { parseSecretFlag, parseSshFlag, parseAllowFlag } = await import('../../cli/build-inputs.ts');
    expect(parseSecretFlag('id=pip,env=PIP_TOKEN')).toBe('id=pip,env=PIP_TOKEN');
    expect(parseSecretFlag('type=env,id=PIP_TOKEN')).toBe('id=PIP_TOKEN,env=PIP_TOKEN');
    expect(parseSecretFlag('id=netrc,source=.netrc', '/home/u')).toBe('id=netrc,src=/home/u/.netrc');
    expect(() => parseSecretFlag('id=pip')).toThrow(/exactly one of env=VARIABLE or src=FILE/);
    expect(() => parseSecretFlag('id=pip,value=hunter2')).toThrow(/unknown field "value"/);
    expect(() => parseSecretFlag('env=X')).toThrow(/needs id=ID/);
    expect(() => parseSecretFlag('id=a,env=1X')).toThrow(/not a variable name/);
    expect(parseSshFlag('default')).toBe('default');
    expect(parseSshFlag('gh=keys/id_ed25519,/abs/k', '/w')).toBe('gh=/w/keys/id_ed25519,/abs/k');
    expect(() => parseSshFlag('bad id')).toThrow(/needs an id/);
    expect(parseAllowFlag('network.host,security.insecure')).toEqual(['network.host', 'security.insecure']);
    expect(() => parseAllowFlag('network.none')).toThrow(/not an entitlement/);
  });

  it('reach every build\'s argv in the dry run without moving a hash; an entitlement the spec asks for is refused until granted', async () => {
    const { cli } = await import('../helpers/cli.ts');
    const { dir, manifest } = miniSpec({ 'manifest.yaml': withInputs('    allow: [network.host]\n') });
    const dry = (...extra: string[]) => cli(['--spec-dir', dir, 'build', manifest, '--all', '--dry-run', '--offline', '--json', ...extra], { env: { MY_TOKEN: 'my-token-value-1' } });
    const refused = dry();
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/release runtime needs the network\.host entitlement; pass --allow network\.host to grant it/);
    type Doc = { tasks: { id: string; kind: string; hash: string; steps?: { argv?: string[] }[] }[] };
    const plain = JSON.parse(dry('--allow', 'network.host').stdout) as Doc;
    const doc = JSON.parse(dry('--allow', 'network.host', '--secret', 'id=tok,env=MY_TOKEN', '--ssh', 'default').stdout) as Doc;
    const argvOf = (d: Doc, id: string) => d.tasks.find((t) => t.id === id)!.steps!.map((s) => s.argv ?? []).flat();
    const runtime = 'build:mini/deb/runtime/py3.10/amd64';
    expect(argvOf(doc, runtime).join(' ')).toMatch(/--secret id=tok,env=MY_TOKEN --ssh default --allow network\.host/);
    expect(argvOf(doc, 'build:mini/deb/base/py3.10/amd64').join(' ')).toMatch(/--secret id=tok,env=MY_TOKEN --ssh default --metadata-file/);
    expect(argvOf(doc, 'build:mini/deb/base/py3.10/amd64')).not.toContain('--allow');
    expect(doc.tasks.map((t) => t.hash)).toEqual(plain.tasks.map((t) => t.hash));
    expect(JSON.stringify(doc)).not.toContain('my-token-value-1');
  });
});

describe('build --print', () => {
  it('prints the merged spec of the selection with the file:line of every value, as bake --print does, running nothing', async () => {
    const { cli } = await import('../helpers/cli.ts');
    const { outputDoc } = await import('../helpers/output-schema.ts');
    const r = cli(['build', 'bento-server', '--target', 'bento-server:cudnn@debian11', '--print']);
    expect(r.code, r.stderr).toBe(0);
    const doc = outputDoc<{ package: string; spec: { releases: Record<string, unknown>; distros: Record<string, unknown> }; origin: Record<string, string> }>(r.stdout, 'print');
    // The selection's releases (the target and what it builds FROM) and distro, nothing else.
    expect(Object.keys(doc.spec.releases)).toEqual(['base', 'runtime', 'cudnn']);
    expect(Object.keys(doc.spec.distros)).toEqual(['debian11']);
    // Each value where it was written: the package in the manifest, the shared tags in the layer below it.
    expect(doc.origin['package']).toMatch(/^examples\/bento-server\/manifest\.yaml:\d+:\d+$/);
    expect(doc.origin['releases.cudnn.tags[0].template']).toMatch(/^examples\/specs\.yaml:\d+:\d+$/);
    expect(Object.keys(doc.origin).every((k) => !k.startsWith('distros.ubi8'))).toBe(true);
    expect(r.stderr).not.toMatch(/docker|buildx/);
  });
});

describe('one parser for secrets and SSH mounts: the flag, --set and the spec agree', () => {
  // Each input with what buildx would get; undefined: refused everywhere.
  const secrets: [string, string | undefined][] = [
    ['id=pip,env=PIP_TOKEN', 'id=pip,env=PIP_TOKEN'],
    ['type=env,id=PIP_TOKEN', 'id=PIP_TOKEN,env=PIP_TOKEN'],
    ['id=netrc,source=/s/.netrc', 'id=netrc,src=/s/.netrc'],
    ['id=netrc,type=file,src=/s/.netrc', 'id=netrc,src=/s/.netrc'],
    ['id=pip', undefined],
    ['id=pip,value=hunter2', undefined],
    ['id=pip,env=PIP_TOKEN,src=/x', undefined],
    ['id=bad id,env=X', undefined],
    ['id=a,env=1X', undefined],
    ['id=a,type=other,env=X', undefined],
    ['id=a,src=', undefined],
    ['id=a,env=X\u001b[31m', undefined],
  ];
  it.each(secrets)('secret %s', async (input, want) => {
    const { parseSecretFlag } = await import('../../cli/build-inputs.ts');
    const { applySets, parseSets } = await import('../../core/load/overrides.ts');
    const flag = (() => { try { return parseSecretFlag(input, '/w'); } catch { return undefined; } })();
    expect(flag).toBe(want);
    const { sets, errors: parseErrors } = parseSets([`runtime.secrets=${input}`], 'mini');
    const { spec, errors } = applySets(loadSpec(miniSpec().manifest).spec!, sets);
    const set = parseErrors.length || errors.length ? undefined : spec.releases['runtime']!.secrets.at(-1);
    expect(set === undefined ? undefined : 'env' in set ? `id=${set.id},env=${set.env}` : `id=${set.id},src=${set.src}`).toBe(want);
    if (want === undefined) expect(errors.join('\n')).toMatch(/^--set "runtime\.secrets=[^"]*": expected one secret/);
    // A value given outright is never printed back, nor a control character.
    expect(errors.join('\n')).not.toMatch(/hunter2|\u001b/);
    const flagError = (() => { try { parseSecretFlag(input, '/w'); return ''; } catch (e) { return (e as Error).message; } })();
    expect(flagError).not.toMatch(/hunter2|\u001b/);
  });

  const ssh: [string, string | undefined][] = [
    ['default', 'default'],
    ['gh=/keys/a,/keys/b', 'gh=/keys/a,/keys/b'],
    ['bad id', undefined],
    ['gh=/k,', undefined],
    ['', undefined],
  ];
  it.each(ssh)('ssh %s', async (input, want) => {
    const { parseSshFlag } = await import('../../cli/build-inputs.ts');
    const { applySets, parseSets } = await import('../../core/load/overrides.ts');
    const flag = (() => { try { return parseSshFlag(input, '/w'); } catch { return undefined; } })();
    expect(flag).toBe(want);
    const { sets, errors: parseErrors } = parseSets([`runtime.ssh=${input}`], 'mini');
    const { spec, errors } = applySets(loadSpec(miniSpec().manifest).spec!, sets);
    const set = parseErrors.length || errors.length ? undefined : spec.releases['runtime']!.ssh.at(-1);
    expect(set === undefined ? undefined : set.paths.length ? `${set.id}=${set.paths.join(',')}` : set.id).toBe(want);
  });
});
