// The tree is the pipeline: core/'s folders are its stages, and a stage imports only from itself
// and the stages before it; core/ (pure) never imports the edge (tasks/, registries/, cli/), and
// the edge imports inward only. A module that reaches forward fails here with the import named.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '..', '..');

/** In pipeline order: each may import the ones before it. */
const STAGES = ['core/base', 'core/load', 'core/matrix', 'core/render', 'core/plan', 'core/buildx', 'core/views'];
/** The edge, in order: registries talk HTTP, tasks run things, cli parses and prints. */
const EDGE = ['registries', 'tasks', 'cli'];
const ORDER = [...STAGES, ...EDGE];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function layerOf(file: string): number {
  const rel = relative(REPO, file);
  return ORDER.findIndex((layer) => rel.startsWith(`${layer}/`));
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => resolve(dirname(file), m[1]!));
}

describe('the tree shows the pipeline', () => {
  const files = ORDER.flatMap((layer) => sources(join(REPO, layer)));

  it('has every core module in a stage folder, each with a README saying what it holds', () => {
    expect(readdirSync(join(REPO, 'core')).filter((f) => f.endsWith('.ts'))).toEqual([]);
    for (const stage of readdirSync(join(REPO, 'core'))) {
      expect(STAGES, `core/${stage} is not a known stage`).toContain(`core/${stage}`);
      expect(readFileSync(join(REPO, 'core', stage, 'README.md'), 'utf8')).toMatch(/^May import: /m);
    }
  });

  it('imports point one way: a stage never reaches a later stage or the edge', () => {
    const offenders: string[] = [];
    for (const file of files) {
      const own = layerOf(file);
      for (const target of imports(file)) {
        const theirs = layerOf(target);
        if (theirs > own) offenders.push(`${relative(REPO, file)} → ${relative(REPO, target)}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('can fail: a forward import is found', () => {
    // The check itself, on a made-up edge, so a broken matcher cannot pass silently.
    expect(layerOf(join(REPO, 'core/load/spec.ts'))).toBeLessThan(layerOf(join(REPO, 'core/plan/plan.ts')));
    expect(imports(join(REPO, 'core/plan/plan.ts')).some((t) => t.includes('/core/load/'))).toBe(true);
  });
});
