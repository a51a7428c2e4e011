// The executor with listr2's test renderer: a real task list, asserting on its events.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadPlan } from '../../core/plan/plan.ts';
import { selectTasks } from '../../core/plan/select.ts';
import { execute, type ExecuteOptions } from '../../tasks/execute.ts';
import { readState } from '../../tasks/state.ts';
import { miniSpec } from '../helpers/spec.ts';

let written: string[] = [];
let onStdout: string[] = [];
beforeEach(() => {
  written = [];
  onStdout = [];
  // Progress is stderr's: stdout stays for the results.
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    onStdout.push(String(chunk));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

/** listr2's test renderer prints one JSON event per line. */
function parseEvents(chunks: string[]): { event: string; data: unknown; title: string }[] {
  return chunks
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{"event"'))
    .map((l) => JSON.parse(l) as { event: string; data: unknown; task: { title: string } })
    .map((e) => ({ event: e.event, data: e.data, title: e.task.title }));
}

function opts(dir: string, selected: Set<string>, extra: Partial<ExecuteOptions> = {}): ExecuteOptions {
  return {
    packageDir: join(dir, 'gen', 'mini'),
    logDir: join(dir, 'gen', 'mini', '.logs'),
    selected,
    mode: 'push',
    maxWorkers: 2,
    dryRun: false,
    force: false,
    keepGoing: false,
    atomic: false,
    registryCheck: true,
    renderer: 'test',
    log: () => {},
    ...extra,
  };
}

describe('execute', () => {
  it('runs render tasks through listr2 and records them; a rerun skips them', async () => {
    const { dir, manifest } = miniSpec();
    const plan = loadPlan(manifest);
    const renders = new Set([...plan.tasks.values()].filter((t) => t.kind === 'render').map((t) => t.id));
    const first = await execute(plan, opts(dir, renders));
    expect(first.ok).toBe(true);
    expect(first.results.map((r) => r.status)).toEqual(['ran', 'ran', 'ran']);
    expect(existsSync(join(dir, 'gen', 'mini', 'deb', 'runtime', 'Dockerfile'))).toBe(true);
    const events = parseEvents(written);
    expect(onStdout.join('')).toBe('');
    for (const id of renders) {
      expect(events).toContainEqual({ event: 'STATE', data: 'STARTED', title: id });
      expect(events).toContainEqual({ event: 'STATE', data: 'COMPLETED', title: expect.stringMatching(new RegExp(`^${id.replace(/[/.]/g, '\\$&')} \\(\\d+\\.\\ds\\)$`)) });
    }
    expect(events).toContainEqual({ event: 'TITLE', data: 'mini: 0 running, 3 done, 0 skipped, 0 failed (of 3)', title: 'mini: 0 running, 3 done, 0 skipped, 0 failed (of 3)' });
    expect(Object.keys(readState(join(dir, 'gen', 'mini')).tasks).sort()).toEqual([...renders].sort());
    written = [];
    const again = await execute(plan, opts(dir, renders));
    expect(again.results.map((r) => [r.status, r.reason])).toEqual([['skipped', 'files unchanged'], ['skipped', 'files unchanged'], ['skipped', 'files unchanged']]);
    expect(parseEvents(written).filter((e) => e.event === 'STATE' && e.data === 'SKIPPED')).toHaveLength(3);
  });

  it('dry-runs a whole plan without Docker, in dependency order, with argv and reasons', async () => {
    const { dir, manifest } = miniSpec();
    const plan = loadPlan(manifest);
    const chunks: string[] = [];
    const s = await execute(plan, opts(dir, selectTasks(plan, { all: true }), { dryRun: true, log: (l) => chunks.push(l) }));
    expect(s.ok).toBe(true);
    // Written in chunks of whole lines, not one write per line: this small plan is one chunk.
    // (The registry client's own line, that docker.io is unreachable, comes on its own.)
    const plan_ = chunks.filter((c) => !/is unreachable \(/.test(c));
    expect(plan_).toHaveLength(1);
    const lines = plan_.join('\n').split('\n');
    expect(lines.length).toBeGreaterThan(10);
    const runs = lines.filter((l) => /^run  /.test(l)).map((l) => l.split(/\s+/)[1]);
    expect(runs.indexOf('build:mini/deb/base/py3.10/arm64v8')).toBeLessThan(runs.indexOf('build:mini/deb/runtime/py3.10/arm64v8'));
    expect(lines.join('\n')).toContain("--build-arg 'BASE_IMAGE=<build:mini/deb/base/py3.10/arm64v8 digest>'");
    expect(lines.join('\n')).toContain('--tag docker.io/acme/mini-staging:build-arm64v8-');
    // docker.io is out of reach here: the dry run says it decided without the registry.
    expect(s.registry).toEqual({ consulted: false, why: expect.stringMatching(/^docker\.io is not reachable .*; decided from the state file alone$/) });
    expect(s.results.filter((x) => x.kind === 'build').every((x) => x.status === 'would-run')).toBe(true);
    expect(existsSync(join(dir, 'gen'))).toBe(false);
  });
});
