// The build report, from results: lanes as the workers ran, the critical path, escaped HTML, a Gantt.
import { describe, expect, it } from 'vitest';
import { axisTicks, buildReport, reportHtml, reportMarkdown } from '../../core/views/report.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import type { TaskResult } from '../../tasks/run.ts';
import { MINI_SPEC, miniSpec } from '../helpers/spec.ts';

const plan = loadPlan(miniSpec().manifest);
const id = (p: string) => plan.order.find((x) => x === p)!;
const row = (tid: string, status: TaskResult['status'], startedMs: number | undefined, durationMs: number, extra: Partial<TaskResult> = {}): TaskResult => ({ id: id(tid), kind: plan.tasks.get(id(tid))!.kind, status, durationMs, hash: plan.tasks.get(id(tid))!.hash.value, ...(startedMs !== undefined ? { startedMs } : {}), ...extra });

const results: TaskResult[] = [
  row('build:mini/deb/base/py3.10/amd64', 'built', 0, 1000),
  row('build:mini/deb/base/py3.11/amd64', 'built', 10, 300),
  row('build:mini/deb/runtime/py3.10/amd64', 'failed', 1000, 500, { reason: 'exited 1', cause: 'ERROR: <script>alert(1)</script>' }),
  row('build:mini/deb/runtime/py3.11/amd64', 'built', 320, 200),
  row('build:mini/deb/base/py3.10/arm64v8', 'skipped', 0, 0, { reason: 'unchanged' }),
  row('manifest:mini/deb/runtime/py3.10', 'blocked', undefined, 0),
];

