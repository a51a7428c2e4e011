// `build --secret`, `--ssh` and `--allow`, as buildx takes them: parsed strictly here (a secret
// comes from a variable or a file, never a value on the command line), each variable's value
// registered with the redactor before any build can print it.
import { resolve } from 'node:path';
import { UsageError } from '../core/base/errors.ts';
import { redactor } from '../core/base/redact.ts';
import { ENTITLEMENTS } from '../core/load/spec.ts';

const ID = /^[A-Za-z0-9_.-]{1,128}$/;
const ENV = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * `id=ID,env=VAR`, `id=ID,src=FILE` (buildx's `source=` and `type=env|file` too) → the buildx
 * value, with a file made absolute. A value given outright is refused: buildx would put it in
 * argv and the process list.
 */
export function parseSecretFlag(v: string, cwd = process.cwd()): string {
  if (CONTROL.test(v)) throw new UsageError(`--secret ${JSON.stringify(v)}: control characters`);
  const fields = new Map<string, string>();
  for (const part of v.split(',')) {
    const eq = part.indexOf('=');
    const [k, val] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    if (!['id', 'type', 'env', 'src', 'source'].includes(k)) throw new UsageError(`--secret ${v}: unknown field "${k}" (id, env or src, as buildx takes them)`);
    fields.set(k === 'source' ? 'src' : k, val);
  }
  const id = fields.get('id');
  if (!id || !ID.test(id)) throw new UsageError(`--secret ${v}: needs id=ID (letters, digits, _ . -)`);
  const type = fields.get('type');
  if (type !== undefined && type !== 'env' && type !== 'file') throw new UsageError(`--secret ${v}: type is env or file`);
  const env = fields.get('env') ?? (type === 'env' && !fields.has('src') ? id : undefined);
  const src = fields.get('src');
  if ((env === undefined) === (src === undefined)) throw new UsageError(`--secret ${v}: give exactly one of env=VARIABLE or src=FILE`);
  if (env !== undefined) {
    if (!ENV.test(env)) throw new UsageError(`--secret ${v}: env=${env} is not a variable name`);
    const value = process.env[env];
    if (value) redactor.add(value);
    return `id=${id},env=${env}`;
  }
  if (!src) throw new UsageError(`--secret ${v}: src= names no file`);
  return `id=${id},src=${resolve(cwd, src)}`;
}

/** `default`, `default=SOCKET`, `ID=PATH[,PATH…]` → the buildx value, paths made absolute. */
export function parseSshFlag(v: string, cwd = process.cwd()): string {
  if (CONTROL.test(v)) throw new UsageError(`--ssh ${JSON.stringify(v)}: control characters`);
  const eq = v.indexOf('=');
  const id = eq < 0 ? v : v.slice(0, eq);
  if (!ID.test(id)) throw new UsageError(`--ssh ${v}: needs an id (default, or letters, digits, _ . -), then =PATH for keys or a socket`);
  if (eq < 0) return id;
  const paths = v.slice(eq + 1).split(',');
  if (paths.some((p) => !p)) throw new UsageError(`--ssh ${v}: an empty path`);
  return `${id}=${paths.map((p) => resolve(cwd, p)).join(',')}`;
}

/** `--allow network.host[,security.insecure]` → the entitlements granted. */
export function parseAllowFlag(v: string): string[] {
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!(ENTITLEMENTS as readonly string[]).includes(n)) throw new UsageError(`--allow ${n}: not an entitlement (${ENTITLEMENTS.join(', ')})`);
  return names;
}
