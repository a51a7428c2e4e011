// One interface for every registry kind; adding a registry is one file implementing it.
import type { Registry } from '../core/load/spec.ts';

export type Env = Record<string, string | undefined>;

export interface LoginPlan {
  host: string;
  username: string;
  /** Goes to `docker login --password-stdin`; never into argv or logs. */
  password: string;
  /** Variables the credentials came from, for messages. */
  from: string[];
}

/** Needed to fetch a password with a program first (ECR). */
export interface PasswordCommand {
  argv: string[];
  username: string;
  host: string;
  why: string;
}

export interface ReadmeRequest {
  registry: Registry;
  /** namespace/repository */
  repository: string;
  content: string;
  env: Env;
  /** API base URL (tests point this at a local server). */
  api: string;
  log: (line: string) => void;
  /** Aborted on Ctrl-C: the request stops rather than runs on. */
  signal?: AbortSignal;
}

export interface RegistryDriver {
  kind: Registry['kind'];
  /**
   * The credential variables this kind reads, in order, after the spec's own names: the one
   * table authenticate, `.env` loading, the generated workflow and the docs all use.
   */
  defaultCredentials: { username?: string[]; password?: string[]; token?: string[] };
  /** Login credentials from the environment, or a clear error naming what is missing. */
  login(registry: Registry, env: Env): LoginPlan | PasswordCommand;
  /** Default API base for README pushes, if the registry has a description API. */
  readmeApi?: (registry: Registry) => string;
  pushReadme?: (req: ReadmeRequest) => Promise<void>;
  /** docker-pushrm's provider name, when it supports this registry. */
  pushrmProvider?: string;
}
