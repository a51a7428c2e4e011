// Every registry request has a deadline, a dead host is learned once, fan-out is bounded, and
// credentials go only where they were configured. Each fault is a real server on loopback
// (or a name under .invalid, which never resolves): slow bodies, silent sockets, redirects to
// other origins that challenge for credentials, a downgrade from HTTPS to plain HTTP.
import { spawnSync } from 'node:child_process';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseImageRef } from '../../core/base/image-ref.ts';
import { MAX_INDEX_ENTRIES, RegistryClient, RegistryError } from '../../registries/distribution.ts';
import { cli } from '../helpers/cli.ts';
import { REPO, tempDir } from '../helpers/spec.ts';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(handler: Handler, host = '127.0.0.1', make: (h: Handler) => Server = (h) => createHttp(h)): Promise<{ host: string; seen: { url: string; auth?: string }[] }> {
  const seen: { url: string; auth?: string }[] = [];
  const sockets = new Set<Socket>();
  const server = make((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization });
    handler(req, res);
  });
  server.on('connection', (s: Socket) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  await new Promise<void>((r) => server.listen(0, host, r));
  closers.push(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  }));
  return { host: `${host}:${(server.address() as AddressInfo).port}`, seen };
}

function client(extra: ConstructorParameters<typeof RegistryClient>[0] = {}, lines: string[] = []): RegistryClient {
  const c = new RegistryClient({ credentials: async () => ({ username: 'u', password: 'pw-of-the-registry' }), retry: { baseMs: 1, maxMs: 5 }, log: (l) => lines.push(l), ...extra });
  closers.push(() => c.close());
  return c;
}

const ref = (host: string, tag = 'v1') => parseImageRef(`${host}/acme/app:${tag}`);
const timed = async <T,>(p: Promise<T>) => {
  const t0 = performance.now();
  const r = await p.then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));
  return { ...r, ms: performance.now() - t0 };
};
const errorOf = (r: { ok: boolean; e?: unknown }) => {
  expect(r.ok).toBe(false);
  expect(r.e).toBeInstanceOf(RegistryError);
  return r.e as RegistryError;
};

describe('deadlines', () => {
  it('a body dripped one byte at a time ends at the deadline, not at the gap between bytes', async () => {
    const s = await serve((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      const t = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(t));
    });
    const c = client({ timeoutMs: 400 });
    const r = await timed(c.manifest(ref(s.host)));
    expect(errorOf(r).message).toMatch(/no complete answer within 400 ms/);
    expect(r.ms).toBeLessThan(2000);
  });

  it('headers that never come end at the deadline too', async () => {
    const s = await serve(() => {});
    const c = client({ timeoutMs: 300 });
    const r = await timed(c.head(ref(s.host)));
    expect(errorOf(r).info.code).toBe('DEADLINE');
    expect(r.ms).toBeLessThan(2000);
  });

  it('a host past its deadline is not asked again: later lookups fail at once with the first cause', async () => {
    const s = await serve(() => {});
    const lines: string[] = [];
    const c = client({ timeoutMs: 300 }, lines);
    await timed(c.manifest(ref(s.host)));
    const later = await timed(Promise.all(Array.from({ length: 50 }, (_, i) => c.manifest(ref(s.host, `t${i}`)))));
    expect(errorOf(later).message).toMatch(/^http:\/\/127\.0\.0\.1:\d+ is unreachable: GET .* no complete answer within 300 ms/);
    expect(later.ms).toBeLessThan(200);
    expect(s.seen).toHaveLength(1);
    // Said once, not once per lookup.
    expect(lines.filter((l) => /is unreachable/.test(l))).toHaveLength(1);
  });
});

