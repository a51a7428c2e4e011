// The record of what the tool wrote into a generated tree: every path with the sha256 of the
// content written. Only what it names is ever replaced or removed, so a tree can sit in a
// repository beside hand-written files (other platforms' Dockerfiles, a README of its own).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const OWNED_PATH = '.manager/files.json';
const OWNED_VERSION = 1;

export type Owned = Map<string, string>;

export function sha256(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The tree's record; undefined when there is none (a tree from before the record, or none yet). */
export function readOwned(dir: string): Owned | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, OWNED_PATH), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as { version?: unknown; files?: unknown };
    if (parsed.version !== OWNED_VERSION || typeof parsed.files !== 'object' || parsed.files === null) return undefined;
    const out: Owned = new Map();
    for (const [p, h] of Object.entries(parsed.files as Record<string, unknown>)) if (typeof h === 'string') out.set(p, h);
    return out;
  } catch {
    // Unreadable: treated as no record, so nothing is replaced on its word.
    return undefined;
  }
}

export function ownedText(owned: Owned): string {
  const files = Object.fromEntries([...owned.keys()].sort().map((p) => [p, owned.get(p)!]));
  return JSON.stringify({ version: OWNED_VERSION, files }, null, 2) + '\n';
}
