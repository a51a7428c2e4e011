// Names from a spec are data, never members of Object.prototype: a release called `constructor`
// or a registry called `toString` must look up nothing. Maps built from spec data have no
// prototype, and lookups in other objects check own properties. Pure.

/** An empty map with no prototype: `m.constructor` is undefined, `'toString' in m` is false. */
export function dict<T>(entries?: Iterable<readonly [string, T]>): Record<string, T> {
  const d = Object.create(null) as Record<string, T>;
  if (entries) for (const [k, v] of entries) d[k] = v;
  return d;
}

/** The own property `k` of `o`, or undefined (never one inherited from Object.prototype). */
export function own<T>(o: Record<string, T> | undefined | null, k: string): T | undefined {
  return o && Object.hasOwn(o, k) ? o[k] : undefined;
}

/** A deep copy with every plain object turned into a prototype-less map (arrays stay arrays). */
export function withoutPrototypes<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutPrototypes) as T;
  if (value && typeof value === 'object') {
    const d = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of Object.entries(value)) d[k] = withoutPrototypes(v);
    return d as T;
  }
  return value;
}
