// YAML merge keys (`<<: *anchor`) share settings between distros as the YAML merge type says:
// explicit keys win wherever `<<` stands, earlier sources win among merged ones, and a problem in
// a merged-in key is reported at the line that wrote it (under its anchor), once.
import { describe, expect, it } from 'vitest';
import { parseSpecText, pathKey } from '../../core/load/source.ts';
import { loadSpec } from '../../core/load/validate.ts';
import { MINI_SPEC, miniSpec, lineOf } from '../helpers/spec.ts';


describe('YAML merge keys', () => {
  it('merge a map in, explicit keys winning even when written before the merge', () => {
    const text = 'a: &a\n  x: 1\n  y: 2\nb:\n  y: 3\n  <<: *a\n  z: 4\n';
    const r = parseSpecText(text, 'f.yaml');
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual({ a: { x: 1, y: 2 }, b: { y: 3, x: 1, z: 4 } });
    // The merged key is located where it was written, under the anchor; the explicit one at its own line.
    expect(r.locations.get(pathKey(['b', 'x']))!.key).toMatchObject({ line: 2, column: 3 });
    expect(r.locations.get(pathKey(['b', 'y']))!.key).toMatchObject({ line: 5, column: 3 });
  });

  it('take a list of maps, the earlier source winning; nested merges flatten', () => {
    const text = 'a: &a { x: 1, y: 1 }\nb: &b { <<: *a, y: 2, w: 2 }\nc:\n  <<: [*b, *a]\n';
    const r = parseSpecText(text, 'f.yaml');
    expect(r.diagnostics).toEqual([]);
    expect((r.value as Record<string, unknown>).c).toEqual({ x: 1, y: 2, w: 2 });
  });

  it('refuse a merge of something not a map, at the value, without the internal symbol name', () => {
    const text = 'a: 1\nb:\n  <<: 3\n  c: [1]\nd:\n  <<: [*x]\n'.replace('[*x]', '[1]');
    const r = parseSpecText(text, 'f.yaml');
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => [d.line, d.message])).toEqual([
      [3, expect.stringMatching(/`<<` merges maps/)],
      [6, expect.stringMatching(/`<<` merges maps/)],
    ]);
    expect(JSON.stringify(r.diagnostics)).not.toMatch(/Symbol/);
  });

  it('refuse a map that merges itself, at the alias, instead of reading it as empty', () => {
    const r = parseSpecText('a: &x\n  k: 1\n  <<: *x\n', 'f.yaml');
    expect(r.diagnostics.map((d) => [d.line, d.message])).toEqual([[3, expect.stringMatching(/merges a map into itself/)]]);
  });

  it('read a quoted "<<" as an ordinary key, which the schema then names', () => {
    const yaml = MINI_SPEC.replace('    alias: d\n', '    alias: d\n    "<<": {}\n');
    const { manifest } = miniSpec({ 'manifest.yaml': yaml });
    const r = loadSpec(manifest);
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(/unknown key "<<"/);
  });

  it('count merges against the alias budget (a merge bomb ends with a clear error)', () => {
    const lines = ['a0: &a0 { k: 1 }'];
    for (let i = 1; i <= 1100; i++) lines.push(`a${i}: { <<: *a0 }`);
    const r = parseSpecText(lines.join('\n') + '\n', 'f.yaml');
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(/more than 1000 aliases/);
  });

  it('share distro settings in a real spec, and point an error in shared settings at its line', () => {
    const shared = MINI_SPEC.replace(
      'distros:\n  deb:\n    alias: d\n    family: debian\n    package_manager: apt\n',
      'distros:\n  deb: &debian\n    alias: d\n    family: debian\n    package_manager: apt\n',
    ) + '';
    const yaml = shared.replace(
      '    releases: [base, runtime]\n',
      '    releases: [base, runtime]\n  deb2:\n    <<: *debian\n    alias: d2\n    image: example/python2:{python}\n',
    );
    const ok = loadSpec(miniSpec({ 'manifest.yaml': yaml }).manifest);
    expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(ok.spec!.distros['deb2']).toMatchObject({ family: 'debian', packageManager: 'apt', image: 'example/python2:{python}' });
    expect(Object.keys(ok.spec!.distros)).toEqual(['deb', 'deb2']);

    const bad = yaml.replace('    package_manager: apt\n', '    package_manager: apt\n    colour: blue\n');
    const r = loadSpec(miniSpec({ 'manifest.yaml': bad }).manifest);
    const unknown = r.diagnostics.filter((d) => /colour/.test(d.message));
    // Reported for the distro that wrote it and the one that merged it, both at the written line.
    expect(unknown.length).toBeGreaterThan(0);
    for (const d of unknown) expect(d.line).toBe(lineOf(bad, 'colour: blue'));
  });
});
