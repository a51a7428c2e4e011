// Build secrets and SSH mounts as buildx writes them (`id=ID,env=VAR`, `id=ID,src=FILE`,
// `default`, `ID=PATH,…`): one strict parser for the spec's schema, `build --secret/--ssh` and
// `--set RELEASE.secrets=…/ssh=…`, so the three cannot accept different things. Pure: the
// caller decides what an error looks like and where a relative file is resolved.

/** What `RUN --mount=type=secret,id=…` and `--mount=type=ssh,id=…` name. */
export const INPUT_ID = /^[A-Za-z0-9_.-]{1,128}$/;
/** An environment variable a secret may come from. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export type SecretSource = { id: string; env: string } | { id: string; src: string };
export type Parsed<T> = { value: T } | { error: string };

/**
 * One secret: `id=ID,env=VAR` or `id=ID,src=FILE` (buildx's `source=` and `type=env|file` too;
 * `type=env` alone reads the variable named like the id). A value given outright is refused:
 * buildx would carry it in argv and the process list.
 */
export function parseSecret(v: string): Parsed<SecretSource> {
  if (CONTROL.test(v)) return { error: 'control characters' };
  const fields = new Map<string, string>();
  for (const part of v.split(',')) {
    const eq = part.indexOf('=');
    const [k, val] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    if (!['id', 'type', 'env', 'src', 'source'].includes(k)) return { error: `unknown field "${k}" (id, env or src, as buildx takes them; never the value itself)` };
    fields.set(k === 'source' ? 'src' : k, val);
  }
  const id = fields.get('id');
  if (!id || !INPUT_ID.test(id)) return { error: 'needs id=ID (letters, digits, _ . -)' };
  const type = fields.get('type');
  if (type !== undefined && type !== 'env' && type !== 'file') return { error: 'type is env or file' };
  const env = fields.get('env') ?? (type === 'env' && !fields.has('src') ? id : undefined);
  const src = fields.get('src');
  if ((env === undefined) === (src === undefined)) return { error: 'give exactly one of env=VARIABLE or src=FILE (never the value itself)' };
  if (env !== undefined) return ENV_NAME.test(env) ? { value: { id, env } } : { error: `env=${env} is not a variable name` };
  return src ? { value: { id, src: src } } : { error: 'src= names no file' };
}

/** One SSH mount: `default` (the agent), `ID` or `ID=PATH[,PATH…]` (keys or a socket). */
export function parseSsh(v: string): Parsed<{ id: string; paths: string[] }> {
  if (CONTROL.test(v)) return { error: 'control characters' };
  const eq = v.indexOf('=');
  const id = eq < 0 ? v : v.slice(0, eq);
  if (!INPUT_ID.test(id)) return { error: 'needs an id (default, or letters, digits, _ . -), then =PATH for keys or a socket: expected default, or ID=PATH[,PATH]' };
  const paths = eq < 0 ? [] : v.slice(eq + 1).split(',');
  if (paths.some((p) => !p)) return { error: 'an empty path' };
  return { value: { id, paths } };
}

/**
 * A secret input as an error may repeat it: the names (id, env, src, type) as given, anything
 * else as `field=…`, since a value given outright (`value=hunter2`) is exactly what must not be
 * printed back; control characters escaped.
 */
export function shownSecret(v: string): string {
  return v
    .split(',')
    .map((part) => {
      const eq = part.indexOf('=');
      const k = eq < 0 ? part : part.slice(0, eq);
      return ['id', 'type', 'env', 'src', 'source'].includes(k) ? part : `${k}=…`;
    })
    .join(',')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
