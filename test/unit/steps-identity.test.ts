// One argv per effect: for every task kind that starts a program (build, test, manifest) in
// every mode (push, load, split, single, attest, cache), the argv that reached the runner in a
// real run is the argv the dry run printed, byte for byte. The runner's spy is a `docker` first
// on PATH that records every argv it is called with and answers as buildx would; nothing else
// is faked (the real CLI, planner, scheduler and runner run). The registry it would push to is
// a closed loopback port: `--no-registry-check` keeps decisions off it, and the best-effort
// records the run leaves there fail quietly, as they do when a registry is down.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatStep, shellQuote, type Step } from '../../core/buildx/steps.ts';
import { cli } from '../helpers/cli.ts';
import { spyDocker } from '../helpers/spy-docker.ts';
import { MINI_SPEC, MINI_TEMPLATES, writeTree } from '../helpers/spec.ts';


// The mini family, published to a registry on a closed port, with an image test on the base.
const spec = MINI_SPEC.replace(/registries:[\s\S]*$/, 'registries:\n  local:\n    kind: generic\n    host: "127.0.0.1:9"\n    namespace: spy\n')
  .replace('    tags: ["base-python{python}-{distro}"]\n', '    tags: ["base-python{python}-{distro}"]\n    tests:\n      - name: says-ok\n        run: "echo ok"\n        expect: { output: "spy ok" }\n');

const MODES: Record<string, string[]> = {
  push: [],
  load: ['--load'],
  split: ['--multi-platform', 'split'],
  single: ['--multi-platform', 'single'],
  attest: ['--provenance', 'mode=max', '--sbom', 'true'],
  cache: ['--cache-from', 'type=registry,ref=127.0.0.1:9/spy/cache:{distro}', '--cache-to', 'type=registry,ref=127.0.0.1:9/spy/cache:{distro},mode=max'],
};

interface Row { id: string; kind: string; status: string; ref?: string; action?: string; steps?: Step[] }

describe('the dry run prints the argv the real run runs', () => {
  const bin = spyDocker();
  const dirs: string[] = [bin];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  for (const [mode, flags] of Object.entries(MODES)) {
    it(`${mode}: build, test and manifest argv are identical`, () => {
      const dir = writeTree({ 'manifest.yaml': spec, ...MINI_TEMPLATES });
      dirs.push(dir);
      const log = join(dir, 'spy.log');
      writeFileSync(log, '');
      const env = { PATH: `${bin}:${process.env['PATH']}`, SPY_LOG: log };
      // Merges as `imagetools create` runs them: the registry-API merge starts no program
      // (its step is checked in test/unit/merge-api.test.ts and test/e2e/merge-api.test.ts).
      const args = ['build', join(dir, 'manifest.yaml'), '--all', '--output', join(dir, 'generated'), '--no-registry-check', '--json', '--merge', 'imagetools', ...flags];
      const dry = cli([...args, '--dry-run'], { env });
      expect(dry.code, dry.stderr).toBe(0);
      const planned = (JSON.parse(dry.stdout) as { tasks: Row[] }).tasks;
      writeFileSync(log, '');
      const real = cli(args, { env });
      expect(real.code, real.stderr.slice(-3000)).toBe(0);
      const ran = (JSON.parse(real.stdout) as { tasks: Row[] }).tasks;

      // Every task the dry run said would run, ran; and the other way round.
      expect(ran.filter((r) => r.status === 'built' || r.status === 'ran').map((r) => r.id).sort()).toEqual(planned.filter((r) => r.action === 'run').map((r) => r.id).sort());
      // A placeholder stands for an image this run makes: the real run's reference for it.
      const refOf = new Map(ran.filter((r) => r.ref).map((r) => [r.id, r.ref!]));
      const fill = (word: string) => word.replace(/<([^<>]+) digest>/g, (_, id: string) => refOf.get(id) ?? `<${id} digest>`);
      const printed = planned.flatMap((r) => (r.steps ?? []).flatMap((s) => (s.kind === 'exec' ? [JSON.stringify(s.argv.map(fill))] : []))).sort();
      const spied = readFileSync(log, 'utf8').trim().split('\n').filter((l) => !l.startsWith('["docker","buildx","inspect"') && !l.startsWith('["docker","info"')).sort();
      expect(spied.length).toBeGreaterThan(0);
      expect(spied).toEqual(printed);
      // Every kind that starts a program was in it.
      const kinds = new Set(planned.filter((r) => r.steps?.some((s) => s.kind === 'exec')).map((r) => r.kind));
      expect([...kinds].sort()).toEqual(['build', 'manifest', 'test']);
      if (mode === 'load') expect(spied.some((l) => l.startsWith('["docker","tag",'))).toBe(true);
      if (mode === 'single') expect(spied.some((l) => l.includes('"linux/amd64,linux/arm64"'))).toBe(true);
    });
  }

  it('the printed line is the argv shell-quoted: a shell reads back the same words', () => {
    const argv = ['docker', 'run', '--rm', 'img@sha256:ab', '/bin/sh', '-c', `echo "it's" $HOME | grep -q x && true`, ''];
    const line = formatStep({ kind: 'exec', argv });
    expect(line).toBe(`docker run --rm img@sha256:ab /bin/sh -c 'echo "it'\\''s" $HOME | grep -q x && true' ''`);
    expect(shellQuote('BASE_IMAGE=r/x:t@sha256:0')).toBe('BASE_IMAGE=r/x:t@sha256:0');
    expect(shellQuote('a b')).toBe("'a b'");
  });
});
