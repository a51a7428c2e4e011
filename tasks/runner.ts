// The one place a program is started. Callers hand over an argv array (built by a pure
// function and tested as data); secrets only ever travel on stdin.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { $ } from 'zx';
import { redactor } from '../core/base/redact.ts';

export interface RunOptions {
  /** Written to the program's stdin (passwords go here, never into argv). */
  input?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Each chunk of combined output, already redacted. */
  onOutput?: (chunk: string) => void;
  /**
   * The program's answer is itself a secret (a credential helper, `aws ecr get-login-password`):
   * its stdout and stderr come back as printed. Otherwise they come back redacted, so no
   * message built from them can carry a secret.
   */
  raw?: boolean;
}

export interface RunResult {
  argv: readonly string[];
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
}

type Running = { kill: (signal?: NodeJS.Signals) => Promise<void> | void };
const running = new Set<Running>();

/** Stops every program still running (interrupts, fatal errors). */
export async function killAll(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  await Promise.all([...running].map(async (p) => {
    try {
      await p.kill(signal);
    } catch {
      // already gone
    }
  }));
}

export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0) throw new Error('run: empty argv');
  const started = performance.now();
  let timedOut = false;
  const env = { ...process.env, ...opts.env } as NodeJS.ProcessEnv;
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v === undefined) delete env[k];
  // zx quotes every array element; nothing is ever interpolated into a shell string by hand.
  const p = $({
    quiet: true,
    nothrow: true,
    verbose: false,
    input: opts.input,
    env,
    cwd: opts.cwd,
    signal: opts.signal,
    timeout: opts.timeoutMs,
    timeoutSignal: 'SIGTERM',
  })`exec ${[...argv]}`;
  const handle: Running = { kill: (s) => p.kill(s) };
  running.add(handle);
  const timer = opts.timeoutMs ? setTimeout(() => (timedOut = true), opts.timeoutMs - 5) : undefined;
  if (opts.onOutput) {
    const cb = opts.onOutput;
    // Per stream: a secret or a UTF-8 character split across two chunks is still whole when redacted.
    for (const stream of [p.stdout, p.stderr]) {
      const text = new StringDecoder('utf8');
      const safe = redactor.stream();
      stream.on('data', (d: Buffer) => {
        const out = safe.push(text.write(d));
        if (out) cb(out);
      });
      stream.on('end', () => {
        const out = safe.push(text.end()) + safe.end();
        if (out) cb(out);
      });
    }
  }
  try {
    const out = await p;
    const safe = (t: string) => (opts.raw ? t : redactor.redact(t));
    return {
      argv,
      exitCode: out.exitCode,
      signal: out.signal,
      stdout: safe(out.stdout),
      stderr: safe(out.stderr),
      timedOut: timedOut && out.exitCode !== 0,
      aborted: Boolean(opts.signal?.aborted),
      durationMs: performance.now() - started,
    };
  } catch (e) {
    // zx rejects on abort even with nothrow.
    return {
      argv,
      exitCode: null,
      signal: 'SIGTERM',
      stdout: '',
      stderr: redactor.redact(e instanceof Error ? e.message : String(e)),
      timedOut,
      aborted: Boolean(opts.signal?.aborted),
      durationMs: performance.now() - started,
    };
  } finally {
    if (timer) clearTimeout(timer);
    running.delete(handle);
  }
}

/** A short, redacted description of a failed run for error messages. */
export function describeFailure(r: RunResult): string {
  const why = r.timedOut ? 'timed out' : r.aborted ? 'was cancelled' : r.exitCode === null ? `was killed (${r.signal})` : `exited ${r.exitCode}`;
  const tail = (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n');
  return redactor.redact(`${r.argv.slice(0, 3).join(' ')} ${why}${tail ? `:\n${tail}` : ''}`);
}

/** Whether a program is on PATH (looked up on disk, without a shell). */
export function onPath(program: string, path = process.env['PATH'] ?? ''): boolean {
  return path.split(delimiter).filter(Boolean).some((dir) => {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