describe('a dead host is learned once', () => {
  it('a name that does not resolve: one request, no retries, then every lookup fails at once', async () => {
    const c = client();
    const first = await timed(c.manifest(ref('registry.manager-test.invalid')));
    expect(errorOf(first).message).toMatch(/ENOTFOUND|EAI_AGAIN/);
    const rest = await Promise.all(Array.from({ length: 100 }, (_, i) => timed(c.head(ref('registry.manager-test.invalid', `t${i}`)))));
    expect(new Set(rest.map((r) => errorOf(r).message)).size).toBe(1);
    expect(Math.max(...rest.map((r) => r.ms))).toBeLessThan(500);
    expect(c.requests).toBeLessThanOrEqual(4);
  });

  it('a refused connection is retried, then the host is dead for the rest of the run', async () => {
    const s = await serve(() => {});
    const port = s.host.split(':')[1];
    await closers.pop()!(); // nothing listens there now
    const c = client({ concurrency: 4 });
    const all = await Promise.all(Array.from({ length: 40 }, (_, i) => timed(c.head(ref(`127.0.0.1:${port}`, `t${i}`)))));
    for (const r of all) expect(errorOf(r).message).toMatch(/ECONNREFUSED/);
    // Four in flight at once may each use their tries; the other 36 are refused without a request.
    expect(c.requests).toBeLessThanOrEqual(16);
    expect(c.unreachable().size).toBe(1);
  });

  it('HTTP answers are not a dead host: a 503 is retried and the next lookup asks again', async () => {
    let n = 0;
    const s = await serve((_q, res) => {
      n++;
      res.writeHead(n <= 4 ? 503 : 404).end();
    });
    const c = client();
    errorOf(await timed(c.head(ref(s.host))));
    expect(await c.head(ref(s.host, 'v2'))).toBeUndefined();
    expect(c.unreachable().size).toBe(0);
  });

  it('ci matrix on the bento-server example whose staging host does not resolve fails in seconds, with one cause', () => {
    const t0 = performance.now();
    const r = cli(['ci', 'matrix', join(REPO, 'examples', 'bento-server', 'manifest.yaml'), '--staging-repository', 'registry.manager-test.invalid/bento/staging']);
    const ms = performance.now() - t0;
    expect(r.code, r.stderr).toBe(1);
    expect(ms).toBeLessThan(10_000);
    expect(r.stderr).toMatch(/registry\.manager-test\.invalid/);
    expect(r.stderr).not.toMatch(/retry \d/);
    // One cause, said once: not a line per lookup.
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(4);
    expect(r.stderr).toMatch(/is unreachable: .*ENOTFOUND.* \(\d+ builds, e\.g\. build:/);
    expect(r.stdout).toBe('');
  });
});

describe('fan-out is bounded', () => {
  it(`an index of more than ${MAX_INDEX_ENTRIES} entries is refused before anything follows it`, async () => {
    const manifests = Array.from({ length: MAX_INDEX_ENTRIES + 1 }, (_, i) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${i.toString(16).padStart(64, '0')}`, size: 1, platform: { os: 'linux', architecture: `a${i}` } }));
    const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });
    const s = await serve((_q, res) => res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(body));
    const c = client();
    expect(errorOf(await timed(c.manifest(ref(s.host)))).message).toMatch(new RegExp(`an index of ${MAX_INDEX_ENTRIES + 1} entries, more than the ${MAX_INDEX_ENTRIES}`));
    expect(s.seen).toHaveLength(1);
  });

  it('a client stops at its request budget with a clear error', async () => {
    const s = await serve((_q, res) => res.writeHead(404).end());
    const c = client({ maxRequests: 3 });
    for (let i = 0; i < 3; i++) expect(await c.head(ref(s.host, `t${i}`))).toBeUndefined();
    expect(errorOf(await timed(c.head(ref(s.host, 'more')))).message).toMatch(/more than 3 registry requests in one run/);
    expect(s.seen).toHaveLength(3);
  });
});

describe('credentials go only where they were configured', () => {
  const challenge = (res: ServerResponse, realm: string) => res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="x"` }).end();

  it('a redirect to another origin that asks for credentials gets none, nor does the realm it names', async () => {
    const other = await serve((req, res) => (req.url?.startsWith('/token') ? res.writeHead(200).end('{"token":"t"}') : challenge(res, `http://${otherHost}/token`)));
    const otherHost = other.host;
    const reg = await serve((_q, res) => res.writeHead(307, { location: `http://${other.host}/v2/acme/app/manifests/v1` }).end());
    const c = client();
    const e = errorOf(await timed(c.manifest(ref(reg.host))));
    expect(e.message).toMatch(/credentials for 127\.0\.0\.1:\d+ are not sent to another origin/);
    expect(other.seen.map((x) => x.auth)).toEqual([undefined]);
    expect(other.seen.some((x) => x.url.startsWith('/token'))).toBe(false);
  });

  it('another port on the same host is another origin', async () => {
    const other = await serve((_q, res) => res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end());
    const reg = await serve((q, res) => (q.headers.authorization ? res.writeHead(307, { location: `http://${other.host}/v2/acme/app/manifests/v1` }).end() : res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end()));
    const c = client();
    errorOf(await timed(c.manifest(ref(reg.host))));
    expect(reg.seen.map((x) => x.auth?.split(' ')[0])).toEqual([undefined, 'Basic']);
    expect(other.seen.map((x) => x.auth)).toEqual([undefined]);
  });

  it('the token realm the configured registry itself names does get the credentials, even on another origin', async () => {
    const auth = await serve((_q, res) => res.writeHead(200).end('{"token":"tok-1","expires_in":300}'));
    const reg = await serve((q, res) => (q.headers.authorization === 'Bearer tok-1' ? res.writeHead(404).end() : challenge(res, `http://${auth.host}/token`)));
    expect(await client().head(ref(reg.host))).toBeUndefined();
    expect(auth.seen[0]!.auth).toBe(`Basic ${Buffer.from('u:pw-of-the-registry').toString('base64')}`);
  });

  it('a redirect from HTTPS to plain HTTP is refused: nothing is sent in clear', async () => {
    const dir = tempDir('manager-tls-');
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const plain = await serve((_q, res) => res.writeHead(404).end());
    const tls = await serve(
      (q, res) => (q.headers.authorization ? res.writeHead(302, { location: `http://${plain.host}/v2/acme/app/manifests/v1` }).end() : res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end()),
      '127.0.0.1',
      (h) => createHttps({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, h),
    );
    const before = process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
    process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0'; // the test's own self-signed certificate
    closers.push(() => {
      if (before === undefined) delete process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
      else process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = before;
    });
    const c = client({ plainHttp: () => false });
    const e = errorOf(await timed(c.manifest(ref(tls.host))));
    expect(e.message).toMatch(/redirected to http:\/\/127\.0\.0\.1:\d+: refusing to leave HTTPS/);
    expect(tls.seen.map((x) => x.auth?.split(' ')[0])).toEqual([undefined, 'Basic']);
    expect(plain.seen).toEqual([]);
  });
});
