// What the last successful run of each task left behind: its hash (with parts and their
// readable details, for "why did this rebuild?") and, for images, the digest. The state file
// holds these; tasks/state.ts reads and writes it.
import type { Hash } from '../base/hash.ts';

export interface TaskRecord {
  hash: string;
  parts: Record<string, string>;
  /** Readable values of some parts (a base image's digest, a git commit), for explanations. */
  details?: Record<string, string>;
  /** Image digest (per-platform build) or manifest-list digest. */
  digest?: string;
  /** Reference children build FROM (tag@digest). */
  ref?: string;
  finishedAt?: string;
  /** How long the task took, for longest-path priorities on the next run. */
  durationMs?: number;
}

export interface StateFile {
  version: number;
  tasks: Record<string, TaskRecord>;
}

export function record(hash: Hash, extra: Partial<TaskRecord> = {}): TaskRecord {
  return { hash: hash.value, parts: hash.parts, ...(hash.details && Object.keys(hash.details).length ? { details: hash.details } : {}), ...extra };
}
