// Exit codes live in one table (core/base/errors.ts) and are set in one place (the CLI's top-level
// catch): commands return, or throw a typed error, and never set process.exitCode themselves.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ended, EXIT_CODES, exitCodeOf, InternalError, runOutcome, SpecError, UsageError, WorkError } from '../../core/base/errors.ts';
import { REPO } from '../helpers/spec.ts';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('exit codes', () => {
  it('every error and outcome maps to the one table', () => {
    expect(exitCodeOf(new UsageError('x'))).toBe(EXIT_CODES.usage);
    expect(exitCodeOf(new SpecError([]))).toBe(EXIT_CODES.spec);
    expect(exitCodeOf(new WorkError('x'))).toBe(EXIT_CODES.failed);
    expect(exitCodeOf(new InternalError('x'))).toBe(EXIT_CODES.internal);
    expect(exitCodeOf(new Error('x'))).toBe(EXIT_CODES.internal);
    expect(exitCodeOf(new Ended('outdated'))).toBe(3);
    expect(exitCodeOf(new Ended('SIGINT'))).toBe(130);
    expect(exitCodeOf(new Ended('SIGTERM'))).toBe(143);
    expect(exitCodeOf(new Ended('failed'))).toBe(1);
  });

  it('a run\'s outcome: a signal wins over failure; success has none', () => {
    expect(runOutcome({ ok: true })).toBeUndefined();
    expect(runOutcome({ ok: false })).toBe('failed');
    expect(runOutcome({ ok: false, interrupted: 'SIGTERM' })).toBe('SIGTERM');
    expect(runOutcome({ ok: false, interrupted: 'SIGINT' })).toBe('SIGINT');
    expect(runOutcome({ ok: true, interrupted: 'SIGHUP' })).toBe('SIGINT');
  });

  it('no module but the entry point sets process.exitCode or calls process.exit with a number of its own', () => {
    const offenders = ['cli', 'core', 'tasks', 'registries'].flatMap((d) => sources(join(REPO, d)))
      .filter((f) => /process\.exitCode\s*=|process\.exit\((?!EXIT_CODES\.)/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(REPO, f));
    expect(offenders).toEqual([]);
  });

  it('docs/cli.md lists every code of the table', () => {
    const doc = readFileSync(join(REPO, 'docs', 'cli.md'), 'utf8');
    const table = doc.slice(doc.indexOf('## Exit codes'), doc.indexOf('## Selecting images'));
    for (const code of new Set(Object.values(EXIT_CODES))) expect(table).toMatch(new RegExp(`^\\| [^|]*\\b${code}\\b`, 'm'));
  });
});
