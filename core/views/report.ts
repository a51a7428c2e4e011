// The build report: what a run did, as a picture. A self-contained HTML page (the outcome and
// every failure first, the public tags and where they point, a timeline per worker on a time
// axis, the critical path, each task's status, reason, duration and digest) and a Markdown
// version with a Mermaid Gantt chart for GitHub's step summary. Pure: results in, text out.
import { relative, sep } from 'node:path';
import type { ManifestTask } from '../plan/task.ts';
import type { Plan } from '../plan/plan.ts';
import { repositoryRef } from '../load/repositories.ts';
import type { TaskResult, TaskStatus } from './result.ts';

export interface ReportTask extends TaskResult {
  /** The worker lane it ran in (tasks that did not run have none). */
  lane?: number;
  critical: boolean;
}

/** One public tag of the selection, and what the run left it pointing at. */
export interface ReportTag {
  /** The spec's name of the registry, and the repository in it (host/namespace/repository). */
  registry: string;
  repository: string;
  tag: string;
  ref: string;
  /** The manifest task that merges it, and what became of that task. */
  task: string;
  status: TaskStatus;
  /** Only when the run knows it: the index it published, or the one an unchanged tag already had. */
  digest?: string;
  reason?: string;
}

/** Every task in exactly one bucket: published (manifest merges), done (all other work that ran), and the rest. */
export interface Outcome {
  published: number;
  /** Public tags the published merges moved. */
  tags: number;
  done: number;
  failed: number;
  skipped: number;
  blocked: number;
  notStarted: number;
  cancelled: number;
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
  outcome: Outcome;
  tags: ReportTag[];
}

const ran = (r: TaskResult): r is TaskResult & { startedMs: number } => r.startedMs !== undefined && r.status !== 'skipped' && r.status !== 'blocked' && r.status !== 'not-started';
const failedStatus = (s: TaskStatus) => s === 'failed' || s === 'timed-out';

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

function outcomeOf(results: readonly TaskResult[], plan: Plan): Outcome {
  const o: Outcome = { published: 0, tags: 0, done: 0, failed: 0, skipped: 0, blocked: 0, notStarted: 0, cancelled: 0 };
  for (const r of results) {
    if (r.status === 'ran' && r.kind === 'manifest') {
      o.published++;
      o.tags += (plan.tasks.get(r.id) as ManifestTask | undefined)?.refs.length ?? 0;
    } else if (r.status === 'built' || r.status === 'ran') o.done++;
    else if (failedStatus(r.status)) o.failed++;
    else if (r.status === 'skipped') o.skipped++;
    else if (r.status === 'blocked') o.blocked++;
    else if (r.status === 'not-started') o.notStarted++;
    else if (r.status === 'cancelled') o.cancelled++;
  }
  return o;
}

/** The manifest tasks' refs, each under the registry it names; a digest only where the run has one for it. */
function tagsOf(plan: Plan, results: readonly TaskResult[]): ReportTag[] {
  // Longest repository first: one registry's repository may be a prefix of another's.
  const repos = Object.values(plan.spec.registries).map((r) => ({ name: r.name, repository: repositoryRef(r) })).sort((a, b) => b.repository.length - a.repository.length);
  const out: ReportTag[] = [];
  for (const r of results) {
    const t = plan.tasks.get(r.id);
    if (t?.kind !== 'manifest') continue;
    const known = (r.status === 'ran' || r.status === 'skipped') && r.digest ? { digest: r.digest } : {};
    for (const ref of t.refs) {
      const repo = repos.find((x) => ref.startsWith(`${x.repository}:`));
      const colon = ref.lastIndexOf(':');
      const repository = repo?.repository ?? ref.slice(0, colon);
      out.push({ registry: repo?.name ?? repository.split('/')[0]!, repository, tag: ref.slice(repository.length + 1), ref, task: r.id, status: r.status, ...known, ...(r.reason ? { reason: r.reason } : {}) });
    }
  }
  return out.sort((a, b) => a.registry.localeCompare(b.registry) || a.repository.localeCompare(b.repository) || a.tag.localeCompare(b.tag));
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
    outcome: outcomeOf(results, plan),
    tags: tagsOf(plan, results),
  };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const COLOR: Record<string, string> = { built: '#2e7d32', ran: '#2e7d32', failed: '#c62828', 'timed-out': '#c62828', cancelled: '#6d4c41', skipped: '#9e9e9e', blocked: '#ef6c00', 'not-started': '#bdbdbd' };

