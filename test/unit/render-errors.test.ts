// A render error names the tag that threw: its file, line and column, also for the second tag
// on a line, a tag inside a loop that fails only on a later pass, and a tag in an included file.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Renderer, TemplateError } from '../../core/render/render.ts';
import { writeTree } from '../helpers/spec.ts';

function failure(files: Record<string, string>, main: string, data: object = { distro: { name: 'd' } }) {
  const root = writeTree(files);
  try {
    new Renderer(root).render(main, data);
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    const d = e.diagnostic;
    return { at: `${d.file!.slice(root.length + 1)}:${d.line}:${d.column}`, message: d.message };
  }
  throw new Error('expected the render to fail');
}

describe('render errors', () => {
  it('name the second tag on a line by its column', () => {
    expect(failure({ 'a.eta': 'FROM x\nRUN echo <%= it.distro.name %> <%= it.distro.nope %>\n' }, 'a')).toEqual({
      at: 'a.eta:2:32',
      message: 'template error: it.distro.nope is not defined (it.distro has name)',
    });
  });

  it('name the tag inside a loop that fails on its second pass, not the loop\'s closing tag', () => {
    const text = 'FROM x\n<% for (const p of it.list) { -%>\nRUN <%= p.a.toFixed(1) %>\n<% } -%>\nEND\n';
    const f = failure({ 'loop.eta': text }, 'loop', { list: [{ a: 1 }, {}] });
    expect(f.at).toBe('loop.eta:3:5');
    expect(f.message).toMatch(/it\.list\[1\]\.a is not defined/);
  });

  it('name the included file and its tag, not the include', () => {
    const f = failure({ 'main.eta': 'FROM x\n<%~ include("./partials/p", { ...it }) %>\n', 'partials/p.eta': '# p\n  RUN <%= it.missing.x %>\n' }, 'main');
    expect(f.at).toBe(join('partials', 'p.eta') + ':2:7');
  });

  it('keep Eta\'s line when a tag holds what the column scan cannot follow', () => {
    const f = failure({ 's.eta': 'A\n<% const s = "%>"; -%>\n<%= it.nope %>\n' }, 's', {});
    expect(f.at).toMatch(/^s\.eta:3:\d+$/);
  });
});

describe('render errors name the image', () => {
  it('with the file being written, distro and release; --json carries the same with a path', async () => {
    const { cli } = await import('../helpers/cli.ts');
    const { miniSpec } = await import('../helpers/spec.ts');
    const { manifest } = miniSpec({ 'templates/partials/run.eta': 'RUN echo <%= it.distro.nope %>\n' });
    const text = cli(['validate', manifest]);
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/partials\/run\.eta:1:10: error: distros\.deb\.releases\.runtime: template error: it\.distro\.nope is not defined .*\(rendering deb\/runtime\/Dockerfile for distro deb, release runtime\)/);
    const json = cli(['validate', manifest, '--json']);
    const doc = JSON.parse(json.stdout) as { error: { diagnostics: { path: string; file: string; line: number; column: number; message: string }[] } };
    const d = doc.error.diagnostics.find((x) => /template error/.test(x.message))!;
    expect(d).toMatchObject({ path: 'distros.deb.releases.runtime', line: 1, column: 10 });
    expect(d.file).toMatch(/partials\/run\.eta$/);
  });
});
