import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './spec.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI entry in a child process, as a user would. */
export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): CliResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'orchestrate.ts'), ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, CI: 'true', ...opts.env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
