// Rewrites the golden files the generate tests compare against, from the bento-server example
// as it renders now. Run by hand after an intended template change (`npx tsx scripts/update-golden.ts`),
// then read the diff: the tests never write what they read.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadPlan } from '../core/plan/plan.ts';
import { GOLDEN_DIR, GOLDEN_FILES, TREE_DIGEST_FILE, treeDigests } from '../test/helpers/golden.ts';
import { BENTO_MANIFEST } from '../test/helpers/spec.ts';

const plan = loadPlan(BENTO_MANIFEST);
const rendered = new Map([...plan.tasks.values()].flatMap((t) => (t.kind === 'render' ? t.files.map((f) => [f.path, f.content] as const) : [])));
for (const g of GOLDEN_FILES) {
  const p = join(GOLDEN_DIR, g);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, rendered.get(g)!);
  console.log(`wrote ${p}`);
}
writeFileSync(TREE_DIGEST_FILE, JSON.stringify(treeDigests(plan), null, 2) + '\n');
console.log(`wrote ${TREE_DIGEST_FILE}`);