/** Tick spacings a reader counts in without effort, ms. */
const STEPS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000];

/** The time axis: at most eight intervals of a round step, labelled in seconds, or in minutes from two minutes on. */
export function axisTicks(spanMs: number): { ms: number; label: string }[] {
  const span = Math.max(spanMs, 1);
  const step = STEPS.find((s) => span / s <= 8) ?? Math.ceil(span / 8 / 3_600_000) * 3_600_000;
  const minutes = span >= 120_000;
  const label = (ms: number) => (minutes ? `${Number((ms / 60_000).toFixed(2))} min` : `${Number((ms / 1000).toFixed(2))}s`);
  const out: { ms: number; label: string }[] = [];
  for (let i = 0; i * step <= span; i++) out.push({ ms: i * step, label: label(i * step) });
  return out;
}

/** Where the page is written and how the run published: the page's links and wording depend on both. */
export interface ReportPageOptions {
  /** The directory the page is written to: log links are relative to it, so a copied or served directory keeps them. */
  at?: string;
  /** `load` tags images locally: nothing is published. */
  mode?: 'push' | 'load';
}

function logLink(log: string | undefined, at: string | undefined, text = 'log'): string {
  if (!log) return '';
  if (at === undefined) return `<code class="log-path">${esc(log)}</code>`;
  const href = relative(at, log).split(sep).map(encodeURIComponent).join('/');
  return `<a class="log" href="${esc(href)}">${esc(text)}</a>`;
}

/** What a tag's row says in place of a digest it does not have, and what happened to it. */
function tagState(t: ReportTag, mode: 'push' | 'load'): { state: string; what: string } {
  if (t.status === 'ran') return mode === 'load' ? { state: 'local', what: 'tagged locally (--load publishes nothing)' } : { state: 'published', what: 'published by this run' };
  if (t.status === 'skipped') return t.digest ? { state: 'unchanged', what: t.reason ?? 'unchanged' } : { state: 'skipped', what: `${t.reason ?? 'skipped'}; digest not known to this run` };
  const why = failedStatus(t.status) ? `merge ${t.status.replace('-', ' ')}` : t.status.replace('-', ' ');
  return { state: 'not-published', what: `not published: ${why}${t.reason && t.reason !== why ? ` (${t.reason})` : ''}` };
}

