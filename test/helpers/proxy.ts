// Starts the fault-injecting registry proxy (fault-proxy-server.mjs) in its own process.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './spec.ts';

export interface FaultRule {
  method: string;
  /** Regular expression source matched against the request path. */
  path: string;
  /** HTTP status to answer with; 0 never answers (a hung registry). */
  status: number;
  /** Fail this many times per distinct path (omit: always). */
  times?: number;
}

export interface FaultProxy {
  host: string;
  /** Every request seen: injected faults with their status, the rest as 'forwarded'. */
  injected(): { method: string; path: string; status: number | 'forwarded' }[];
  close(): Promise<void>;
}

export async function startFaultProxy(upstream: string, rules: FaultRule[], port = 0): Promise<FaultProxy> {
  const log = join(tempDir('manager-proxy-'), 'faults.jsonl');
  writeFileSync(log, '');
  const script = join(fileURLToPath(new URL('.', import.meta.url)), 'fault-proxy-server.mjs');
  const child = spawn(process.execPath, [script, upstream, JSON.stringify(rules), log, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const host = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`fault proxy exited ${code}`)));
  });
  return {
    host,
    injected: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []),
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
