// How a run shows its progress, as buildx's --progress does: never on stdout (stdout is for
// results: the table, or one JSON document), so `manager build --json | jq` always parses.
import type { Renderer, TaskResult } from './result.ts';
import type { Task } from '../plan/task.ts';

/** `rawjson` is bake's and buildx's name for the JSON stream: the same as `json` here. */
export const PROGRESS_MODES = ['auto', 'plain', 'tty', 'json', 'rawjson', 'quiet'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

export interface Terminal {
  /** Whether stderr (where progress goes) is a terminal. */
  isTTY: boolean;
  /** Under CI a terminal is still a log file: no redrawing. */
  ci: boolean;
}

export interface ProgressChoice {
  renderer: Renderer;
  /** One JSON event per line on stderr. */
  events: boolean;
}

/** Whether the progress stream is JSON lines only: then every message on stderr is an event too. */
export function jsonStream(mode: ProgressMode | undefined): boolean {
  return mode === 'json' || mode === 'rawjson';
}

/** A message (not a task's event) as a line of the JSON stream. */
export function messageEvent(level: 'info' | 'debug' | 'error', text: string, now: Date): string {
  return JSON.stringify({ event: 'message', time: now.toISOString(), level, text });
}

/** The width to draw at: a terminal that reports 0 or no columns (some CI terminals, `script`) is 80 wide. */
export function terminalColumns(reported: number | undefined): number {
  return reported && reported > 0 ? reported : 80;
}

/** Pure: what `--progress` (and `--quiet`) mean on this terminal. */
export function progressChoice(mode: ProgressMode, term: Terminal, quiet = false): ProgressChoice {
  if (mode === 'json' || mode === 'rawjson') return { renderer: 'silent', events: true };
  if (mode === 'quiet' || quiet) return { renderer: 'silent', events: false };
  if (mode === 'tty') return { renderer: 'default', events: false };
  if (mode === 'plain') return { renderer: 'simple', events: false };
  return { renderer: term.isTTY && !term.ci ? 'default' : 'simple', events: false };
}

export type ProgressEvent =
  | { event: 'started'; time: string; id: string; kind: Task['kind']; hash: string }
  | { event: 'finished'; time: string; id: string; kind: Task['kind']; hash: string; status: TaskResult['status']; durationMs: number; reason?: string; cause?: string; digest?: string; ref?: string; attempts?: number };

/** Pure: the event line for a task that started. */
export function startedEvent(t: Pick<Task, 'id' | 'kind' | 'hash'>, now: Date): ProgressEvent {
  return { event: 'started', time: now.toISOString(), id: t.id, kind: t.kind, hash: t.hash.value };
}

/** Pure: the event line for a task's result (skips included: status says which). */
export function finishedEvent(r: TaskResult, now: Date): ProgressEvent {
  return {
    event: 'finished', time: now.toISOString(), id: r.id, kind: r.kind, hash: r.hash, status: r.status,
    durationMs: Math.round(r.durationMs),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    ...(r.cause !== undefined ? { cause: r.cause } : {}),
    ...(r.digest !== undefined ? { digest: r.digest } : {}),
    ...(r.ref !== undefined ? { ref: r.ref } : {}),
    ...(r.attempts ? { attempts: r.attempts.length } : {}),
  };
}
