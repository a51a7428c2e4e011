import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Task } from '../../core/plan/task.ts';
import { Run, type ExecuteOptions } from '../../tasks/run.ts';
import { statePath, STATE_VERSION } from '../../tasks/state.ts';
import * as atomic from '../../tasks/atomic.ts';

const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function run(): { r: Run; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'manager-state-batch-'));
  dirs.push(dir);
  const opts = { packageDir: dir, logDir: join(dir, '.logs'), log: () => {} } as unknown as ExecuteOptions;
  const r = new Run({ plan: {} as never, state: { version: STATE_VERSION, tasks: {} }, stagingRepo: 'localhost/x', platforms: [] }, opts, { finder: {} as never, client: undefined, abort: new AbortController() });
  return { r, dir };
}

const task = (i: number) => ({ id: `render:t${i}`, kind: 'render', hash: { value: `h${i}`, parts: { p: `v${i}` } } }) as unknown as Task;

describe('state file writes', () => {
  it('batch successes: the file is whole JSON after every write and holds every finished task after the final flush', async () => {
    vi.useFakeTimers();
    const { r, dir } = run();
    const writes: string[] = [];
    const real = atomic.writeFileAtomic;
    vi.spyOn(atomic, 'writeFileAtomic').mockImplementation((file, text) => {
      real(file, text);
      // What a reader (or the next run after a crash) would find right now.
      writes.push(readFileSync(statePath(dir), 'utf8'));
    });
    for (let i = 0; i < 100; i++) {
      r.succeed(task(i), 'ran', 5, undefined);
      if (i % 10 === 9) await vi.advanceTimersByTimeAsync(250);
    }
    // Ten batches of ten, not a hundred rewrites.
    expect(writes.length).toBe(10);
    r.succeed(task(100), 'ran', 5, undefined);
    r.flush();
    expect(writes.length).toBe(11);
    for (const w of writes) expect(() => JSON.parse(w)).not.toThrow();
    const final = JSON.parse(readFileSync(statePath(dir), 'utf8')) as { tasks: Record<string, { hash: string }> };
    expect(Object.keys(final.tasks)).toHaveLength(101);
    for (let i = 0; i <= 100; i++) expect(final.tasks[`render:t${i}`]?.hash).toBe(`h${i}`);
    // Nothing changed since: a second flush (and the timer) write nothing.
    r.flush();
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes.length).toBe(11);
  });

  it('a run that recorded nothing does not rewrite the state file', () => {
    const { r, dir } = run();
    r.flush();
    expect(existsSync(statePath(dir))).toBe(false);
  });
});
