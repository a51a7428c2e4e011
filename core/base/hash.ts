// Content hashes the way nx keeps them: a value plus the part each input contributed, so a
// changed hash can always say which input changed. Deterministic: sorted keys, no clocks.
import * as crypto from 'node:crypto';

export interface Hash {
  value: string;
  /** Input name → hash of that input alone. */
  parts: Record<string, string>;
  /** Input name → what it was, readably, where that is short (a base image digest, a commit). */
  details?: Record<string, string>;
}

// The one-shot digest (Node 20.12 and later) costs half what a Hash object does; a plan of 50k
// tasks computes over 100k digests.
const oneShot = typeof crypto.hash === 'function' ? crypto.hash : undefined;

export function sha256(data: string | Buffer): string {
  return oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
}

/**
 * JSON with object keys sorted at every level, so equal data always hashes equal. Keys whose
 * value is undefined are left out; undefined stands as null at the top and in arrays. Built by
 * appending to one string: a render's context is hashed whole, and intermediate arrays of
 * parts were most of the cost.
 */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  return stringifyObject(value);
}

function stringifyObject(value: object): string {
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i) out += ',';
      // As map and join wrote it: nothing for a hole, nor for what JSON cannot say (a function).
      if (!(i in value)) continue;
      const x = stableStringify(value[i]);
      if (x !== undefined) out += x;
    }
    return out + ']';
  }
  const keys = Object.keys(value).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += `${JSON.stringify(k)}:${stableStringify(v)}`;
  }
  return out + '}';
}

export function hashValue(value: unknown): string {
  return sha256(stableStringify(value));
}

export function combine(parts: Record<string, string>, details?: Record<string, string>): Hash {
  const sorted = Object.keys(parts).sort();
  let text = '';
  const inOrder: Record<string, string> = {};
  for (let i = 0; i < sorted.length; i++) {
    const k = sorted[i]!;
    const v = parts[k]!;
    text += i ? `\n${k}=${v}` : `${k}=${v}`;
    // Defined, not assigned, as Object.fromEntries did: a part named __proto__ stays a part.
    if (k === '__proto__') Object.defineProperty(inOrder, k, { value: v, enumerable: true, writable: true, configurable: true });
    else inOrder[k] = v;
  }
  const h: Hash = { value: sha256(text), parts: inOrder };
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
