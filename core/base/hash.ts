// Content hashes the way nx keeps them: a value plus the part each input contributed, so a
// changed hash can always say which input changed. Deterministic: sorted keys, no clocks.
import { createHash } from 'node:crypto';

export interface Hash {
  value: string;
  /** Input name → hash of that input alone. */
  parts: Record<string, string>;
  /** Input name → what it was, readably, where that is short (a base image digest, a commit). */
  details?: Record<string, string>;
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** JSON with object keys sorted at every level, so equal data always hashes equal. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const keys = Object.keys(value as object).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function hashValue(value: unknown): string {
  return sha256(stableStringify(value));
}

export function combine(parts: Record<string, string>, details?: Record<string, string>): Hash {
  const sorted = Object.keys(parts).sort();
  const value = sha256(sorted.map((k) => `${k}=${parts[k]}`).join('\n'));
  const h: Hash = { value, parts: Object.fromEntries(sorted.map((k) => [k, parts[k]!])) };
  if (details && Object.keys(details).length) h.details = details;
  return h;
}

export function short(hash: string): string {
  return hash.slice(0, 12);
}

export interface PartChange {
  part: string;
  change: 'added' | 'removed' | 'changed';
  before?: string;
  after?: string;
}

export function diffParts(before: Record<string, string>, after: Record<string, string>): PartChange[] {
  const out: PartChange[] = [];
  for (const k of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    if (!(k in before)) out.push({ part: k, change: 'added', after: after[k] });
    else if (!(k in after)) out.push({ part: k, change: 'removed', before: before[k] });
    else if (before[k] !== after[k]) out.push({ part: k, change: 'changed', before: before[k], after: after[k] });
  }
  return out;
}
