// The credentials `docker login` left behind: the user's docker config.json, its `auths`,
// `credHelpers` and `credsStore`. Read-only; a credential helper is run by the caller's
// function (argv through the one runner), so this module starts no program itself.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { redactor } from '../core/base/redact.ts';

export interface Credential {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken`), exchanged at the token endpoint. */
  identityToken?: string;
}

/** Runs `docker-credential-<helper> get` with the server on stdin; undefined when it has none. */
export type HelperRunner = (helper: string, server: string) => Promise<{ Username?: string; Secret?: string } | undefined>;

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

const MAX_CONFIG_BYTES = 1 << 20;
const HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['DOCKER_CONFIG'] ?? join(homedir(), '.docker');
}

function readConfig(dir: string): ConfigFile {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) return {};
  try {
    if (statSync(file).size > MAX_CONFIG_BYTES) return {};
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as ConfigFile) : {};
  } catch {
    return {};
  }
}

/**
 * Every secret the config file holds, for every host (a program may print any of them):
 * passwords, identity and registry tokens, and `user:password` as `auth` stores it. What
 * credential helpers hold is learnt when a helper is asked, before its answer is used.
 */
export function dockerConfigSecrets(dir = dockerConfigDir()): string[] {
  const out: string[] = [];
  for (const a of Object.values(readConfig(dir).auths ?? {})) {
    if (!a || typeof a !== 'object') continue;
    for (const v of [a.password, a.identitytoken, a.registrytoken]) if (typeof v === 'string' && v) out.push(v);
    if (typeof a.username === 'string' && typeof a.password === 'string' && a.password) out.push(`${a.username}:${a.password}`);
    if (typeof a.auth === 'string' && a.auth) {
      const decoded = Buffer.from(a.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i >= 0 && i < decoded.length - 1) out.push(decoded.slice(i + 1), decoded);
    }
  }
  return out;
}

/** The keys docker itself would use for a host, in order. */
function keysFor(host: string): string[] {
  if (host === 'docker.io') return HUB_KEYS;
  return [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `https://${host}/v2/`];
}

/** Credentials for one registry host, found the way the docker CLI finds them. */
export class DockerCredentials {
  private readonly config: ConfigFile;
  private readonly cache = new Map<string, Promise<Credential | undefined>>();

  constructor(private readonly runHelper?: HelperRunner, dir = dockerConfigDir()) {
    this.config = readConfig(dir);
  }

  get(host: string): Promise<Credential | undefined> {
    let p = this.cache.get(host);
    if (!p) {
      p = this.lookup(host);
      this.cache.set(host, p);
    }
    return p;
  }

  private async lookup(host: string): Promise<Credential | undefined> {
    const keys = keysFor(host);
    const helpers = this.config.credHelpers ?? {};
    const helper = keys.map((k) => (Object.hasOwn(helpers, k) ? helpers[k] : undefined)).find(Boolean) ?? this.config.credsStore;
    if (helper && this.runHelper && /^[A-Za-z0-9_.-]+$/.test(helper)) {
      const got = await this.runHelper(helper, host === 'docker.io' ? HUB_KEYS[0]! : host).catch(() => undefined);
      if (got?.Secret) {
        redactor.add(got.Secret);
        if (got.Username) redactor.add(`${got.Username}:${got.Secret}`);
        return got.Username === '<token>' ? { identityToken: got.Secret } : { username: got.Username, password: got.Secret };
      }
    }
    const auths = this.config.auths ?? {};
    for (const k of keys) {
      if (!Object.hasOwn(auths, k)) continue;
      const a = auths[k]!;
      if (a.identitytoken) {
        redactor.add(a.identitytoken);
        return { identityToken: a.identitytoken };
      }
      if (a.auth) {
        const decoded = Buffer.from(a.auth, 'base64').toString('utf8');
        const i = decoded.indexOf(':');
        if (i > 0) {
          const password = decoded.slice(i + 1);
          redactor.add(password);
          return { username: decoded.slice(0, i), password };
        }
      }
      if (a.username && a.password) {
        redactor.add(a.password);
        return { username: a.username, password: a.password };
      }
    }
    return undefined;
  }
}
