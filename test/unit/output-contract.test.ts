// Every command's --json document, printed by the real CLI, against schema/output.schema.json.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { outputDoc } from '../helpers/output-schema.ts';
import { miniSpec, tempDir } from '../helpers/spec.ts';

const gen = () => join(tempDir('contract-'), 'gen');

describe('the --json contract', () => {
  // One test per command: eight CLI processes in one test outgrew its time limit under load.
  const g = gen();
  const cases: [string[], string][] = [
    [['validate', 'bento-server'], 'validate'],
    [['context', 'bento-server', '--output', g], 'context'],
    [['generate', 'bento-server', '--output', g], 'generate'],
    [['graph', 'bento-server'], 'graph'],
    [['graph', 'bento-server', '--format', 'json'], 'graph'],
    [['graph', 'bento-server', '--output', g, '--explain', 'render:bento-server/debian11/base'], 'explain'],
    [['build', 'bento-server', '--output', g, '--dry-run', '--offline', '--target', 'bento-server:cudnn'], 'build'],
    [['ci', 'github', 'bento-server'], 'ciGithub'],
  ];
  const named = cases.map(([args, shape]) => ({ args, shape, name: args.map((a) => (a === g ? 'DIR' : a)).join(' ') }));
  it.each(named)('success document of `$name` (no engine needed): the $shape shape', ({ args, shape }) => {
    const r = cli([...args, ...(args.includes('--format') ? [] : ['--json'])]);
    expect(r.code, `${args.join(' ')}: ${r.stderr.slice(-500)}`).toBe(0);
    outputDoc(r.stdout, shape, r.stderr);
  });

  it('`--output json` is the build\'s own option: the document, not the table', () => {
    const r = cli(['build', 'bento-server', '--output', 'json', '--dry-run', '--offline', '--target', 'bento-server:cudnn']);
    expect(r.code, r.stderr.slice(-500)).toBe(0);
    const doc = outputDoc<{ tasks: unknown[] }>(r.stdout, 'build');
    expect(doc.tasks.length).toBeGreaterThan(0);
  });

  it('failures are one error document too: usage, spec, work', () => {
    const usage = cli(['build', 'bento-server', '--no-such-flag', '--json']);
    expect(usage.code).toBe(2);
    expect(outputDoc<{ error: { kind: string } }>(usage.stdout, 'error').error.kind).toBe('usage');
    const spec = cli(['validate', '/nonexistent/spec.yaml', '--json']);
    expect(spec.code).toBe(2);
    outputDoc(spec.stdout, 'error');
    const unknown = cli(['graph', 'bento-server', '--explain', 'build:nope', '--json']);
    expect(unknown.code).toBe(2);
    expect(outputDoc<{ error: { message: string } }>(unknown.stdout, 'error').error.message).toMatch(/unknown task id/);
  });

  it('a schema check that can fail: a document missing a field is refused', () => {
    expect(() => outputDoc('{"schemaVersion":1,"packageDir":"x"}', 'context')).toThrow(/files/);
    expect(() => outputDoc('text first\n{}', 'context')).toThrow(/not one JSON document/);
  });
});

describe('a registry that cannot be reached', () => {
  it('is a work error for prune and outdated (exit 1, one error document), never an internal one', async () => {
    const { MINI_SPEC, miniSpec } = await import('../helpers/spec.ts');
    const { manifest } = miniSpec({ 'manifest.yaml': MINI_SPEC.replace('    kind: dockerhub\n    namespace: acme\n    readme: true\n', '    kind: generic\n    host: "127.0.0.1:9"\n    namespace: acme\n').replace('image: example/python:{python}', 'image: "127.0.0.1:9/example/python:{python}"') });
    for (const args of [['prune', manifest], ['outdated', manifest]]) {
      const r = cli([...args, '--json'], { timeoutMs: 60_000 });
      expect(r.code, `${args[0]}: ${r.stderr.slice(-800)}`).toBe(1);
      const doc = outputDoc<{ error: { kind: string; message: string } }>(r.stdout, 'error');
      expect(doc.error.kind).toBe('work');
      expect(r.stderr).not.toMatch(/internal error/);
      expect(`${doc.error.message} ${r.stderr}`).toMatch(/ECONNREFUSED/);
    }
  });
});

describe('a record the run cannot write', () => {
  const RENDER = ['--only', 'render:mini/deb/base', '--multi-platform', 'split', '--progress', 'quiet'];
  const noTemps = (dir: string) => readdirSync(dir).filter((n) => /tmp/.test(n));

  it('the report, --metadata-file, the state file: the summary is still printed, then one line naming each path, exit 1', () => {
    const { dir, manifest } = miniSpec();
    const g = join(dir, 'gen');
    const state = join(g, 'mini', '.manager');
    mkdirSync(join(state, 'report.html'), { recursive: true });
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r = cli(['build', manifest, ...RENDER, '--output', g, '--metadata-file', join(file, 'meta.json')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/✔ ran +render:mini\/deb\/base/);
    expect(r.stdout).toMatch(/^✖ failed: 0 built, 1 ran/m);
    expect(r.stderr).toContain(`error: could not write the report ${join(state, 'report.html')}: it is a directory (EISDIR)`);
    expect(r.stderr).toContain(`error: could not write the metadata file ${join(file, 'meta.json')}: ${file} is a file, not a directory`);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(noTemps(state)).toEqual([]);
    expect(existsSync(join(state, 'lock'))).toBe(false);

    rmSync(join(state, 'report.html'), { recursive: true });
    rmSync(join(state, 'state.json'));
    mkdirSync(join(state, 'state.json'));
    const j = cli(['build', manifest, ...RENDER, '--output', g, '--json']);
    expect(j.code, j.stderr).toBe(1);
    const doc = outputDoc<{ ok: boolean; tasks: { status: string }[]; writeErrors: string[] }>(j.stdout, 'build', j.stderr);
    expect(doc.ok).toBe(false);
    expect(doc.tasks.map((t) => t.status)).toEqual(['skipped']);
    expect(doc.writeErrors).toEqual([`could not write the state file ${join(state, 'state.json')}: it is a directory (EISDIR)`]);
    expect(noTemps(state)).toEqual([]);
  });

  it('a log directory that is a file: exit 1, one line', () => {
    const { dir, manifest } = miniSpec();
    const file = join(dir, 'logs');
    writeFileSync(file, 'x');
    const r = cli(['build', manifest, ...RENDER, '--output', join(dir, 'gen'), '--log-dir', file]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`error: could not create the log directory ${file}: ${file} is a file, not a directory (EEXIST)`);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it('a file-system error no call site names still ends in one line, exit 1, never an internal error', () => {
    const { dir, manifest } = miniSpec();
    // `ci github --write FILE` writes its file with no handler of its own: a directory stands there.
    mkdirSync(join(dir, 'workflow.yml'), { recursive: true });
    const r = cli(['ci', 'github', manifest, '--write', join(dir, 'workflow.yml'), '--json']);
    expect(r.code, r.stderr).toBe(1);
    const doc = outputDoc<{ error: { kind: string; message: string } }>(r.stdout, 'error', r.stderr);
    expect(doc.error.kind).toBe('work');
    expect(doc.error.message).toMatch(/^could not rename .* → .*workflow\.yml: it is a directory \(EISDIR\)$/);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});
