// The "run path at scale" benchmark's setup: a generated tree and a state file that records
// every task of the plan as done, as a finished run leaves them, so a rerun is a pure no-op
// whose time is all orchestration (planning, decisions, progress, state, output).
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { loadPlan } from '../core/plan/plan.ts';
import { record, type StateFile } from '../core/plan/record.ts';
import { stagingRepository } from '../core/plan/staging.ts';
import { STATE_VERSION, writeState } from '../tasks/state.ts';

/** Records every task of the split plan (the one a run plans without a builder) as done. */
export function seedDoneState(manifest: string, generatedRoot: string): { tasks: number; packageDir: string } {
  const plan = loadPlan(manifest, {}, { multiPlatform: 'split' });
  const packageDir = join(generatedRoot, plan.spec.package);
  const repo = stagingRepository(plan) ?? 'localhost/synth';
  const state: StateFile = { version: STATE_VERSION, tasks: {} };
  let n = 0;
  for (const t of plan.tasks.values()) {
    const digest = `sha256:${(n++).toString(16).padStart(64, '0')}`;
    const image = t.kind === 'build' || t.kind === 'manifest' ? { digest, ...(t.kind === 'build' ? { ref: `${repo}@${digest}` } : {}) } : {};
    state.tasks[t.id] = record(t.hash, { ...image, finishedAt: '2026-01-01T00:00:00.000Z', durationMs: 1000 });
  }
  writeState(packageDir, state);
  return { tasks: plan.tasks.size, packageDir };
}

/**
 * A registry on loopback that answers the API's version check and counts every request: a
 * no-op decided from the state file must send it none.
 */
export async function countingRegistry(): Promise<{ host: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    res.writeHead(req.url === '/v2/' ? 200 : 404, { 'docker-distribution-api-version': 'registry/2.0', 'content-type': 'application/json' });
    res.end('{}');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    requests: () => requests,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
