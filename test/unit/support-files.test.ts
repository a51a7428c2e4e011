// Support files as families ship them: in subdirectories, executable, copied byte for byte,
// and in a directory several images share.
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlan } from '../../core/plan/plan.ts';
import type { BuildTask, RenderTask } from '../../core/plan/task.ts';
import { generate } from '../../tasks/generate.ts';
import { OWNED_PATH } from '../../tasks/owned.ts';
import { miniSpec, planError, tempDir } from '../helpers/spec.ts';

const ALL = { dockerfiles: true, docs: true, metadata: false, overwrite: false };
// A verbatim file: Eta's tag opener, a byte that is not UTF-8, no newline at the end.
const RAW = Buffer.concat([Buffer.from('#!/bin/sh\necho "<% not a tag %>"\n'), Buffer.from([0xff, 0xfe, 0x00, 0x41])]);

/** The mini spec with support files on base (`files` is the YAML of the list). */
function withFiles(files: string, extra: Record<string, string> = {}): { dir: string; manifest: string } {
  const s = miniSpec({
    'templates/debian/banner.eta': '#!/bin/sh\necho "<%= it.release.name %> on <%= it.distro.name %>"\n',
    'templates/debian/platforms.eta': '<%= JSON.stringify(it.architectures.map((a) => a.platform)) %>\n',
    'templates/debian/arch.eta': '<%= it.arch.platform %>\n',
    ...extra,
  });
  writeFileSync(join(s.dir, 'templates/debian/raw.sh'), RAW);
  const text = readFileSync(s.manifest, 'utf8').replace('  base:\n    tags:', `  base:\n    files:\n${files}\n    tags:`);
  writeFileSync(s.manifest, text);
  return s;
}

const FILES = [
  '      - { path: entrypoint.d/10-banner.sh, template: banner, mode: "0755" }',
  '      - { path: nvidia_entrypoint.sh, source: raw.sh, mode: "755" }',
  '      - { path: "platforms/{arch}.txt", template: arch }',
].join('\n');

const render = (manifest: string, id: string) => loadPlan(manifest).tasks.get(id) as RenderTask;
const builds = (manifest: string) => [...loadPlan(manifest).tasks.values()].filter((t): t is BuildTask => t.kind === 'build');
const modeOf = (p: string) => statSync(p).mode & 0o777;

