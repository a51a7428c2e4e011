// Every credential this process can see is registered with the redactor here, before any
// program starts: a program may print what it finds in its environment or docker's config
// whether or not manager logs in, so the redactor cannot wait for a login to learn them.
// Called when a command starts (what needs no spec) and when its spec is loaded (what the
// spec's registries name); registering twice changes nothing.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { MIN_SECRET_LENGTH, redactor } from '../core/base/redact.ts';
import type { Spec } from '../core/load/spec.ts';
import { dockerConfigDir, dockerConfigSecrets } from '../registries/docker-config.ts';
import { DRIVERS } from '../registries/index.ts';

const MAX_FILE_BYTES = 64 * 1024;
/** Tokens a CI runner hands every step, which a build may pass on (the GitHub Actions cache). */
const CI_TOKENS = ['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
/** What a `.env` key holding a secret is called, for keys no registry names. */
const SECRET_NAME = /PASSWORD|PASS$|TOKEN|SECRET|JSON_KEY|API_KEY|APIKEY/i;

interface Group {
  users: string[];
  secrets: string[];
}

/** Each registry's variables (the spec's names first, the kind's defaults after), or every kind's defaults. */
function groups(spec?: Spec): Group[] {
  const out: Group[] = Object.values(DRIVERS).map((d) => ({ users: d.defaultCredentials.username ?? [], secrets: [...(d.defaultCredentials.password ?? []), ...(d.defaultCredentials.token ?? [])] }));
  for (const r of Object.values(spec?.registries ?? {})) {
    const d = DRIVERS[r.kind].defaultCredentials;
    out.push({
      users: [r.credentials.usernameEnv, ...(d.username ?? [])].filter((n): n is string => !!n),
      secrets: [r.credentials.passwordEnv, r.credentials.tokenEnv, ...(d.password ?? []), ...(d.token ?? [])].filter((n): n is string => !!n),
    });
  }
  out.push({ users: [], secrets: CI_TOKENS });
  // Build secrets a release takes from the environment: a Dockerfile step may print one.
  const buildSecrets = Object.values(spec?.releases ?? {}).flatMap((r) => r.secrets.flatMap((s) => (s.env ? [s.env] : [])));
  if (buildSecrets.length) out.push({ users: [], secrets: [...new Set(buildSecrets)] });
  return out;
}

function readSmallFile(file: string): string | undefined {
  try {
    const st = statSync(file);
    return st.isFile() && st.size <= MAX_FILE_BYTES ? readFileSync(file, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/** A service account key (JSON) is printed whole, or its fields decoded: both are secrets. */
function keyParts(text: string): string[] {
  try {
    const key = JSON.parse(text) as Record<string, unknown>;
    return ['private_key', 'private_key_id'].map((k) => key[k]).filter((v): v is string => typeof v === 'string');
  } catch {
    return [];
  }
}

export interface SecretSources {
  env: NodeJS.ProcessEnv;
  spec?: Spec;
  /** The spec root, whose `.env` is read when no file is named. */
  root?: string;
  /** `--credentials-file`. */
  envFile?: string;
  /** docker's config directory (default: $DOCKER_CONFIG, else ~/.docker). */
  dockerConfig?: string;
}

/**
 * Every secret value in sight, with where it came from: the credential variables of every
 * registry kind and of the spec's registries (environment first, then `.env`), the files a
 * `*_FILE` variable names, `user:secret` for each user and secret of one registry, other
 * secret-named keys of the `.env`, and every credential in docker's config.json.
 */
export function visibleSecrets(o: SecretSources): { from: string; value: string }[] {
  let dotenv: Record<string, string> = {};
  const file = o.envFile ?? (o.root ? join(o.root, '.env') : undefined);
  const text = file ? readSmallFile(file) : undefined;
  if (text !== undefined) dotenv = parseDotenv(text);
  // Both, when both have one: the environment's is used, the file's is still in sight.
  const values = (name: string) => [Object.hasOwn(o.env, name) ? o.env[name] : undefined, Object.hasOwn(dotenv, name) ? dotenv[name] : undefined].filter((v): v is string => !!v);
  const out: { from: string; value: string }[] = [];
  for (const g of groups(o.spec)) {
    const users = g.users.flatMap(values);
    for (const name of g.secrets) for (const v of values(name)) {
      out.push({ from: name, value: v });
      for (const u of users) out.push({ from: name, value: `${u}:${v}` });
      if (name.endsWith('_FILE')) {
        const content = readSmallFile(v);
        if (content !== undefined) for (const part of [content, ...keyParts(content)]) out.push({ from: `the file ${name} names`, value: part });
      } else for (const part of keyParts(v)) out.push({ from: name, value: part });
    }
  }
  for (const [k, v] of Object.entries(dotenv)) if (SECRET_NAME.test(k) && v) out.push({ from: `${k} in ${file}`, value: v });
  for (const v of dockerConfigSecrets(o.dockerConfig ?? dockerConfigDir(o.env))) out.push({ from: 'docker config.json', value: v });
  return out;
}

const warned = new Set<string>();

/**
 * Registers every visible secret with the redactor. A secret too short to redact without
 * starring out ordinary words is named (never shown) in a warning, once; manager refuses to
 * log in or push a README with one (registries/credentials.ts).
 */
export function registerSecrets(o: SecretSources, warn: (line: string) => void): void {
  for (const s of visibleSecrets(o)) {
    if (redactor.add(s.value) || warned.has(s.from)) continue;
    warned.add(s.from);
    warn(`warning: the secret in ${s.from} is shorter than ${MIN_SECRET_LENGTH} characters, too short to be kept out of output: a program manager runs may print it`);
  }
}
