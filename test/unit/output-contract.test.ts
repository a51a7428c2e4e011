// Every command's --json document, printed by the real CLI, against schema/output.schema.json.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { outputDoc } from '../helpers/output-schema.ts';

const gen = () => join(mkdtempSync(join(tmpdir(), 'contract-')), 'gen');

describe('the --json contract', () => {
  it('success documents of the commands that need no engine', () => {
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
    for (const [args, shape] of cases) {
      const r = cli([...args, ...(args.includes('--format') ? [] : ['--json'])]);
      expect(r.code, `${args.join(' ')}: ${r.stderr.slice(-500)}`).toBe(0);
      outputDoc(r.stdout, shape, r.stderr);
    }
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
