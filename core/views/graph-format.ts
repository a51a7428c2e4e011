// Views of a plan: the human tree (default), Graphviz dot, Mermaid and JSON.
import { short } from '../base/hash.ts';
import type { Plan } from '../plan/plan.ts';
import type { BuildTask, Task } from '../plan/task.ts';

export type GraphFormat = 'tree' | 'dot' | 'mermaid' | 'json';
/** How much of the plan a picture shows: every task, one node per image, or the release hierarchy. */
export type GraphLevel = 'task' | 'image' | 'release';

/** A picture's nodes and edges: small levels keep big families under Mermaid's edge limit (500). */
interface Picture {
  nodes: { id: string; label: string; shape: string }[];
  edges: [string, string][];
}

/** Pure: the nodes and edges of one level of the selected plan. */
export function picture(plan: Plan, tasks: Task[], level: GraphLevel): Picture {
  const builds = tasks.filter((t): t is BuildTask => t.kind === 'build');
  if (level === 'release') {
    const spec = plan.spec;
    const seen = [...new Set(builds.map((b) => b.release))];
    const nodes = spec.releaseOrder.filter((r) => seen.includes(r)).map((r) => {
      const distros = [...new Set(builds.filter((b) => b.release === r).map((b) => b.distro))];
      const images = new Set(builds.filter((b) => b.release === r).map((b) => b.variant)).size;
      return { id: r, label: `${r}\n${images} image${images === 1 ? '' : 's'} on ${distros.join(', ')}`, shape: 'box' };
    });
    const ids = new Set(nodes.map((n) => n.id));
    const edges = nodes.flatMap((n) => {
      const parent = spec.releases[n.id]!.parent;
      return parent && ids.has(parent) ? [[parent, n.id] as [string, string]] : [];
    });
    return { nodes, edges };
  }
  if (level === 'image') {
    const byVariant = new Map<string, BuildTask>();
    for (const b of builds) if (!byVariant.has(b.variant)) byVariant.set(b.variant, b);
    const nodes = [...byVariant.values()].map((b) => ({ id: b.variant, label: `${b.variant}\n${[...new Set(builds.filter((x) => x.variant === b.variant).flatMap((x) => x.arches))].join(' ')}`, shape: 'box' }));
    const edges: [string, string][] = [];
    for (const b of byVariant.values()) {
      const parent = b.parentBuild ? (plan.tasks.get(b.parentBuild) as BuildTask | undefined) : undefined;
      if (parent && byVariant.has(parent.variant)) edges.push([parent.variant, b.variant]);
    }
    return { nodes, edges };
  }
  const shape: Record<string, string> = { render: 'note', build: 'box', test: 'diamond', manifest: 'component', readme: 'tab' };
  const ids = new Set(tasks.map((t) => t.id));
  return {
    nodes: tasks.map((t) => ({ id: t.id, label: `${t.id}\n${short(t.hash.value)}`, shape: shape[t.kind]! })),
    edges: tasks.flatMap((t) => t.deps.filter((d) => ids.has(d)).map((d): [string, string] => [d, t.id])),
  };
}

function label(t: Task, pkg: string): string {
  return t.id.slice(t.kind.length + 1 + pkg.length + 1) || t.id;
}

export function formatGraph(plan: Plan, selected: Set<string>, format: GraphFormat, level: GraphLevel = 'task'): string {
  const tasks = plan.order.filter((id) => selected.has(id)).map((id) => plan.tasks.get(id)!);
  switch (format) {
    case 'json':
      return [...graphJsonChunks(plan, selected)].join('');
    case 'dot':
      return dot(picture(plan, tasks, level));
    case 'mermaid':
      return mermaid(picture(plan, tasks, level));
    default:
      return tree(plan, tasks);
  }
}

/** Mermaid's defaults (`maxTextSize`, `maxEdges`): past them a page shows an error, not the graph. */
export const MERMAID_LIMITS = { chars: 50_000, edges: 500 };

/**
 * What a Mermaid picture past Mermaid's default limits needs said: which limit, and the level
 * that would fit (or the setting to raise when even the release level does not). Pure.
 */
export function mermaidWarning(text: string, edges: number, level: GraphLevel): string | undefined {
  const over = [
    ...(text.length > MERMAID_LIMITS.chars ? [`${text.length} characters (Mermaid's default maxTextSize is ${MERMAID_LIMITS.chars})`] : []),
    ...(edges > MERMAID_LIMITS.edges ? [`${edges} edges (Mermaid's default maxEdges is ${MERMAID_LIMITS.edges})`] : []),
  ];
  if (!over.length) return undefined;
  const fix = level === 'task'
    ? 'try --level image (one node per image) or --level release (the hierarchy)'
    : level === 'image'
      ? 'try --level release (the hierarchy), or select fewer images (--target, --distros, --axis)'
      : 'select fewer images (--target, --distros, --axis), or raise maxTextSize / maxEdges in the page\'s Mermaid config';
  return `the Mermaid graph has ${over.join(' and ')}: most pages will refuse to draw it; ${fix}`;
}

/** The Mermaid text and, past Mermaid's limits, the warning to print beside it. */
export function mermaidGraph(plan: Plan, selected: Set<string>, level: GraphLevel = 'task'): { text: string; warning?: string } {
  const tasks = plan.order.filter((id) => selected.has(id)).map((id) => plan.tasks.get(id)!);
  const p = picture(plan, tasks, level);
  const text = mermaid(p);
  const warning = mermaidWarning(text, p.edges.length, level);
  return warning ? { text, warning } : { text };
}