/** A page that needs nothing else: inline style, no script, every value escaped. */
export function reportHtml(r: Report, opts: ReportPageOptions = {}): string {
  const mode = opts.mode ?? 'push';
  const lanesUsed = Math.max(0, ...r.tasks.map((t) => (t.lane ?? -1) + 1));
  const drawn = r.tasks.filter((t) => t.lane !== undefined);
  // The axis ends where the last bar does: the wall time is rounded, a task's own start and
  // duration are not, and a bar past the rounded end was clipped.
  const span = Math.max(drawn.length ? Math.max(...drawn.map((t) => (t.startedMs ?? 0) + t.durationMs)) : r.wallMs, 1);
  const pct = (ms: number) => `${((ms / span) * 100).toFixed(4)}%`;
  const ticks = axisTicks(span);
  const grid = ticks.map((k) => `<div class="grid" style="left:${pct(k.ms)}"></div>`).join('');
  const bars = drawn
    .map((t) => {
      const failed = failedStatus(t.status);
      // A task of a few ms is drawn 2px wide so it can be seen; one that ends the run would then
      // reach past the edge and be clipped, so it is drawn ending at the edge instead.
      const title = `${t.id} · ${t.status} · ${secs(t.durationMs)}${t.reason ? ` · ${t.reason}` : ''}${t.cause ? ` · ${t.cause}` : ''}`;
      return `<div class="bar${t.critical ? ' critical' : ''}${failed ? ' failed' : ''}" data-task="${esc(t.id)}" data-status="${esc(t.status)}" data-start-ms="${t.startedMs ?? 0}" data-duration-ms="${t.durationMs}" style="top:${t.lane! * 26}px;left:min(${pct(t.startedMs ?? 0)}, calc(100% - 2px));width:${pct(t.durationMs)};background:${COLOR[t.status] ?? '#555'}" title="${esc(title)}"><span>${failed ? '✕ ' : ''}${esc(t.id)}</span></div>`;
    })
    .join('\n');
  const axis = ticks.map((k) => `<span class="tick" data-ms="${k.ms}" style="left:${pct(k.ms)}">${esc(k.label)}</span>`).join('');

  const o = r.outcome;
  const count = (key: string, n: number, label: string, extra = '') => `<li data-outcome="${key}" data-count="${n}"><b>${n}</b> ${esc(label)}${extra}</li>`;
  const outcomeItems = [
    count('published', o.published, mode === 'load' ? 'tagged locally' : 'published', o.tags ? ` <small>(${o.tags} tag${o.tags === 1 ? '' : 's'})</small>` : ''),
    count('failed', o.failed, 'failed'),
    count('skipped', o.skipped, 'skipped'),
    count('done', o.done, 'other tasks ran'),
    ...(o.blocked ? [count('blocked', o.blocked, 'blocked')] : []),
    ...(o.notStarted ? [count('not-started', o.notStarted, 'not started')] : []),
    ...(o.cancelled ? [count('cancelled', o.cancelled, 'cancelled')] : []),
  ].join('');
  const bad = o.failed + o.blocked + o.notStarted + o.cancelled > 0;
  const headline = o.failed ? `${o.failed} task${o.failed === 1 ? '' : 's'} failed` : bad ? 'the run did not finish' : o.published ? `${o.published} image${o.published === 1 ? '' : 's'} ${mode === 'load' ? 'tagged locally' : 'published'}` : 'everything was up to date';
  const failures = r.tasks
    .filter((t) => failedStatus(t.status))
    .map((t) => `<li data-task="${esc(t.id)}" data-status="${esc(t.status)}"><code>${esc(t.id)}</code> <span class="reason">${esc(t.reason ?? t.status)}</span>${t.cause ? `: <span class="cause">${esc(t.cause)}</span>` : ''} ${logLink(t.log, opts.at)}</li>`)
    .join('\n');

  const byRegistry = new Map<string, ReportTag[]>();
  for (const t of r.tags) (byRegistry.get(t.registry) ?? byRegistry.set(t.registry, []).get(t.registry)!).push(t);
  const tagBodies = [...byRegistry]
    .map(([name, tags]) => {
      const repos = [...new Set(tags.map((t) => t.repository))].join(', ');
      const rows = tags.map((t) => {
        const s = tagState(t, mode);
        const digest = t.digest && s.state !== 'local' ? `<code class="digest">${esc(t.digest)}</code>` : `<span class="no-digest">no digest</span>`;
        return `<tr data-ref="${esc(t.ref)}" data-state="${s.state}" data-task="${esc(t.task)}"><td><code>${esc(t.tag)}</code></td><td>${digest}</td><td>${esc(s.what)}</td></tr>`;
      });
      return `<tbody data-registry="${esc(name)}"><tr class="registry"><th colspan="3">${esc(name)} <small><code>${esc(repos)}</code></small></th></tr>\n${rows.join('\n')}\n</tbody>`;
    })
    .join('\n');

  const rows = r.tasks
    .map((t) => `<tr data-status="${esc(t.status)}"${t.critical ? ' class="critical"' : ''}><td>${esc(t.status)}</td><td><code>${esc(t.id)}</code></td><td>${t.lane === undefined ? '-' : secs(t.durationMs)}</td><td><code>${esc(t.digest?.slice(0, 19) ?? '')}</code></td><td>${esc([t.reason, t.cause].filter(Boolean).join(': '))}</td><td>${logLink(t.log, opts.at)}</td></tr>`)
    .join('\n');
  const counts = Object.entries(r.counts).map(([k, n]) => `${n} ${esc(k)}`).join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.package)} build report</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}code{font:12px monospace}
