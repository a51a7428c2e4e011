// The build report: what a run did, as a picture. A self-contained HTML page (a timeline per
// worker, each task's status, reason, duration and digest, the critical path) and a Markdown
// version with a Mermaid Gantt chart for GitHub's step summary. Pure: results in, text out.
import type { Plan } from '../plan/plan.ts';
import type { TaskResult } from './result.ts';

export interface ReportTask extends TaskResult {
  /** The worker lane it ran in (tasks that did not run have none). */
  lane?: number;
  critical: boolean;
}

export interface Report {
  package: string;
  version: string | null;
  /** Wall time from the first start to the last end, ms. */
  wallMs: number;
  tasks: ReportTask[];
  /** Task ids of the longest chain of dependent work, first to last. */
  criticalPath: string[];
  counts: Record<string, number>;
}

const ran = (r: TaskResult): r is TaskResult & { startedMs: number } => r.startedMs !== undefined && r.status !== 'skipped' && r.status !== 'blocked' && r.status !== 'not-started';

/** Lanes: each task in the first lane free when it started (as the run's workers were). */
function lanes(tasks: (TaskResult & { startedMs: number })[]): Map<string, number> {
  const ends: number[] = [];
  const out = new Map<string, number>();
  for (const t of [...tasks].sort((a, b) => a.startedMs - b.startedMs || a.id.localeCompare(b.id))) {
    let lane = ends.findIndex((end) => end <= t.startedMs + 1);
    if (lane < 0) lane = ends.push(0) - 1;
    ends[lane] = t.startedMs + t.durationMs;
    out.set(t.id, lane);
  }
  return out;
}

/** The chain of dependencies with the most work in it (ran tasks' durations). */
function criticalPath(plan: Plan, byId: Map<string, TaskResult>): string[] {
  const best = new Map<string, { ms: number; prev?: string }>();
  for (const id of plan.order) {
    const r = byId.get(id);
    if (!r) continue;
    const own = ran(r) ? r.durationMs : 0;
    let top: { ms: number; prev?: string } = { ms: own };
    for (const d of plan.tasks.get(id)!.deps) {
      const b = best.get(d);
      if (b && b.ms + own > top.ms) top = { ms: b.ms + own, prev: d };
    }
    best.set(id, top);
  }
  let end: string | undefined;
  for (const [id, b] of best) if (!end || b.ms > best.get(end)!.ms) end = id;
  const path: string[] = [];
  for (let id = end; id; id = best.get(id)!.prev) if (ran(byId.get(id)!)) path.unshift(id);
  return path;
}

