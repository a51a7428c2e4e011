// Steady state is one round-trip per registry request: a bearer token is reused for its scope
// until it expires, a push token serves pulls of the same repository, a new scope on a known
// token host gets its token before the request, and concurrent first requests to a host do not
// each collect a 401. Counted on a local server that issues tokens with a chosen lifetime.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseImageRef } from '../../core/base/image-ref.ts';
import { RegistryClient } from '../../registries/distribution.ts';
import { fakeImage, startFakeRegistry, type FakeRegistry } from '../helpers/oci-registry.ts';

const open: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

interface TokenServer {
  host: string;
  log: { path: string; auth?: string }[];
  /** Tokens it stops accepting (revoked early). */
  revoke: (token: string) => void;
}

/** Manifests for any name; a Bearer challenge; tokens that live `expiresIn` seconds (omitted: the spec's default). */
async function tokenServer(expiresIn: number | undefined): Promise<TokenServer> {
  const log: TokenServer['log'] = [];
  const issued = new Set<string>();
  let n = 0;
  let url = '';
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 2 }, layers: [] }));
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    log.push({ path: u.pathname + u.search, auth: req.headers.authorization });
    if (u.pathname === '/token') {
      const token = `t${n++}`;
      issued.add(token);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ token, ...(expiresIn === undefined ? {} : { expires_in: expiresIn }) }));
    }
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ') || !issued.has(auth.slice(7))) {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${url}/token",service="t"`, 'content-type': 'application/json' });
      return res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    }
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  open.push({ close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) });
  return { host: url.slice(7), log, revoke: (t) => issued.delete(t) };
}

function client(): RegistryClient {
  const c = new RegistryClient({ credentials: async () => ({ username: 'u', password: 'p' }), retry: { baseMs: 1, maxMs: 5 } });
  open.push(c);
  return c;
}

const tokens = (s: TokenServer) => s.log.filter((l) => l.path.startsWith('/token')).length;
const challenged = (s: TokenServer) => s.log.filter((l) => !l.path.startsWith('/token') && !l.auth).length;

describe('registry auth, counted', () => {
  it('one token per scope for many lookups, concurrent ones included: one 401, then one round-trip each', async () => {
    const s = await tokenServer(300);
    const c = client();
    await Promise.all(Array.from({ length: 20 }, () => c.manifest(parseImageRef(`${s.host}/acme/app:v1`))));
    for (let i = 0; i < 30; i++) await c.manifest(parseImageRef(`${s.host}/acme/app:v${i}`));
    expect(tokens(s)).toBe(1);
    expect(challenged(s)).toBe(1);
    expect(c.requests).toBe(1 + 1 + 20 + 30);
  });

  it('a new scope on a host known to issue tokens: its token first, no second 401', async () => {
    const s = await tokenServer(300);
    const c = client();
    await c.manifest(parseImageRef(`${s.host}/acme/app:v1`));
    await c.manifest(parseImageRef(`${s.host}/acme/other:v1`));
    await c.manifest(parseImageRef(`${s.host}/acme/other:v2`));
    expect(challenged(s)).toBe(1);
    expect(s.log.filter((l) => l.path.startsWith('/token')).map((l) => new URLSearchParams(l.path.split('?')[1]).get('scope'))).toEqual(['repository:acme/app:pull', 'repository:acme/other:pull']);
  });

  it('a token is used until it expires (expires_in honoured), then renewed before the request', async () => {
    const s = await tokenServer(1);
    const c = client();
    await c.manifest(parseImageRef(`${s.host}/acme/app:v1`));
    await c.manifest(parseImageRef(`${s.host}/acme/app:v1`));
    expect(tokens(s)).toBe(1);
    await new Promise((r) => setTimeout(r, 1000));
    await c.manifest(parseImageRef(`${s.host}/acme/app:v1`));
    expect(tokens(s)).toBe(2);
    expect(challenged(s)).toBe(1);
  });

  it('without expires_in a token lives the spec\'s 60 s', async () => {
    const s = await tokenServer(undefined);
    const c = client();
    for (let i = 0; i < 5; i++) await c.manifest(parseImageRef(`${s.host}/acme/app:v1`));
    expect(tokens(s)).toBe(1);
    expect(c.requests).toBe(1 + 1 + 5);
  });

  it('a token the registry refuses before its time is replaced, not offered again', async () => {
    const s = await tokenServer(300);
    const c = client();
    await c.manifest(parseImageRef(`${s.host}/acme/app:v1`));
    s.revoke('t0');
    expect(await c.manifest(parseImageRef(`${s.host}/acme/app:v1`))).toBeDefined();
    expect(tokens(s)).toBe(2);
    expect(s.log.slice(-3).map((l) => l.auth ?? l.path)).toEqual(['Bearer t0', expect.stringMatching(/^Basic /), 'Bearer t1']);
  });

  it('a push token serves pulls of the same repository', async () => {
    const reg: FakeRegistry = await startFakeRegistry({ auth: 'bearer', user: 'u', password: 'p' });
    open.push(reg);
    const c = client();
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 2 }, layers: [] }));
    await c.putManifest(reg.host, 'acme/app', 'v1', 'application/vnd.oci.image.manifest.v1+json', body);
    expect(await c.manifest(parseImageRef(`${reg.host}/acme/app:v1`))).toBeDefined();
    expect(reg.log.filter((l) => l.path.startsWith('/token')).map((l) => new URLSearchParams(l.path.split('?')[1]).get('scope'))).toEqual(['repository:acme/app:pull,push']);
    expect(reg.log.filter((l) => !l.path.startsWith('/token') && !l.auth)).toHaveLength(1);
  });

  it('Basic: one 401 for the host however many first requests are in flight, then credentials up front', async () => {
    const reg: FakeRegistry = await startFakeRegistry({ auth: 'basic', user: 'u', password: 'p', delayMs: 5 });
    open.push(reg);
    fakeImage(reg, 'a/b', 't');
    fakeImage(reg, 'a/c', 't');
    const c = client();
    await Promise.all(Array.from({ length: 16 }, (_, i) => c.manifest(parseImageRef(`${reg.host}/a/${i % 2 ? 'b' : 'c'}:t`))));
    await c.manifest(parseImageRef(`${reg.host}/a/b:t`));
    expect(reg.log.filter((l) => !l.auth)).toHaveLength(1);
    expect(c.requests).toBe(1 + 16 + 1);
  });
});
