// The record of what last succeeded: per task id, the hash (with its parts, for --explain)
// and, for images, the digest. Lives next to the generated tree; written atomically.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StateFile } from '../core/plan/record.ts';
import { redactor } from '../core/base/redact.ts';
import { writeFileAtomic } from './atomic.ts';
import { fsFailure } from './fs-error.ts';

export const STATE_VERSION = 1;

export function statePath(packageDir: string): string {
  return join(packageDir, '.manager', 'state.json');
}

export function readState(packageDir: string): StateFile {
  const p = statePath(packageDir);
  if (!existsSync(p)) return { version: STATE_VERSION, tasks: {} };
  try {
    const parsed = JSON.parse(readFileSync(p, 'utf8')) as StateFile;
    if (parsed.version !== STATE_VERSION || typeof parsed.tasks !== 'object' || parsed.tasks === null) {
      return { version: STATE_VERSION, tasks: {} };
    }
    return parsed;
  } catch {
    // A corrupt record only costs rebuilds; it must never stop work.
    return { version: STATE_VERSION, tasks: {} };
  }
}

export function writeState(packageDir: string, state: StateFile): void {
  try {
    writeFileAtomic(statePath(packageDir), stateText(state));
  } catch (e) {
    throw fsFailure(e, 'write the state file', statePath(packageDir));
  }
}

/** The file's text: tasks sorted, so an unchanged record is byte for byte the same. */
export function stateText(state: StateFile): string {
  const sorted: StateFile = {
    version: STATE_VERSION,
    tasks: Object.fromEntries(Object.keys(state.tasks).sort().map((k) => [k, state.tasks[k]!])),
  };
  // Causes and references come from programs' output: no secret is ever recorded.
  return redactor.redact(JSON.stringify(redactor.redactDeep(sorted), null, 2) + '\n');
}
