// The record of what the tool wrote into a generated tree: the package it belongs to, every
// path with the sha256 of the content written, and the mode of each file not written 0644.
// Only what it names is ever replaced or removed, so a tree can sit in a repository beside
// hand-written files (other platforms' Dockerfiles, a README of its own).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const OWNED_PATH = '.manager/files.json';
const OWNED_VERSION = 1;

/** Path → what was written there. */
export type Owned = Map<string, OwnedFile>;

export interface OwnedFile {
  sha256: string;
  /** Permission bits; absent means 0644. */
  mode?: number;
}

/** What generate writes at one path: text or bytes, and the mode (absent: 0644). */
export interface FileBody {
  content: string | Buffer;
  mode?: number;
}

export const DEFAULT_MODE = 0o644;

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The record of one body, the mode left out when it is the default (a tree without modes keeps its record text). */
export function ownedFile(body: FileBody): OwnedFile {
  return body.mode === undefined || body.mode === DEFAULT_MODE ? { sha256: sha256(body.content) } : { sha256: sha256(body.content), mode: body.mode };
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
    const parsed = JSON.parse(text) as { version?: unknown; files?: unknown; modes?: unknown };
    if (parsed.version !== OWNED_VERSION || typeof parsed.files !== 'object' || parsed.files === null) return undefined;
    const modes = typeof parsed.modes === 'object' && parsed.modes !== null ? (parsed.modes as Record<string, unknown>) : {};
    const out: Owned = new Map();
    for (const [p, h] of Object.entries(parsed.files as Record<string, unknown>)) {
      if (typeof h !== 'string') continue;
      const m = Object.hasOwn(modes, p) ? modes[p] : undefined;
      out.set(p, typeof m === 'string' && /^0?[0-7]{3}$/.test(m) ? { sha256: h, mode: parseInt(m, 8) } : { sha256: h });
    }
    return out;
  } catch {
    // Unreadable: treated as no record, so nothing is replaced on its word.
    return undefined;
  }
}

/**
 * The package whose files the record names; undefined for a record that names none (written
 * before records named their package, always into the package's own `<root>/<package>/`).
 */
export function ownedPackage(dir: string): string | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, OWNED_PATH), 'utf8')) as { package?: unknown };
    return typeof parsed.package === 'string' ? parsed.package : undefined;
  } catch {
    return undefined;
  }
}

export function ownedText(owned: Owned, pkg?: string): string {
  const paths = [...owned.keys()].sort();
  const files = Object.fromEntries(paths.map((p) => [p, owned.get(p)!.sha256]));
  // Beside `files`, so a record without modes reads (and is written) as before.
  const moded = paths.filter((p) => owned.get(p)!.mode !== undefined && owned.get(p)!.mode !== DEFAULT_MODE);
  const modes = Object.fromEntries(moded.map((p) => [p, owned.get(p)!.mode!.toString(8).padStart(4, '0')]));
  // The package first: a directory another package's spec moves into is refused by its name.
  const head = pkg === undefined ? { version: OWNED_VERSION } : { version: OWNED_VERSION, package: pkg };
  return JSON.stringify(moded.length ? { ...head, files, modes } : { ...head, files }, null, 2) + '\n';
}
