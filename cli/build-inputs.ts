// `build --secret`, `--ssh` and `--allow`, as buildx takes them: parsed strictly here (a secret
// comes from a variable or a file, never a value on the command line), each variable's value
// registered with the redactor before any build can print it.
import { resolve } from 'node:path';
import { UsageError } from '../core/base/errors.ts';
import { redactor } from '../core/base/redact.ts';
import { parseSecret, parseSsh, shownSecret } from '../core/load/build-inputs.ts';
import { ENTITLEMENTS } from '../core/load/spec.ts';

/**
 * `id=ID,env=VAR`, `id=ID,src=FILE` (buildx's `source=` and `type=env|file` too) → the buildx
 * value, with a file made absolute (core/load/build-inputs.ts parses it).
 */
export function parseSecretFlag(v: string, cwd = process.cwd()): string {
  const p = parseSecret(v);
  if ('error' in p) throw new UsageError(`--secret ${shownSecret(v)}: ${p.error}`);
  if ('env' in p.value) {
    const value = process.env[p.value.env];
    if (value) redactor.add(value);
    return `id=${p.value.id},env=${p.value.env}`;
  }
  return `id=${p.value.id},src=${resolve(cwd, p.value.src)}`;
}

/** `default`, `default=SOCKET`, `ID=PATH[,PATH…]` → the buildx value, paths made absolute. */
export function parseSshFlag(v: string, cwd = process.cwd()): string {
  const p = parseSsh(v);
  if ('error' in p) throw new UsageError(`--ssh ${JSON.stringify(v).slice(1, -1)}: ${p.error}`);
  const { id, paths } = p.value;
  return paths.length ? `${id}=${paths.map((x) => resolve(cwd, x)).join(',')}` : id;
}

/** `--allow network.host[,security.insecure]` → the entitlements granted. */
export function parseAllowFlag(v: string): string[] {
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!(ENTITLEMENTS as readonly string[]).includes(n)) throw new UsageError(`--allow ${n}: not an entitlement (${ENTITLEMENTS.join(', ')})`);
  return names;
}
