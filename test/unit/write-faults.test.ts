// Records a run cannot write (the report, the metadata file) fail the run after its summary:
// exit 1, one line naming the file and the cause, no stack trace, and the table still printed.
// The builds run through the spy docker; the registry is a closed loopback port.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { MINI_SPEC, MINI_TEMPLATES, writeTree } from '../helpers/spec.ts';
import { spyDocker } from '../helpers/spy-docker.ts';

const spec = MINI_SPEC.replace(/registries:[\s\S]*$/, 'registries:\n  local:\n    kind: generic\n    host: "127.0.0.1:9"\n    namespace: spy\n');

describe('a record the run cannot write', () => {
  const bin = spyDocker();
  const dirs = [bin];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const run = (prepare: (gen: string, dir: string) => string[]) => {
    const dir = writeTree({ 'manifest.yaml': spec, ...MINI_TEMPLATES });
    dirs.push(dir);
    const gen = join(dir, 'generated');
    const extra = prepare(gen, dir);
    return { dir, gen, r: cli(['build', join(dir, 'manifest.yaml'), '--all', '--python-version', '3.11', '--output', gen, '--no-registry-check', ...extra], { env: { PATH: `${bin}:${process.env['PATH']}` } }) };
  };
  const noTrace = (text: string) => expect(text).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);

  it('the report where a directory stands: the summary, then one line naming it, exit 1', () => {
    const { r, gen } = run((g) => {
      mkdirSync(join(g, 'mini', '.manager', 'report.html'), { recursive: true });
      return [];
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^status +task/m);
    expect(r.stdout).toMatch(/^✖ failed: \d+ built/m);
    expect(r.stderr).toMatch(/error: could not write the report .*report\.html: .*\((EISDIR|ENOTEMPTY|EEXIST)\)/);
    noTrace(r.stderr);
    // Nothing half-written beside it.
    expect(readdirSync(join(gen, 'mini', '.manager')).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('the metadata file under a file: the summary, one line saying which part is a file, exit 1; --json stays one document', () => {
    const { r } = run((_g, dir) => {
      writeFileSync(join(dir, 'plain'), 'x');
      return ['--metadata-file', join(dir, 'plain', 'meta.json')];
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^status +task/m);
    expect(r.stderr).toMatch(/error: could not write the metadata file .*plain\/meta\.json: .*plain is a file, not a directory \((ENOTDIR|EEXIST)\)/);
    noTrace(r.stderr);
    const j = run((_g, dir) => {
      writeFileSync(join(dir, 'plain'), 'x');
      return ['--metadata-file', join(dir, 'plain', 'meta.json'), '--json'];
    }).r;
    expect(j.code).toBe(1);
    const doc = JSON.parse(j.stdout) as { ok: boolean; writeErrors: string[]; tasks: unknown[] };
    expect(doc.ok).toBe(false);
    expect(doc.writeErrors).toEqual([expect.stringMatching(/could not write the metadata file/)]);
    expect(doc.tasks.length).toBeGreaterThan(0);
  });
});
