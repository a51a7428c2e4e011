// The plan's run order, and its graph for the callers that want one. The order is computed on
// plain arrays: building a graphology graph of 50k tasks (an edge object and a generated key
// per dependency) cost more than the rest of the graph work, and the run path never reads it.
import { DirectedGraph } from 'graphology';
import type { Task } from './task.ts';

/**
 * Task ids, dependencies first: Kahn's algorithm with a first-in first-out queue, tasks taken
 * in insertion order and each task's dependents in the order their edges were added. That is
 * graphology-dag's topologicalSort on the graph `taskGraph` builds, id for id, so orders
 * recorded before stay the same; the same mistakes (an unknown or repeated dependency, a
 * cycle) throw.
 */
export function taskOrder(tasks: Map<string, Task>): string[] {
  const ids = [...tasks.keys()];
  const n = ids.length;
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) index.set(ids[i]!, i);
  // Each dependency's task index, looked up once; then dependents as one flat array
  // (compressed rows): `start[i]` to `start[i + 1]` are task i's.
  let edges = 0;
  for (const t of tasks.values()) edges += t.deps.length;
  const depOf = new Int32Array(edges);
  const start = new Int32Array(n + 1);
  const inDegree = new Int32Array(n);
  let i = 0;
  let e = 0;
  for (const t of tasks.values()) {
    checkRepeats(t);
    for (const d of t.deps) {
      const j = index.get(d);
      if (j === undefined) throw new Error(`Graph.addDirectedEdge: source node "${d}" not found.`);
      depOf[e++] = j;
      start[j + 1]!++;
    }
    inDegree[i++] = t.deps.length;
  }
  for (let k = 0; k < n; k++) start[k + 1]! += start[k]!;
  const fill = start.slice(0, n);
  const dependents = new Int32Array(edges);
  e = 0;
  for (let k = 0; k < n; k++) for (let end = e + inDegree[k]!; e < end; e++) dependents[fill[depOf[e]!]!++] = k;
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let k = 0; k < n; k++) if (inDegree[k] === 0) queue[tail++] = k;
  const order = new Array<string>(n);
  while (head < tail) {
    const k = queue[head]!;
    order[head++] = ids[k]!;
    for (let e = start[k]!; e < start[k + 1]!; e++) {
      const m = dependents[e]!;
      if (--inDegree[m]! === 0) queue[tail++] = m;
    }
  }
  if (tail !== n) throw new Error('graphology-dag/topological-sort: given graph is not acyclic.');
  return order;
}

/** The graphology graph of the tasks: a node per task (its data the task), an edge per dependency. */
export function taskGraph(tasks: Map<string, Task>): DirectedGraph<{ task: Task }> {
  const graph = new DirectedGraph<{ task: Task }>();
  for (const t of tasks.values()) graph.addNode(t.id, { task: t });
  for (const t of tasks.values()) for (const d of t.deps) graph.addDirectedEdge(d, t.id);
  return graph;
}

/** The same dependency twice, which adding the task's edges to a graphology graph refuses. */
function checkRepeats(t: Task): void {
  const { deps } = t;
  // Most tasks have one or two dependencies; only a readme's (every manifest) needs a set.
  if (deps.length <= 16) {
    for (let a = 1; a < deps.length; a++) for (let b = 0; b < a; b++) if (deps[a] === deps[b]) throw duplicate(deps[a]!, t.id);
    return;
  }
  const seen = new Set<string>();
  for (const d of deps) {
    if (seen.has(d)) throw duplicate(d, t.id);
    seen.add(d);
  }
}

const duplicate = (source: string, target: string) =>
  new Error(`Graph.addDirectedEdge: an edge linking "${source}" to "${target}" already exists. If you really want to add multiple edges linking those nodes, you should create a multi graph by using the 'multi' option.`);
