// Image references as docker reads them: `[host[:port]/]path[:tag][@digest]`, with Docker
// Hub's short forms (`python:3.9` is docker.io/library/python:3.9). Pure.

export interface ImageRef {
  /** Registry host as written (`docker.io` for Hub), with port if any. */
  host: string;
  /** Repository path inside the registry (`library/python`). */
  repository: string;
  tag?: string;
  digest?: string;
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const PATH_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export class ImageRefError extends Error {}

export function parseImageRef(text: string): ImageRef {
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw new ImageRefError(`"${text}": "${digest}" is not a sha256 digest`);
  }
  // A tag follows the last colon after the last slash; a colon before it is a port.
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw new ImageRefError(`"${text}": "${tag}" is not a valid tag`);
  }
  const first = rest.split('/')[0]!;
  const hasHost = rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  let host = hasHost ? first : 'docker.io';
  let repository = hasHost ? rest.slice(first.length + 1) : rest;
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') host = 'docker.io';
  if (host === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!PATH_RE.test(repository)) throw new ImageRefError(`"${text}": "${repository}" is not a valid repository path (lowercase letters, digits, separators)`);
  if (!tag && !digest) tag = 'latest';
  return { host, repository, tag, digest };
}

/** `host/repository[:tag][@digest]`, always with the host. */
export function formatImageRef(r: ImageRef): string {
  return `${r.host}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** The reference with a digest: what is built is exactly what was resolved (the tag stays for readers). */
export function pinned(ref: string, digest: string): string {
  const at = ref.indexOf('@');
  return `${at >= 0 ? ref.slice(0, at) : ref}@${digest}`;
}

/** Where the registry's API lives: Docker Hub's API host differs from its name. */
export function apiHost(host: string): string {
  return host === 'docker.io' ? 'registry-1.docker.io' : host;
}

/** Loopback registries speak plain HTTP, as the docker daemon allows for them by default. */
export function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(name) || name === '::1';
}

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}
