import { topologicalSort } from 'graphology-dag';
import { describe, expect, it } from 'vitest';
import { loadPlan } from '../../core/plan/plan.ts';
import { taskGraph, taskOrder } from '../../core/plan/task-order.ts';
import type { Task } from '../../core/plan/task.ts';
import { BENTO_MANIFEST, PYTHON_BASE_MANIFEST } from '../helpers/spec.ts';

const tasks = (deps: Record<string, string[]>) => new Map(Object.entries(deps).map(([id, d]) => [id, { kind: 'readme', id, deps: d } as unknown as Task]));

describe('task order', () => {
  it('is the order graphology-dag gives the same graph, the order plans had before', () => {
    for (const manifest of [BENTO_MANIFEST, PYTHON_BASE_MANIFEST]) {
      const plan = loadPlan(manifest);
      expect(plan.order).toEqual(topologicalSort(taskGraph(plan.tasks)));
      expect(plan.graph.order).toBe(plan.tasks.size);
    }
  });

  it('takes tasks in insertion order and dependents in the order their edges were added', () => {
    const t = tasks({ z: [], a: [], m: ['z'], b: ['a', 'z'], c: ['m'] });
    expect(taskOrder(t)).toEqual(topologicalSort(taskGraph(t)));
    expect(taskOrder(t)).toEqual(['z', 'a', 'm', 'b', 'c']);
  });

  it('refuses a cycle, an unknown dependency and a repeated one, as the graph does', () => {
    expect(() => taskOrder(tasks({ a: ['b'], b: ['a'] }))).toThrow(/not acyclic/);
    expect(() => taskOrder(tasks({ a: ['a'] }))).toThrow(/not acyclic/);
    expect(() => taskOrder(tasks({ a: ['x'] }))).toThrow(/"x" not found/);
    expect(() => taskOrder(tasks({ a: [], b: ['a', 'a'] }))).toThrow(/already exists/);
    expect(() => taskGraph(tasks({ a: [], b: ['a', 'a'] }))).toThrow(/already exists/);
  });
});