#outcome{border-left:6px solid #2e7d32;padding:.5em 1em;background:#f1f8e9}#outcome.bad{border-color:#c62828;background:#ffebee}
#outcome h2{margin:.2em 0}.counts{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1.5em;margin:.5em 0}.counts b{font-size:1.6em}
#failures li{margin:.3em 0}.cause{color:#b71c1c;font-family:monospace}
.timeline{position:relative;height:${lanesUsed * 26 + 4}px;border:1px solid #ccc;margin:1em 0 0;overflow:hidden}
.grid{position:absolute;top:0;bottom:0;width:0;border-left:1px dotted #ddd}
.bar{position:absolute;height:22px;min-width:2px;color:#fff;font:11px monospace;white-space:nowrap;overflow:hidden;border-radius:3px;box-sizing:border-box}
.bar span{display:block;padding:3px 4px}.bar.critical{outline:2px solid #000;outline-offset:-2px}.bar.failed{box-shadow:inset 0 0 0 2px #7f0000}
.axis{position:relative;height:1.6em;margin:0 1px 1em;border-top:1px solid #999}
.tick{position:absolute;top:0;transform:translateX(-50%);font-size:11px;color:#555;padding-top:4px;white-space:nowrap}
.tick::before{content:"";position:absolute;left:50%;top:0;height:4px;border-left:1px solid #999}
table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top}tr.critical td{font-weight:bold}
tr.registry th{background:#f5f5f5}#tags td:first-child code{white-space:nowrap}tr[data-state=not-published] td{color:#b71c1c}tr[data-state=skipped] td{color:#666}.no-digest{color:#888;font-style:italic}
</style></head><body>
<h1>${esc(r.package)}${r.version ? ` ${esc(r.version)}` : ''}: build report</h1>
<section id="outcome" class="${bad ? 'bad' : 'ok'}">
<h2>Outcome: ${esc(headline)}</h2>
<ul class="counts" id="counts">${outcomeItems}</ul>
<p id="summary">${counts}; wall time ${secs(r.wallMs)} on ${lanesUsed} worker${lanesUsed === 1 ? '' : 's'}.</p>
${failures ? `<h3>Failures</h3>\n<ol id="failures">\n${failures}\n</ol>` : ''}
</section>
<h2>Public tags</h2>
${r.tags.length ? `<table id="tags"><thead><tr><th>tag</th><th>digest it points at</th><th>this run</th></tr></thead>\n${tagBodies}\n</table>` : '<p id="tags">No public tags in this selection.</p>'}
<h2>Timeline</h2>
<div class="timeline" id="timeline" data-span-ms="${span}">
${grid}
${bars}
</div>
<div class="axis" id="axis">${axis}</div>
<h2>Critical path</h2>
<ol id="critical-path">${r.criticalPath.map((id) => `<li><code>${esc(id)}</code></li>`).join('')}</ol>
<h2>Tasks</h2>
<table id="tasks"><thead><tr><th>status</th><th>task</th><th>time</th><th>digest</th><th>reason</th><th>log</th></tr></thead>
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
  const failures = r.tasks.filter((t) => t.status === 'failed' || t.status === 'timed-out').map((t) => `- \`${t.id}\`: ${md([t.reason, t.cause].filter(Boolean).join(': '))}`);
  // What shipped and what broke first, as the page has it: a step summary is read from the top.
  const o = r.outcome;
  const outcome = [
    `${o.published} image${o.published === 1 ? '' : 's'} published (${o.tags} tag${o.tags === 1 ? '' : 's'})`,
    `${o.failed} failed`,
    `${o.skipped} skipped`,
    ...(o.blocked ? [`${o.blocked} blocked`] : []),
    ...(o.notStarted ? [`${o.notStarted} not started`] : []),
    ...(o.cancelled ? [`${o.cancelled} cancelled`] : []),
  ].join(', ');
  const tags = r.tags.length
    ? ['', '| registry | tag | digest |', '|---|---|---|', ...r.tags.map((t) => `| ${md(t.registry)} | \`${md(t.ref)}\` | ${t.digest && (t.status === 'ran' || t.status === 'skipped') ? `\`${t.digest}\`` : md(tagState(t, 'push').what)} |`)]
    : [];
  return [
    `### ${md(r.package)}${r.version ? ` ${md(r.version)}` : ''}: ${o.failed ? '✖' : '✔'} ${outcome}; wall time ${secs(r.wallMs)}`,
    ...(failures.length ? ['', '**Failed**', ...failures] : []),
    ...tags,
    '',
    ...(ranTasks.length ? gantt : ['Nothing ran: every task was up to date.']),
    '',
  ].join('\n');
}

/** Text inside Markdown (a table cell, a list item): no pipe, backtick or newline can break out of it. */
function md(s: string): string {
  return s.replace(/[|`]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) (m.get(key(x)) ?? m.set(key(x), []).get(key(x))!).push(x);
  return m;
}
