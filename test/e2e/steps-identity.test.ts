// On the real engine and registry: every program a real run started is the argv its dry run
// printed, byte for byte (each task's log opens every command with `$ argv`), and every merge
// through the registry API is the step the dry run printed (its log opens with `# <step>`). The
// unit tier holds the same through a spy for every mode; this is the real thing, for one.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { formatStep, type Step } from '../../core/buildx/steps.ts';
import { cli } from '../helpers/cli.ts';
import { e2eEnv, e2eSpec, removeLocalImages, taskRows } from '../helpers/e2e.ts';

const env = e2eEnv();

describe('the dry run prints what the real run runs, on the real engine', () => {
  const ns = `steps-${Date.now().toString(36)}`;
  const s = e2eSpec(env, ns, 'offline');
  afterAll(() => {
    rmSync(s.dir, { recursive: true, force: true });
    removeLocalImages(ns);
  });

  it('builds, tests and merges: the same argv', () => {
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replace('architectures: [amd64, arm64v8]\n    releases', 'architectures: [amd64]\n    releases'));
    const args = ['build', s.manifest, '--all', '--python-version', '3.11', '--output', s.generated, '--json'];
    const creds = { E2E_REGISTRY_USER: env.user, E2E_REGISTRY_PASSWORD: env.password };
    const dry = cli([...args, '--dry-run'], { env: creds });
    expect(dry.code, dry.stderr.slice(-2000)).toBe(0);
    const planned = (JSON.parse(dry.stdout) as { tasks: { id: string; steps?: Step[] }[] }).tasks;
    const real = cli(args, { env: creds });
    expect(real.code, real.stderr.slice(-2000)).toBe(0);
    const ran = taskRows(real.stdout, real.stderr);
    const refOf = new Map(ran.filter((r) => r.ref).map((r) => [r.id, r.ref!]));
    const fill = (w: string) => w.replace(/<([^<>]+) digest>/g, (_, id: string) => refOf.get(id) ?? `<${id} digest>`);
    let compared = 0;
    for (const t of planned) {
      const printed = (t.steps ?? []).flatMap((x) =>
        x.kind === 'exec' ? [`$ ${x.argv.map(fill).join(' ')}`] : x.kind === 'index' ? [`# ${formatStep({ ...x, sources: x.sources.map(fill) })}`] : []);
      if (!printed.length) continue;
      const log = ran.find((r) => r.id === t.id)!.log!;
      const started = readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('$ ') || /^# (copy|merge) .*\(registry API\)$/.test(l));
      expect(started, t.id).toEqual(printed);
      compared += printed.length;
    }
    // Three builds, their tests and three merges at least, the merges through the registry API.
    expect(compared).toBeGreaterThanOrEqual(7);
    expect(planned.some((t) => t.steps?.some((x) => x.kind === 'index'))).toBe(true);
  });
});