describe('support files: plan and hash', () => {
  it('plans files in subdirectories, with their modes, verbatim bytes unchanged, {arch} expanded', () => {
    const { manifest } = withFiles(FILES);
    const t = render(manifest, 'render:mini/deb/base');
    const byPath = new Map(t.files.map((f) => [f.path, f]));
    expect([...byPath.keys()].sort()).toEqual(['deb/base/Dockerfile', 'deb/base/entrypoint.d/10-banner.sh', 'deb/base/nvidia_entrypoint.sh', 'deb/base/platforms/amd64.txt', 'deb/base/platforms/arm64v8.txt']);
    expect(byPath.get('deb/base/entrypoint.d/10-banner.sh')).toMatchObject({ content: '#!/bin/sh\necho "base on deb"\n', mode: 0o755 });
    const raw = byPath.get('deb/base/nvidia_entrypoint.sh')!;
    expect(raw.mode).toBe(0o755);
    expect(raw.bytes!.equals(RAW)).toBe(true);
    expect(byPath.get('deb/base/platforms/arm64v8.txt')).toMatchObject({ content: 'linux/arm64\n' });
    expect(byPath.get('deb/base/platforms/arm64v8.txt')!.mode).toBeUndefined();
    expect(t.hash.parts['source:debian/raw.sh']).toBeDefined();
  });

  it('a mode change re-renders and rebuilds the image whose context holds the file; a copied file\'s bytes do too', () => {
    const a = withFiles(FILES);
    const b = withFiles(FILES.replace('mode: "0755" }', 'mode: "0700" }'));
    const c = withFiles(FILES);
    writeFileSync(join(c.dir, 'templates/debian/raw.sh'), Buffer.concat([RAW, Buffer.from('\n')]));
    const hashes = (m: string) => Object.fromEntries(builds(m).map((x) => [x.id, x.hash.value]));
    expect(render(a.manifest, 'render:mini/deb/base').hash.value).not.toBe(render(b.manifest, 'render:mini/deb/base').hash.value);
    for (const other of [b, c]) {
      const [ha, hb] = [hashes(a.manifest), hashes(other.manifest)];
      for (const id of Object.keys(ha).filter((k) => k.startsWith('build:mini/deb-base'))) expect(hb[id]).not.toBe(ha[id]);
    }
    expect(render(a.manifest, 'render:mini/deb/base').hash.value).not.toBe(render(c.manifest, 'render:mini/deb/base').hash.value);
    // The same spec plans the same hashes.
    expect(hashes(withFiles(FILES).manifest)).toEqual(hashes(a.manifest));
  });

  it('a file of a shared directory is planned once per directory it resolves to; outside the build context it rebuilds nothing', () => {
    const shared = '      - { path: platforms.json, template: platforms, directory: "{distro}" }';
    const { manifest } = withFiles(shared);
    const both = readFileSync(manifest, 'utf8').replace('    parent: base\n', `    parent: base\n    files:\n${shared}\n`);
    writeFileSync(manifest, both);
    const plan = loadPlan(manifest);
    const renders = [...plan.tasks.values()].filter((t): t is RenderTask => t.kind === 'render' && t.dir !== '');
    expect(renders.map((t) => t.files.map((f) => f.path).filter((p) => p.endsWith('.json')))).toEqual([['deb/platforms.json'], ['deb/platforms.json']]);
    const other = withFiles(shared, { 'templates/debian/platforms.eta': '<%= it.architectures.length %>\n' });
    writeFileSync(other.manifest, readFileSync(other.manifest, 'utf8').replace('    parent: base\n', `    parent: base\n    files:\n${shared}\n`));
    const hashes = (m: string) => Object.fromEntries(builds(m).map((x) => [x.id, x.hash.value]));
    expect(hashes(other.manifest)).toEqual(hashes(manifest));
  });

  it('two images that would write different content (or modes) to one shared file are an error, as is a directory that does not hold the image\'s', () => {
    const shared = '      - { path: owner.txt, template: banner, directory: "{distro}" }';
    const s = withFiles(shared);
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replace('    parent: base\n', `    parent: base\n    files:\n${shared}\n`));
    expect(planError(s.manifest).diagnostics.map((d) => d.message).join('\n'))
      .toMatch(/deb\/owner\.txt is written by both render:mini\/deb\/base and render:mini\/deb\/runtime with different content; a file of a shared directory must be the same for every image under it/);
    const modes = withFiles('      - { path: p.json, template: platforms, directory: "{distro}" }');
    writeFileSync(modes.manifest, readFileSync(modes.manifest, 'utf8').replace('    parent: base\n', '    parent: base\n    files:\n      - { path: p.json, template: platforms, directory: "{distro}", mode: "0755" }\n'));
    expect(planError(modes.manifest).diagnostics.map((d) => d.message).join('\n')).toMatch(/deb\/p\.json is written by both .* with different modes \(0644 and 0755\)/);
    const outside = withFiles('      - { path: p.json, template: platforms, directory: "{release}" }');
    expect(planError(outside.manifest).diagnostics.map((d) => d.message).join('\n')).toMatch(/file directory "base" does not contain the image's directory "deb\/base"/);
    const over = withFiles('      - { path: runtime, template: platforms, directory: "{distro}" }');
    expect(planError(over.manifest).diagnostics.map((d) => d.message).join('\n')).toMatch(/deb\/runtime \(a file of a shared directory\) stands where the image directory deb\/runtime goes/);
    const clash = withFiles('      - { path: a, template: platforms }\n      - { path: a/b, template: platforms }');
    expect(planError(clash.manifest).diagnostics.map((d) => d.message).join('\n')).toMatch(/deb\/base\/a\/b needs deb\/base\/a to be a directory, but deb\/base\/a is a file too/);
    const inside = withFiles('      - { path: runtime/x, template: platforms, directory: "{distro}" }');
    expect(planError(inside.manifest).diagnostics.map((d) => d.message).join('\n')).toMatch(/deb\/runtime\/x \(a file of a shared directory\) is inside the image directory deb\/runtime/);
  });

  it('refuses paths that leave the directory, both or neither of template and source, and modes the owner cannot read', () => {
    const messages = (files: string) => planError(withFiles(files).manifest).diagnostics.map((d) => d.message).join('\n');
    for (const p of ['../x', '/etc/x', 'a/../../x', 'a//b', './x', 'a/.', 'a\\\\b']) {
      expect(messages(`      - { path: "${p}", template: banner }`)).toMatch(/must be a plain file name or a relative path of names under its directory/);
    }
    expect(messages('      - { path: "a\\tb", template: banner }')).toMatch(/control|must be a plain file name/);
    expect(messages('      - { path: x, template: banner, source: raw.sh }')).toMatch(/file "x" has both a template and a source; give one/);
    expect(messages('      - { path: x }')).toMatch(/file "x" needs a template \(rendered\) or a source \(copied as it is\)/);
    expect(messages('      - { path: x, source: ../manifest.yaml }')).toMatch(/file source "\.\.\/manifest\.yaml" must be a relative path inside the distro template directory/);
    expect(messages('      - { path: x, source: missing.sh }')).toMatch(/source file "missing\.sh" not found for distro deb, release base/);
    expect(messages('      - { path: x, template: banner, mode: "0055" }')).toMatch(/file mode "0055" leaves the file unreadable to its owner/);
    expect(messages('      - { path: x, template: banner, mode: "4755" }')).toMatch(/expected an octal file mode such as "0755"/);
    expect(messages('      - { path: x, template: banner, mode: 0755 }')).toMatch(/quote it/);
    expect(messages('      - { path: x, template: banner, directory: "{python}" }')).toMatch(/file directory uses \{python\}/);
  });
});