export function buildReport(plan: Plan, results: readonly TaskResult[]): Report {
  const byId = new Map(results.map((r) => [r.id, r]));
  const running = results.filter(ran);
  const lane = lanes(running);
  const path = criticalPath(plan, byId);
  const onPath = new Set(path);
  const start = Math.min(...running.map((r) => r.startedMs), 0);
  const end = Math.max(...running.map((r) => r.startedMs + r.durationMs), 0);
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return {
    package: plan.spec.package,
    version: plan.spec.version ?? null,
    wallMs: Math.round(end - start),
    tasks: results.map((r) => ({ ...r, ...(lane.has(r.id) ? { lane: lane.get(r.id)! } : {}), critical: onPath.has(r.id) })),
    criticalPath: path,
    counts,
  };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const COLOR: Record<string, string> = { built: '#2e7d32', ran: '#2e7d32', failed: '#c62828', 'timed-out': '#c62828', cancelled: '#6d4c41', skipped: '#9e9e9e', blocked: '#ef6c00', 'not-started': '#bdbdbd' };

/** A page that needs nothing else: inline style, no script, every value escaped. */
export function reportHtml(r: Report): string {
  const lanesUsed = Math.max(0, ...r.tasks.map((t) => (t.lane ?? -1) + 1));
  const scale = r.wallMs || 1;
  const bars = r.tasks
    .filter((t) => t.lane !== undefined)
    .map((t) => {
      const left = ((t.startedMs ?? 0) / scale) * 100;
      const width = Math.max((t.durationMs / scale) * 100, 0.3);
      return `<div class="bar${t.critical ? ' critical' : ''}" data-task="${esc(t.id)}" data-status="${t.status}" style="top:${t.lane! * 26}px;left:${left.toFixed(3)}%;width:${width.toFixed(3)}%;background:${COLOR[t.status] ?? '#555'}" title="${esc(`${t.id} · ${t.status} · ${secs(t.durationMs)}${t.reason ? ` · ${t.reason}` : ''}`)}">${esc(t.id)}</div>`;
    })
    .join('\n');
  const rows = r.tasks
    .map((t) => `<tr data-status="${t.status}"${t.critical ? ' class="critical"' : ''}><td>${esc(t.status)}</td><td><code>${esc(t.id)}</code></td><td>${t.lane === undefined ? '-' : secs(t.durationMs)}</td><td><code>${esc(t.digest?.slice(0, 19) ?? '')}</code></td><td>${esc([t.reason, t.cause].filter(Boolean).join(': '))}</td></tr>`)
    .join('\n');
  const counts = Object.entries(r.counts).map(([k, n]) => `${n} ${esc(k)}`).join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.package)} build report</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}.timeline{position:relative;height:${lanesUsed * 26 + 4}px;border:1px solid #ccc;margin:1em 0;overflow:hidden}
.bar{position:absolute;height:22px;color:#fff;font:11px monospace;white-space:nowrap;overflow:hidden;border-radius:3px;padding:2px 4px;box-sizing:border-box}
.bar.critical{outline:2px solid #000}
table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top}tr.critical td{font-weight:bold}
</style></head><body>
<h1>${esc(r.package)}${r.version ? ` ${esc(r.version)}` : ''}: build report</h1>
<p id="summary">${counts}; wall time ${secs(r.wallMs)} on ${lanesUsed} worker${lanesUsed === 1 ? '' : 's'}.</p>
<h2>Timeline</h2>
<div class="timeline" id="timeline">
${bars}
</div>
<h2>Critical path</h2>
<ol id="critical-path">${r.criticalPath.map((id) => `<li><code>${esc(id)}</code></li>`).join('')}</ol>
<h2>Tasks</h2>
<table id="tasks"><thead><tr><th>status</th><th>task</th><th>time</th><th>digest</th><th>reason</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}

/** Markdown for GitHub's step summary: the counts, a Mermaid Gantt of what ran, the failures. */
export function reportMarkdown(r: Report): string {
  const ranTasks = r.tasks.filter((t) => t.lane !== undefined).sort((a, b) => (a.startedMs ?? 0) - (b.startedMs ?? 0));
  // Mermaid's gantt reads times as dates; milliseconds from zero are its "x" format.
  const label = (s: string) => s.replace(/[:;#]/g, ' ');
  const gantt = ['```mermaid', 'gantt', `  title ${label(r.package)} build`, '  dateFormat x', '  axisFormat %M:%S'];
  for (const [kind, group] of groupBy(ranTasks, (t) => t.kind)) {
    gantt.push(`  section ${kind}`);
    for (const t of group) gantt.push(`  ${label(t.id)} :${t.status === 'failed' || t.status === 'timed-out' ? 'crit, ' : t.critical ? 'active, ' : ''}${t.startedMs ?? 0}, ${Math.max(1, Math.round(t.durationMs))}ms`);
  }
  gantt.push('```');
  const failures = r.tasks.filter((t) => t.status === 'failed' || t.status === 'timed-out').map((t) => `- \`${t.id}\`: ${[t.reason, t.cause].filter(Boolean).join(': ')}`);
  return [
    `### ${r.package}${r.version ? ` ${r.version}` : ''}: ${Object.entries(r.counts).map(([k, n]) => `${n} ${k}`).join(', ')}; wall time ${secs(r.wallMs)}`,
    '',
    ...(ranTasks.length ? gantt : ['Nothing ran: every task was up to date.']),
    ...(failures.length ? ['', '**Failed**', ...failures] : []),
    '',
  ].join('\n');
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) (m.get(key(x)) ?? m.set(key(x), []).get(key(x))!).push(x);
  return m;
}
