import { pathToFileURL } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, tempDir } from './spec.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A CLI run with what it cost: peak memory and time, measured inside the child. */
export interface MeasuredResult extends CliResult {
  maxRssMB: number;
  wallMs: number;
}

export function measuredCli(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): MeasuredResult {
  const file = join(tempDir('manager-measure-'), 'm.json');
  const r = spawnSync(process.execPath, ['--import', join(REPO, 'test', 'helpers', 'measure.mjs'), '--import', 'tsx', join(REPO, 'orchestrate.ts'), ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, CI: 'true', MANAGER_TEST_MEASURE: file, ...opts.env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const m = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { maxRssMB: number; wallMs: number }) : { maxRssMB: NaN, wallMs: NaN };
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ...m };
}

/** Runs the real CLI entry in a child process, as a user would. */
const TSX = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): CliResult {
  // tsx by path: the working directory may be a temp tree with no node_modules.
  const r = spawnSync(process.execPath, ['--import', TSX, join(REPO, 'orchestrate.ts'), ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, CI: 'true', ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    // Node's 1 MiB default would kill the process mid-document: bento-server's graph JSON is over it.
    maxBuffer: 256 << 20,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The CLI without blocking this process: for tests whose local servers (a registry web API
 * stand-in) must answer the CLI while it runs.
 */
export function cliAsync(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolveResult, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, join(REPO, 'orchestrate.ts'), ...args], {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, CI: 'true', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveResult({ code: code ?? -1, stdout, stderr });
    });
  });
}
