// One small taxonomy, mapped to exit codes in one place (the CLI's top-level catch).
import type { Diagnostic } from './diagnostics.ts';

/** Bad invocation: unknown flag, unknown package, impossible selection. Exit 2. */
export class UsageError extends Error {
  readonly exitCode: number = 2;
  override name = 'UsageError';
}

/** The spec (or a template) is wrong; carries every diagnostic found, not just the first. Exit 2. */
export class SpecError extends Error {
  readonly exitCode = 2;
  override name = 'SpecError';
  constructor(readonly diagnostics: Diagnostic[]) {
    super(`${diagnostics.filter((d) => d.severity === 'error').length} error(s) in spec`);
  }
}

/** Work was attempted and failed (a build, a push, a login). Exit 1. */
export class WorkError extends Error {
  readonly exitCode = 1;
  override name = 'WorkError';
  constructor(message: string, readonly details?: string) {
    super(message);
  }
}

/** A bug in this tool. Exit 70 (EX_SOFTWARE) so it is never mistaken for a spec problem. */
export class InternalError extends Error {
  readonly exitCode = 70;
  override name = 'InternalError';
}

/**
 * How a command ended that has already said everything itself (a run's summary, a report):
 * a failed run, an `outdated` that found moves, a run a signal stopped.
 */
export type Outcome = 'failed' | 'outdated' | 'SIGINT' | 'SIGTERM';

/** Every exit code the CLI has, in one table (docs/cli.md lists it). */
export const EXIT_CODES = { ok: 0, failed: 1, usage: 2, spec: 2, outdated: 3, internal: 70, SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Thrown by a command after it printed its result, when that result is not a success: the
 * top-level catch turns the outcome into the exit code and prints nothing more.
 */
export class Ended extends Error {
  override name = 'Ended';
  constructor(readonly outcome: Outcome) {
    super(`ended: ${outcome}`);
  }
  get exitCode(): number {
    return EXIT_CODES[this.outcome];
  }
}

/** The outcome of a run that a signal may have stopped. */
export function runOutcome(s: { ok: boolean; interrupted?: NodeJS.Signals }): Outcome | undefined {
  if (s.interrupted) return s.interrupted === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
  return s.ok ? undefined : 'failed';
}

export function exitCodeOf(err: unknown): number {
  if (err && typeof err === 'object' && 'exitCode' in err && typeof err.exitCode === 'number') {
    return err.exitCode;
  }
  return 70;
}
