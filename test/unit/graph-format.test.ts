import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatGraph, graphJson, graphJsonChunks, mermaidGraph, mermaidWarning, MERMAID_LIMITS } from '../../core/views/graph-format.ts';
import { loadPlan } from '../../core/plan/plan.ts';

const plan = loadPlan(join(import.meta.dirname, '..', '..', 'examples', 'bento-server', 'manifest.yaml'));
const all = new Set(plan.order);

describe('graph --format json', () => {
  it('streams, piece by piece, exactly the document graphJson builds whole', () => {
    const chunks = [...graphJsonChunks(plan, all)];
    expect(chunks.length).toBe(plan.order.length + 2);
    const whole = graphJson(plan, plan.order.map((id) => plan.tasks.get(id)!));
    expect(JSON.parse(chunks.join(''))).toEqual(whole);
    // Pretty-printed as JSON.stringify(…, null, 2) would print it.
    expect(chunks.join('')).toBe(`${JSON.stringify(whole, null, 2)}\n`);
  });
  it('carries the schema version first, and each task with its hash, parts and deps', () => {
    const doc = JSON.parse(formatGraph(plan, all, 'json')) as { schemaVersion: number; package: string; tasks: { id: string; hash: string; hashParts: unknown; deps: string[]; data?: unknown }[] };
    expect(Object.keys(doc)[0]).toBe('schemaVersion');
    expect(doc.package).toBe('bento-server');
    const render = doc.tasks.find((t) => t.id.startsWith('render:'))!;
    expect(render.data).toBeUndefined();
    expect(doc.tasks.every((t) => /^[0-9a-f]{32,64}$/.test(t.hash) && Array.isArray(t.deps) && t.hashParts)).toBe(true);
  });
  it('an empty selection is still one valid document', () => {
    expect(JSON.parse([...graphJsonChunks(plan, new Set())].join(''))).toEqual({ schemaVersion: 1, package: 'bento-server', version: plan.spec.version ?? null, tasks: [] });
  });
});

describe('graph --level', () => {
  it('release: the hierarchy, one node per release, edges parent → child, far under Mermaid\'s 500 edges', () => {
    const text = formatGraph(plan, all, 'mermaid', 'release');
    const edges = text.split('\n').filter((l) => l.includes('-->'));
    expect(edges).toHaveLength(plan.spec.releaseOrder.length - 1);
    expect(text).toMatch(/n0\["base<br\/>\d+ images on debian11, /);
    const task = formatGraph(plan, all, 'mermaid', 'task').split('\n').filter((l) => l.includes('-->')).length;
    expect(task).toBeGreaterThan(500);
  });
  it('image: one node per image with its architectures, edges to the image it builds FROM', () => {
    const text = formatGraph(plan, all, 'dot', 'image');
    expect(text).toContain('"debian11/base/py3.9" -> "debian11/runtime/py3.9";');
    expect(text).not.toMatch(/build:/);
  });
  it('the CLI refuses a level where it means nothing', async () => {
    const { cli } = await import('../helpers/cli.ts');
    const r = cli(['graph', 'bento-server', '--level', 'release']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--level applies to --format dot and mermaid/);
  });
});

describe('graph --format mermaid past Mermaid\'s limits', () => {
  it('says which limit the task level passes and suggests the levels that fit; release level fits silently', () => {
    const task = mermaidGraph(plan, all, 'task');
    expect(task.text.split('\n').filter((l) => l.includes('-->')).length).toBeGreaterThan(MERMAID_LIMITS.edges);
    expect(task.warning).toMatch(/edges \(Mermaid's default maxEdges is 500\).*--level image.*--level release/);
    expect(task.text).toBe(formatGraph(plan, all, 'mermaid', 'task'));
    expect(mermaidGraph(plan, all, 'release').warning).toBeUndefined();
  });
  it('names the text size too, and at release level the settings instead of a level', () => {
    expect(mermaidWarning('x'.repeat(50_001), 10, 'image')).toMatch(/^the Mermaid graph has 50001 characters \(Mermaid's default maxTextSize is 50000\): .*--level release/);
    expect(mermaidWarning('x'.repeat(50_001), 501, 'release')).toMatch(/characters .* and 501 edges .*raise maxTextSize \/ maxEdges/);
    expect(mermaidWarning('x'.repeat(50_000), 500, 'task')).toBeUndefined();
  });
  it('the CLI prints the warning on stderr and the graph, whole, on stdout (exit 0)', async () => {
    const { cli } = await import('../helpers/cli.ts');
    const r = cli(['graph', 'bento-server', '--format', 'mermaid']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: the Mermaid graph has .*--level image/);
    expect(r.stdout.trim()).toBe(formatGraph(plan, all, 'mermaid', 'task'));
  });
});
