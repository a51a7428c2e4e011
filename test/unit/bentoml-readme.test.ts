// The generated bento-server README against the last one BentoML generated itself (test/fixtures/
// bentoml-readme/tags.txt, from the final commit of the pull request that generated it): the tag
// list of each distro matches, apart from the differences docs/building.md lists with their
// reasons. Each of those is a rule here; a tag neither side explains fails the test, and so does
// a rule that no longer explains any tag.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlan } from '../../core/plan/plan.ts';
import type { RenderTask } from '../../core/plan/task.ts';
import { BENTO_MANIFEST, REPO } from '../helpers/spec.ts';

interface Rule {
  /** How docs/building.md names the difference. */
  title: string;
  side: 'ours' | 'theirs';
  matches: (distro: string, tag: string) => boolean;
}

const RULES: Rule[] = [
  { title: 'base tags', side: 'ours', matches: (_, t) => t.startsWith('base-') },
  { title: 'alias tags', side: 'ours', matches: (_, t) => /-python[\d.]+-(debian|ami2|alpine)(-|$)/.test(t) },
  { title: 'CUDA version tags', side: 'ours', matches: (_, t) => /-cudnn-cuda[\d.]+(-conda)?$/.test(t) },
  { title: 'devel-trt tags', side: 'ours', matches: (_, t) => t.startsWith('devel-trt-') },
];

/** distro → tags, from the fixture. */
function theirs(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of readFileSync(join(REPO, 'test', 'fixtures', 'bentoml-readme', 'tags.txt'), 'utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [distro, tag] = line.split(' ') as [string, string];
    out.set(distro, [...(out.get(distro) ?? []), tag]);
  }
  return out;
}

/** distro → tags, read from the README as generated: each image row's first cell, under its `### distro`. */
function ours(readme: string, version: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let distro = '';
  for (const line of readme.split('\n')) {
    const h = /^### (\S+)$/.exec(line);
    if (h) distro = h[1]!;
    else if (distro && line.startsWith('| `')) {
      const tags = line.split(' | ')[0]!.slice(2).split('<br>').map((t) => t.replaceAll('`', '').replaceAll(version, '{version}'));
      out.set(distro, [...(out.get(distro) ?? []), ...tags]);
    }
  }
  return out;
}

describe('the generated README beside BentoML\'s', () => {
  const plan = loadPlan(BENTO_MANIFEST);
  const docs = [...plan.tasks.values()].find((t): t is RenderTask => t.kind === 'render' && t.dir === '')!;
  const readme = docs.files.find((f) => f.path === 'README.md')!.content;
  const mine = ours(readme, plan.spec.version!);
  const bento = theirs();
  const used = new Set<string>();
  const explain = (side: Rule['side'], distro: string, tag: string) => {
    const r = RULES.find((x) => x.side === side && x.matches(distro, tag));
    if (r) used.add(r.title);
    return r;
  };

  it('lists the conda variants and the alias tags BentoML 1.0.0a5 asks for', () => {
    for (const t of ['{version}-python3.9-debian11-runtime-conda', '{version}-python3.9-debian11-cudnn-conda', 'devel-python3.9-debian11-conda', 'base-python3.9-debian11-conda']) expect(mine.get('debian11'), t).toContain(t);
    for (const [d, t] of [['debian11', '{version}-python3.8-debian-runtime'], ['debian11', '{version}-python3.8-debian-cudnn'], ['amazonlinux2', '{version}-python3.8-ami2-runtime'], ['alpine3.14', '{version}-python3.8-alpine3.14-runtime']] as const) {
      expect(mine.get(d), t).toContain(t);
    }
  });

  for (const distro of ['debian11', 'ubi8', 'alpine3.14', 'amazonlinux2', 'debian10']) {
    it(`${distro}: the same tags, apart from the documented differences`, () => {
      const a = new Set(mine.get(distro) ?? []);
      const b = new Set(bento.get(distro) ?? []);
      expect(a.size).toBeGreaterThan(0);
      expect(b.size).toBeGreaterThan(0);
      const onlyOurs = [...a].filter((t) => !b.has(t) && !explain('ours', distro, t));
      const onlyTheirs = [...b].filter((t) => !a.has(t) && !explain('theirs', distro, t));
      expect({ onlyOurs, onlyTheirs }).toEqual({ onlyOurs: [], onlyTheirs: [] });
      // An explained difference must really be one: a rule never hides a tag both lists have.
      for (const t of a) if (b.has(t)) expect(RULES.some((r) => r.matches(distro, t)), t).toBe(false);
    });
  }

  it('every rule explains some tag, and docs/building.md lists each with its reason', () => {
    expect([...used].sort()).toEqual(RULES.map((r) => r.title).sort());
    const building = readFileSync(join(REPO, 'docs', 'building.md'), 'utf8');
    const section = building.slice(building.indexOf('## Compared with BentoML\'s images'));
    for (const r of RULES) expect(section, r.title).toMatch(new RegExp(`^\\| ${r.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\| (ours|BentoML's) only \\| .{20,} \\|$`, 'm'));
  });
});
