// One small taxonomy, mapped to exit codes in one place (the CLI's top-level catch).
import type { Diagnostic } from './diagnostics.ts';

/** Bad invocation: unknown flag, unknown package, impossible selection. Exit 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
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

export function exitCodeOf(err: unknown): number {
  if (err && typeof err === 'object' && 'exitCode' in err && typeof err.exitCode === 'number') {
    return err.exitCode;
  }
  return 70;
}