describe('build report', () => {
  const r = buildReport(plan, results);
  it('puts each task that ran in the first free worker lane; skips and blocks get none', () => {
    const lane = (p: string) => r.tasks.find((t) => t.id === p)!.lane;
    expect(lane('build:mini/deb/base/py3.10/amd64')).toBe(0);
    expect(lane('build:mini/deb/base/py3.11/amd64')).toBe(1);
    expect(lane('build:mini/deb/runtime/py3.11/amd64')).toBe(1);
    expect(lane('build:mini/deb/runtime/py3.10/amd64')).toBe(0);
    expect(lane('build:mini/deb/base/py3.10/arm64v8')).toBeUndefined();
    expect(r.wallMs).toBe(1500);
  });
  it('the critical path is the chain with the most work', () => {
    expect(r.criticalPath).toEqual(['build:mini/deb/base/py3.10/amd64', 'build:mini/deb/runtime/py3.10/amd64']);
  });
  it('HTML: one bar per task that ran, every value escaped, nothing fetched', () => {
    const html = reportHtml(r);
    expect(html.match(/class="bar/g)).toHaveLength(4);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;');
    expect(html).not.toMatch(/src=|href=/);
  });
  it('Markdown: a Mermaid Gantt of what ran, the failure marked and listed', () => {
    const md = reportMarkdown(r);
    expect(md).toMatch(/```mermaid\ngantt\n/);
    expect(md).toMatch(/build mini\/deb\/runtime\/py3\.10\/amd64 :crit, 1000, 500ms/);
    expect(md).toMatch(/\*\*Failed\*\*\n- `build:mini\/deb\/runtime\/py3\.10\/amd64`: exited 1: ERROR/);
    expect(reportMarkdown(buildReport(plan, [row('build:mini/deb/base/py3.10/arm64v8', 'skipped', 0, 0)]))).toMatch(/Nothing ran/);
  });
});

describe('build report: outcome, failures, public tags, time axis', () => {
  // Two registries; two tags on each base image.
  const hostile = miniSpec({
    'manifest.yaml': MINI_SPEC.replace('tags: ["base-python{python}-{distro}"]', 'tags: ["base-python{python}-{distro}", "py{python}-{distro}"]').replace('registries:\n', 'registries:\n  gh:\n    kind: ghcr\n    namespace: acme\n'),
  });
  const p = loadPlan(hostile.manifest);
  const pid = (s: string) => p.order.find((x) => x === s)!;
  const at = '/srv/out/pkg/.manager';
  const res = (tid: string, status: TaskResult['status'], startedMs: number | undefined, durationMs: number, extra: Partial<TaskResult> = {}): TaskResult => ({ id: pid(tid), kind: p.tasks.get(pid(tid))!.kind, status, durationMs, hash: p.tasks.get(pid(tid))!.hash.value, ...(startedMs !== undefined ? { startedMs } : {}), ...extra });
  const D1 = `sha256:${'1'.repeat(64)}`;
  const D2 = `sha256:${'2'.repeat(64)}`;
  const results: TaskResult[] = [
    res('build:mini/deb/base/py3.10/amd64', 'built', 0, 1000, { digest: D1 }),
    res('build:mini/deb/base/py3.10/arm64v8', 'built', 0, 1200, { digest: D1 }),
    res('manifest:mini/deb/base/py3.10', 'ran', 1200, 300.4, { digest: D1, log: '/srv/out/pkg/.logs/manifest_mini.log' }),
    res('manifest:mini/deb/base/py3.11', 'skipped', 0, 0, { reason: 'unchanged since the last run', digest: D2 }),
    res('build:mini/deb/runtime/py3.10/amd64', 'failed', 1200, 2000.6, { reason: 'exited 1', cause: 'ERROR: <img src=x onerror=alert(1)> "quoted" & more', log: '/srv/out/pkg/.logs/build "odd" name#1.log' }),
    res('build:mini/deb/runtime/py3.10/arm64v8', 'timed-out', 1500, 1700.2, { reason: 'timed out after 2s' }),
    res('manifest:mini/deb/runtime/py3.10', 'blocked', undefined, 0, { reason: 'dependency build:mini/deb/runtime/py3.10/amd64 failed' }),
    res('manifest:mini/deb/runtime/py3.11', 'not-started', undefined, 0, { reason: 'not started' }),
  ];
  const r = buildReport(p, results);
  const html = reportHtml(r, { at });
  /** A tag row's state and cells, as the page has them. */
  const tagRow = (page: string, ref: string) => {
    const line = page.split('\n').find((l) => l.startsWith(`<tr data-ref="${ref}"`))!;
    return [/data-state="([^"]*)"/.exec(line)![1], ...[...line.matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1])];
  };
  const attr = (s: string, name: string) => [...s.matchAll(new RegExp(`${name}="([^"]*)"`, 'g'))].map((m) => m[1]!);

  it('counts every task in one outcome: published merges, other work, failures, skips, blocked and not started', () => {
    expect(r.outcome).toEqual({ published: 1, tags: 4, done: 2, failed: 2, skipped: 1, blocked: 1, notStarted: 1, cancelled: 0 });
    expect(html).toMatch(/<li data-outcome="published" data-count="1"><b>1<\/b> published <small>\(4 tags\)<\/small><\/li>/);
    expect(html).toMatch(/data-outcome="failed" data-count="2"/);
    expect(html).toMatch(/data-outcome="skipped" data-count="1"/);
    expect(html).toMatch(/data-outcome="blocked" data-count="1"/);
    expect(html).toMatch(/data-outcome="not-started" data-count="1"/);
    expect(html).not.toMatch(/data-outcome="cancelled"/);
    expect(html).toMatch(/<section id="outcome" class="bad">\n<h2>Outcome: 2 tasks failed<\/h2>/);
    // The outcome comes before everything else on the page.
    expect(html.indexOf('id="outcome"')).toBeLessThan(html.indexOf('id="tags"'));
    expect(html.indexOf('id="tags"')).toBeLessThan(html.indexOf('id="timeline"'));
  });

  it('a run with nothing wrong says what it published, and blocked / not started only when there are any', () => {
    const ok = buildReport(p, results.filter((x) => x.status === 'built' || x.status === 'ran' || x.status === 'skipped'));
    const page = reportHtml(ok, { at });
    expect(page).toMatch(/<section id="outcome" class="ok">\n<h2>Outcome: 1 image published<\/h2>/);
    expect(page).not.toMatch(/data-outcome="(blocked|not-started)"|id="failures"/);
    expect(reportHtml(buildReport(p, [res('manifest:mini/deb/base/py3.11', 'skipped', 0, 0, { digest: D2 })]))).toMatch(/Outcome: everything was up to date/);
    expect(reportHtml(ok, { at, mode: 'load' })).toMatch(/Outcome: 1 image tagged locally/);
  });

  it('lists every failure with its reason, its cause escaped, and its log relative to the page', () => {
    const list = html.slice(html.indexOf('<ol id="failures">'), html.indexOf('</ol>', html.indexOf('<ol id="failures">')));
    expect(attr(list, 'data-task')).toEqual(['build:mini/deb/runtime/py3.10/amd64', 'build:mini/deb/runtime/py3.10/arm64v8']);
    expect(list).toContain('<span class="reason">exited 1</span>: <span class="cause">ERROR: &#60;img src=x onerror=alert(1)&#62; &#34;quoted&#34; &#38; more</span>');
    expect(attr(list, 'href')).toEqual(['../.logs/build%20%22odd%22%20name%231.log']);
    expect(list).toContain('timed out after 2s');
    // Without the page's directory there is nothing to be relative to: the path, not a link.
    expect(reportHtml(r)).toContain('<code class="log-path">/srv/out/pkg/.logs/build &#34;odd&#34; name#1.log</code>');
    expect(reportHtml(r)).not.toMatch(/<a /);
  });

  it('tags table: per registry, each tag with the digest it points at, or why it has none', () => {
    const refs = r.tags.map((t) => `${t.registry} ${t.tag} ${t.status} ${t.digest ?? '-'}`);
    expect(refs).toEqual([
      `gh 1.2.3-python3.10-d-runtime blocked -`,
      `gh 1.2.3-python3.11-d-runtime not-started -`,
      `gh base-python3.10-deb ran ${D1}`,
      `gh base-python3.11-deb skipped ${D2}`,
      `gh py3.10-deb ran ${D1}`,
      `gh py3.11-deb skipped ${D2}`,
      `hub 1.2.3-python3.10-d-runtime blocked -`,
      `hub 1.2.3-python3.11-d-runtime not-started -`,
      `hub base-python3.10-deb ran ${D1}`,
      `hub base-python3.11-deb skipped ${D2}`,
      `hub py3.10-deb ran ${D1}`,
      `hub py3.11-deb skipped ${D2}`,
    ]);
    expect(r.tags.find((t) => t.registry === 'gh')!.repository).toBe('ghcr.io/acme/mini');
    const table = html.slice(html.indexOf('<table id="tags">'), html.indexOf('</table>', html.indexOf('<table id="tags">')));
    expect(attr(table, 'data-registry')).toEqual(['gh', 'hub']);
    expect(tagRow(table, 'docker.io/acme/mini:base-python3.10-deb')).toEqual(['published', '<code>base-python3.10-deb</code>', `<code class="digest">${D1}</code>`, 'published by this run']);
    expect(tagRow(table, 'ghcr.io/acme/mini:py3.11-deb')).toEqual(['unchanged', '<code>py3.11-deb</code>', `<code class="digest">${D2}</code>`, 'unchanged since the last run']);
    expect(tagRow(table, 'docker.io/acme/mini:1.2.3-python3.10-d-runtime')).toEqual(['not-published', '<code>1.2.3-python3.10-d-runtime</code>', '<span class="no-digest">no digest</span>', 'not published: blocked (dependency build:mini/deb/runtime/py3.10/amd64 failed)']);
    expect(tagRow(table, 'docker.io/acme/mini:1.2.3-python3.11-d-runtime')).toEqual(['not-published', '<code>1.2.3-python3.11-d-runtime</code>', '<span class="no-digest">no digest</span>', 'not published: not started']);
  });

  it('a merge that failed, or a skip that does not know the digest, shows none; --load tags publish nothing', () => {
    const few = buildReport(p, [
      res('manifest:mini/deb/base/py3.10', 'failed', 0, 10, { reason: 'exited 1; put back: docker.io/acme/mini:base-python3.10-deb', digest: D1 }),
      res('manifest:mini/deb/base/py3.11', 'skipped', 0, 0, { reason: 'unchanged: every tag already points at these images' }),
    ]);
    expect(few.tags.filter((t) => t.digest)).toEqual([]);
    const page = reportHtml(few, { at });
    expect(page.match(/data-state="not-published"/g)).toHaveLength(4);
    expect(page).toContain('not published: merge failed (exited 1; put back: docker.io/acme/mini:base-python3.10-deb)');
    expect(page).toContain('unchanged: every tag already points at these images; digest not known to this run');
    expect(page).not.toContain(`class="digest"`);
    const load = reportHtml(buildReport(p, [res('manifest:mini/deb/base/py3.10', 'ran', 0, 10, { reason: 'tagged the linux/amd64 image locally' })]), { at, mode: 'load' });
    expect(tagRow(load, 'docker.io/acme/mini:py3.10-deb')).toEqual(['local', '<code>py3.10-deb</code>', '<span class="no-digest">no digest</span>', 'tagged locally (--load publishes nothing)']);
    expect(load).toMatch(/data-outcome="published" data-count="1"><b>1<\/b> tagged locally/);
  });

  it('time axis: round steps, labelled in seconds, then minutes; every bar within it, failed ones included', () => {
    expect(axisTicks(4455).map((t) => t.label)).toEqual(['0s', '1s', '2s', '3s', '4s']);
    expect(axisTicks(900).map((t) => t.ms)).toEqual([0, 200, 400, 600, 800]);
    expect(axisTicks(45_000).map((t) => t.label)).toEqual(['0s', '10s', '20s', '30s', '40s']);
    expect(axisTicks(150_000).map((t) => t.label)).toEqual(['0 min', '0.5 min', '1 min', '1.5 min', '2 min', '2.5 min']);
    expect(axisTicks(3_000_000).map((t) => t.label)).toEqual(['0 min', '10 min', '20 min', '30 min', '40 min', '50 min']);
    expect(axisTicks(0).map((t) => t.label)).toEqual(['0s']);
    for (const span of [1, 999, 61_000, 7_300_000, 90_000_000]) expect(axisTicks(span).length, String(span)).toBeLessThanOrEqual(9);
    expect(html).toMatch(/<div class="axis" id="axis"><span class="tick" data-ms="0" style="left:0\.0000%">0s<\/span><span class="tick" data-ms="500" style="left:15\.6221%">0\.5s<\/span>/);

    // The wall time is rounded; a bar's own start and duration are not: the span holds them all.
    const span = Number(/data-span-ms="([\d.]+)"/.exec(html)![1]);
    expect(span).toBeCloseTo(3200.6, 5);
    for (const bar of html.split('\n').filter((l) => l.startsWith('<div class="bar'))) {
      const left = Number(/left:min\(([\d.]+)%/.exec(bar)![1]);
      const width = Number(/width:([\d.]+)%/.exec(bar)![1]);
      const ms = Number(/data-duration-ms="([\d.]+)"/.exec(bar)![1]);
      expect(width, bar).toBeCloseTo((ms / span) * 100, 3);
      expect(left + width, bar).toBeLessThanOrEqual(100.0001);
    }
    const failed = html.split('\n').find((l) => l.includes('data-task="build:mini/deb/runtime/py3.10/amd64"') && l.startsWith('<div class="bar'))!;
    expect(failed).toMatch(/^<div class="bar critical failed" .*width:62\.5070%/);
  });

  it('a failure of a few ms at the end of the run is drawn, inside the timeline', () => {
    const page = reportHtml(buildReport(p, [
      res('build:mini/deb/base/py3.10/amd64', 'built', 0, 10_000),
      res('manifest:mini/deb/base/py3.10', 'failed', 10_000, 5, { reason: 'exited 1' }),
    ]));
    const bar = page.split('\n').find((l) => l.startsWith('<div class="bar') && l.includes('data-status="failed"'))!;
    expect(bar).toContain('left:min(99.9500%, calc(100% - 2px));width:0.0500%');
    expect(page).toContain('.bar{position:absolute;height:22px;min-width:2px;');
  });

  it('escapes what specs and registries name: tags, registries, repositories, task ids, reasons', () => {
    const evil = '"><script>alert(1)</script><b x=\'';
    const page = reportHtml({
      ...r,
      package: evil,
      tags: r.tags.map((t) => ({ ...t, registry: `${t.registry}${evil}`, repository: evil, tag: evil, ref: evil, task: evil, reason: evil, ...(t.digest ? { digest: evil } : {}) })),
      tasks: r.tasks.map((t) => ({ ...t, id: `${t.id}${evil}`, reason: evil, cause: evil, ...(t.log ? { log: `${at}/${evil}` } : {}) })),
      criticalPath: r.criticalPath.map((x) => `${x}${evil}`),
    }, { at });
    expect(page).not.toMatch(/<script|<b x/);
    expect(page).toContain('&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;&#60;b x=&#39;');
    for (const href of attr(page, 'href')) expect(href).toBe('%22%3E%3Cscript%3Ealert(1)%3C/script%3E%3Cb%20x%3D&#39;');
  });

  it('self-contained, whatever the names: no script, no stylesheet, image or font fetched', () => {
    // Every element and attribute of the page, read the way a browser tokenises them.
    const tags = [...html.matchAll(/<([a-z][a-z0-9]*)((?:\s+[a-z-]+="[^"]*")*)\s*>/g)];
    expect(new Set(tags.map((m) => m[1]))).toEqual(new Set(['html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'h2', 'h3', 'section', 'ul', 'li', 'b', 'small', 'p', 'ol', 'code', 'span', 'a', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'div']));
    const attrs = new Set(tags.flatMap((m) => [...m[2]!.matchAll(/([a-z-]+)="/g)].map((a) => a[1]!.replace(/^data-.*/, 'data-*'))));
    expect(attrs).toEqual(new Set(['lang', 'charset', 'id', 'class', 'data-*', 'style', 'title', 'href', 'colspan']));
    // Nothing else looks like a tag: every other < is escaped text.
    expect(html.replace(/<\/?[a-z][a-z0-9]*(?:\s+[a-z-]+="[^"]*")*\s*>|<!doctype html>/g, '')).not.toContain('<');
    expect(html).not.toMatch(/url\(|@import/i);
    expect(html.match(/<a /g)).toHaveLength(3); // the failure's log, and its row and the merge's row in the task table
    for (const href of attr(html, 'href')) expect(href).toMatch(/^\.\.\/\.logs\/[^:]+$/);
  });
});

describe('the step summary (report.md)', () => {
  it('opens with the outcome, lists each failure, then every public tag with its digest or why it has none, then the Gantt', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const m = plan.order.find((x) => x === 'manifest:mini/deb/base/py3.10')!;
    const results2: TaskResult[] = [
      ...results,
      { id: m, kind: 'manifest', status: 'ran', durationMs: 10, startedMs: 1500, hash: plan.tasks.get(m)!.hash.value, digest },
      row('build:mini/deb/runtime/py3.11/arm64v8', 'failed', 1510, 5, { reason: 'exited 2 | pipe', cause: 'line one\nline two' }),
    ];
    const md = reportMarkdown(buildReport(plan, results2));
    const lines = md.split('\n');
    expect(lines[0]).toMatch(/^### mini 1\.2\.3: ✖ 1 image published \(1 tag\), 2 failed, 1 skipped, 1 blocked; wall time /);
    const failed = lines.indexOf('**Failed**');
    const table = lines.indexOf('| registry | tag | digest |');
    const gantt = lines.indexOf('```mermaid');
    expect(failed).toBeGreaterThan(0);
    expect(table).toBeGreaterThan(failed);
    expect(gantt).toBeGreaterThan(table);
    // A pipe or newline in a reason cannot break the list or the table.
    expect(md).toContain('- `build:mini/deb/runtime/py3.11/arm64v8`: exited 2 \\| pipe: line one line two');
    expect(md).toContain(`| hub | \`docker.io/acme/mini:base-python3.10-deb\` | \`${digest}\` |`);
    expect(md).toMatch(/\| hub \| `docker\.io\/acme\/mini:1\.2\.3-python3\.10-d-runtime` \| not published: blocked \|/);
  });
});