describe('support files: generate', () => {
  it('writes modes, subdirectories and verbatim bytes; a rerun writes nothing', () => {
    const { manifest } = withFiles(FILES);
    const pkg = join(tempDir(), 'mini');
    generate(loadPlan(manifest), { ...ALL, packageDir: pkg });
    expect(modeOf(join(pkg, 'deb/base/entrypoint.d/10-banner.sh'))).toBe(0o755);
    expect(modeOf(join(pkg, 'deb/base/nvidia_entrypoint.sh'))).toBe(0o755);
    expect(modeOf(join(pkg, 'deb/base/platforms/amd64.txt'))).toBe(0o644);
    expect(modeOf(join(pkg, 'deb/base/Dockerfile'))).toBe(0o644);
    expect(readFileSync(join(pkg, 'deb/base/nvidia_entrypoint.sh')).equals(RAW)).toBe(true);
    const record = JSON.parse(readFileSync(join(pkg, OWNED_PATH), 'utf8'));
    expect(record.modes).toEqual({ 'deb/base/entrypoint.d/10-banner.sh': '0755', 'deb/base/nvidia_entrypoint.sh': '0755' });
    const again = generate(loadPlan(manifest), { ...ALL, packageDir: pkg });
    expect(again.written).toEqual([]);
    expect(again.renders.every((r) => r.action === 'skip')).toBe(true);
  });

  it('fixes a mode changed on disk, and follows a mode-only change in the spec (record included)', () => {
    const s = withFiles(FILES);
    const pkg = join(tempDir(), 'mini');
    generate(loadPlan(s.manifest), { ...ALL, packageDir: pkg });
    const banner = join(pkg, 'deb/base/entrypoint.d/10-banner.sh');
    chmodSync(banner, 0o644);
    const fixed = generate(loadPlan(s.manifest), { ...ALL, packageDir: pkg });
    expect(fixed.written).toEqual(['deb/base/entrypoint.d/10-banner.sh']);
    expect(fixed.renders.find((r) => r.id === 'render:mini/deb/base')!.action).toBe('run');
    expect(modeOf(banner)).toBe(0o755);
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replace('template: banner, mode: "0755" }', 'template: banner }'));
    const changed = generate(loadPlan(s.manifest), { ...ALL, packageDir: pkg });
    expect(changed.written).toEqual(['deb/base/entrypoint.d/10-banner.sh']);
    expect(modeOf(banner)).toBe(0o644);
    expect(JSON.parse(readFileSync(join(pkg, OWNED_PATH), 'utf8')).modes).toEqual({ 'deb/base/nvidia_entrypoint.sh': '0755' });
  });

  it('writes a shared directory\'s file once, for the images under it', () => {
    const shared = '      - { path: platforms.json, template: platforms, directory: "{distro}", mode: "0640" }';
    const s = withFiles(shared);
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replace('    parent: base\n', `    parent: base\n    files:\n${shared}\n`));
    const pkg = join(tempDir(), 'mini');
    const first = generate(loadPlan(s.manifest), { ...ALL, packageDir: pkg });
    expect(first.written.filter((p) => p.endsWith('.json'))).toEqual(['deb/platforms.json']);
    expect(readFileSync(join(pkg, 'deb/platforms.json'), 'utf8')).toBe('["linux/amd64","linux/arm64"]\n');
    expect(modeOf(join(pkg, 'deb/platforms.json'))).toBe(0o640);
    expect(generate(loadPlan(s.manifest), { ...ALL, packageDir: pkg }).written).toEqual([]);
  });
});
