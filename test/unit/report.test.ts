// The build report, from results: lanes as the workers ran, the critical path, escaped HTML, a Gantt.
import { describe, expect, it } from 'vitest';
import { buildReport, reportHtml, reportMarkdown } from '../../core/views/report.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import type { TaskResult } from '../../tasks/run.ts';
import { miniSpec } from '../helpers/spec.ts';

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