/** One task as `graph --format json` shows it (render data left out: it is the files' input). */
export function taskJson(t: Task): Record<string, unknown> {
  const { hash, deps, ...rest } = t;
  const slim: Record<string, unknown> = { ...rest };
  if (t.kind === 'render') {
    slim['files'] = t.files.map((f) => ({ path: f.path, sha256: f.sha256 }));
    delete slim['data'];
  }
  return { ...slim, hash: hash.value, hashParts: hash.parts, deps };
}

export function graphJson(plan: Plan, tasks: Task[]) {
  return { schemaVersion: 1, package: plan.spec.package, version: plan.spec.version ?? null, tasks: tasks.map(taskJson) };
}

/**
 * The same document as `graphJson`, piece by piece: a 20k-build plan is never copied whole
 * before it is written, so memory stays near the plan's own.
 */
export function* graphJsonChunks(plan: Plan, selected: Set<string>): Generator<string> {
  const head = JSON.stringify({ schemaVersion: 1, package: plan.spec.package, version: plan.spec.version ?? null }, null, 2);
  yield `${head.slice(0, -2)},\n  "tasks": [`;
  let first = true;
  for (const id of plan.order) {
    if (!selected.has(id)) continue;
    const body = JSON.stringify(taskJson(plan.tasks.get(id)!), null, 2).replace(/\n/g, '\n    ');
    yield `${first ? '' : ','}\n    ${body}`;
    first = false;
  }
  yield first ? ']\n}\n' : '\n  ]\n}\n';
}

function counts(tasks: Task[]): string {
  const c: Record<string, number> = {};
  for (const t of tasks) c[t.kind] = (c[t.kind] ?? 0) + 1;
  return Object.entries(c).map(([k, n]) => `${n} ${k}`).join(', ');
}

function tree(plan: Plan, tasks: Task[]): string {
  const pkg = plan.spec.package;
  const lines: string[] = [`${pkg}${plan.spec.version ? ` ${plan.spec.version}` : ''}: ${tasks.length} tasks (${counts(tasks)})`];
  const inSel = new Set(tasks.map((t) => t.id));
  const renders = tasks.filter((t) => t.kind === 'render');
  if (renders.length) {
    lines.push('', 'render');
    for (const r of renders) lines.push(`  ${label(r, pkg).padEnd(40)} ${short(r.hash.value)}  ${r.kind === 'render' ? r.files.map((f) => f.path.split('/').pop()).join(' ') : ''}`);
  }
  const builds = tasks.filter((t): t is BuildTask => t.kind === 'build');
  const children = new Map<string, BuildTask[]>();
  const roots: BuildTask[] = [];
  for (const b of builds) {
    if (b.parentBuild && inSel.has(b.parentBuild)) {
      if (!children.has(b.parentBuild)) children.set(b.parentBuild, []);
      children.get(b.parentBuild)!.push(b);
    } else roots.push(b);
  }
  const testsOf = new Map<string, Task[]>();
  for (const t of tasks) if (t.kind === 'test') {
    if (!testsOf.has(t.build)) testsOf.set(t.build, []);
    testsOf.get(t.build)!.push(t);
  }
  if (builds.length) {
    lines.push('', 'build (child releases nest under the image they build FROM)');
    const walk = (b: BuildTask, prefix: string, last: boolean, depth: number) => {
      const branch = depth === 0 ? '' : last ? '└─ ' : '├─ ';
      lines.push(`  ${prefix}${branch}${label(b, pkg)}  ${short(b.hash.value)}`);
      const next = depth === 0 ? '' : prefix + (last ? '   ' : '│  ');
      const kids: (Task)[] = [...(testsOf.get(b.id) ?? []), ...(children.get(b.id) ?? [])];
      kids.forEach((k, i) => {
        const isLast = i === kids.length - 1;
        if (k.kind === 'build') walk(k, next, isLast, depth + 1);
        else lines.push(`  ${next}${isLast ? '└─ ' : '├─ '}test ${k.kind === 'test' ? `${k.tests.map((x) => x.name).join(', ')} on ${k.platform}` : ''}  ${short(k.hash.value)}`);
      });
    };
    for (const r of roots) walk(r, '', true, 0);
  }
  const manifests = tasks.filter((t) => t.kind === 'manifest');
  if (manifests.length) {
    lines.push('', 'manifest (multi-arch tags from the builds above)');
    for (const m of manifests) {
      if (m.kind !== 'manifest') continue;
      lines.push(`  ${label(m, pkg)}  ${short(m.hash.value)}  [${m.platforms.join(', ')}]`);
      lines.push(`    tags: ${m.tags.join(', ') || '(none)'}`);
    }
  }
  const readmes = tasks.filter((t) => t.kind === 'readme');
  if (readmes.length) {
    lines.push('', 'readme');
    for (const r of readmes) if (r.kind === 'readme') lines.push(`  ${r.registry}  ${r.repository}  ${short(r.hash.value)}`);
  }
  return lines.join('\n');
}

function dot(p: Picture): string {
  const lines = ['digraph plan {', '  rankdir=LR;', '  node [shape=box, fontname="monospace"];'];
  for (const n of p.nodes) lines.push(`  ${JSON.stringify(n.id)} [shape=${n.shape}, label=${JSON.stringify(n.label)}];`);
  for (const [a, b] of p.edges) lines.push(`  ${JSON.stringify(a)} -> ${JSON.stringify(b)};`);
  lines.push('}');
  return lines.join('\n');
}

function mermaid(p: Picture): string {
  const nid = new Map<string, string>();
  p.nodes.forEach((n, i) => nid.set(n.id, `n${i}`));
  const lines = ['graph LR'];
  for (const n of p.nodes) lines.push(`  ${nid.get(n.id)}["${n.label.replace(/"/g, '#quot;').replace(/\n/g, '<br/>')}"]`);
  for (const [a, b] of p.edges) lines.push(`  ${nid.get(a)} --> ${nid.get(b)}`);
  return lines.join('\n');
}
