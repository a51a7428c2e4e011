// A small in-memory registry speaking the OCI distribution API, for the unit tests of the
// registry client: the bearer-token flow as Docker Hub runs it (a token service on another
// origin), Basic auth, Retry-After, blob redirects to another host, paginated tags, blob mounts
// (or a registry declining them), blobs cut off half-way, refused manifest PUTs. The real
// CNCF registry covers the rest in the end-to-end tier; this covers what it cannot show.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRegistry {
  url: string;
  host: string;
  /** Every request, as received. */
  log: { method: string; path: string; auth?: string }[];
  /** The most requests the server had in hand at once. */
  peak: () => number;
  /** Answers these many requests with 503 (Retry-After: 1) before serving normally. */
  failNext: (n: number, status?: number) => void;
  putManifest: (repo: string, ref: string, body: string, mediaType: string) => string;
  putBlob: (repo: string, body: string) => string;
  /** Serves other bytes under a digest (a corrupt or lying registry). */
  corrupt: (repo: string, digest: string, body: string) => void;
  /** The next n blob GETs send half the bytes, then drop the connection. */
  cutBlobs: (n: number) => void;
  /** PUTs of manifests under this tag (or digest) are answered with this status. */
  refuseManifest: (ref: string, status: number) => void;
  /** What the registry holds: a blob in a repository, the digest a tag points at. */
  hasBlob: (repo: string, digest: string) => boolean;
  tagged: (repo: string, tag: string) => string | undefined;
  manifestAt: (repo: string, digest: string) => { body: string; mediaType: string } | undefined;
  close: () => Promise<void>;
}

export interface FakeOptions {
  /** basic: Basic challenge; bearer: Bearer challenge with a token service at /token; none: open. */
  auth: 'basic' | 'bearer' | 'none';
  user?: string;
  password?: string;
  /** Blob GETs redirect here (another origin), as registries backed by object stores do. */
  blobRedirect?: string;
  tagsPageSize?: number;
  /** DELETE answers 405, as Docker Hub's registry does. */
  noDelete?: boolean;
  /** Holds every answer this long, so concurrent requests overlap. */
  delayMs?: number;
  /** Blob mounts answered 202 (an upload session instead), as registries that do not mount do. */
  noMount?: boolean;
  /** Blob GETs send 1 MiB at a time, this long apart: a slow but steady source. */
  dripMs?: number;
  /** A manifest PUT naming blobs or manifests the repository lacks is refused (400), as the distribution registry does. */
  checkReferences?: boolean;
}

const sha = (s: string | Buffer) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startFakeRegistry(o: FakeOptions): Promise<FakeRegistry> {
  const manifests = new Map<string, { body: string; mediaType: string }>(); // repo@digest
  const tags = new Map<string, Map<string, string>>(); // repo → tag → digest
  const blobs = new Map<string, string>(); // repo@digest → content
  const log: FakeRegistry['log'] = [];
  let failing = 0;
  let failStatus = 503;
  let url = '';
  const tokens = new Set<string>();
  let cutting = 0;
  const refused = new Map<string, number>();

  const basicOk = (h?: string) => h === `Basic ${Buffer.from(`${o.user}:${o.password}`).toString('base64')}`;
  const send = (res: ServerResponse, status: number, headers: Record<string, string> = {}, content = '') => {
    res.writeHead(status, { 'content-length': String(Buffer.byteLength(content)), ...headers });
    res.end(content);
  };
  const err = (res: ServerResponse, status: number, code: string, headers: Record<string, string> = {}) =>
    send(res, status, { 'content-type': 'application/json', ...headers }, JSON.stringify({ errors: [{ code, message: code.toLowerCase().replace(/_/g, ' ') }] }));

  let inFlight = 0;
  let peak = 0;
  const server = createServer(async (req, res) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    res.on('close', () => inFlight--);
    if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
    const u = new URL(req.url!, 'http://x');
    const auth = req.headers.authorization;
    log.push({ method: req.method!, path: u.pathname + u.search, auth });
    // A client that gives up on an upload half-way (its source cut off) leaves nothing to answer.
    const payload = await body(req).catch(() => undefined);
    if (!payload) return;
    if (u.pathname === '/token') {
      if (o.user && auth && !basicOk(auth)) return err(res, 401, 'UNAUTHORIZED');
      const token = `tok-${u.searchParams.get('scope') ?? ''}-${tokens.size}`;
      tokens.add(token);
      return send(res, 200, { 'content-type': 'application/json' }, JSON.stringify({ token, expires_in: 300 }));
    }
    if (failing > 0) {
      failing--;
      return err(res, failStatus, failStatus === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', { 'retry-after': '1' });
    }
    if (o.auth === 'basic' && !basicOk(auth)) return err(res, 401, 'UNAUTHORIZED', { 'www-authenticate': 'Basic realm="fake"' });
    if (o.auth === 'bearer' && !(auth?.startsWith('Bearer ') && tokens.has(auth.slice(7)))) {
      const m = /^\/v2\/(.+)\/(manifests|blobs|tags)\//.exec(u.pathname);
      const scope = m ? `,scope="repository:${m[1]}:${req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'pull,push'}"` : '';
      return err(res, 401, 'UNAUTHORIZED', { 'www-authenticate': `Bearer realm="${url}/token",service="fake"${scope}` });
    }
    if (u.pathname === '/v2/') return send(res, 200);
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(u.pathname);
    const t = /^\/v2\/(.+)\/tags\/list$/.exec(u.pathname);
    if (t) {
      const all = [...(tags.get(t[1]!)?.keys() ?? [])].sort();
      if (!tags.has(t[1]!)) return err(res, 404, 'NAME_UNKNOWN');
      const n = Math.min(Number(u.searchParams.get('n') ?? 1000), o.tagsPageSize ?? 1000);
      const last = u.searchParams.get('last');
      const start = last ? all.indexOf(last) + 1 : 0;
      const page = all.slice(start, start + n);
      const more = start + n < all.length;
      return send(res, 200, { 'content-type': 'application/json', ...(more ? { link: `</v2/${t[1]}/tags/list?n=${n}&last=${page[page.length - 1]}>; rel="next"` } : {}) }, JSON.stringify({ name: t[1], tags: page }));
    }
    // Monolithic blob uploads: POST for a location, PUT the bytes there with their digest.
    const upload = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(u.pathname);
    if (upload && req.method === 'POST') {
      const mount = u.searchParams.get('mount');
      const from = u.searchParams.get('from');
      if (mount && from && !o.noMount && blobs.has(`${from}@${mount}`)) {
        blobs.set(`${upload[1]}@${mount}`, blobs.get(`${from}@${mount}`)!);
        return send(res, 201, { 'docker-content-digest': mount, location: `/v2/${upload[1]}/blobs/${mount}` });
      }
      return send(res, 202, { location: `/v2/${upload[1]}/blobs/uploads/u${log.length}` });
    }
    if (upload && req.method === 'PUT') {
      const d = sha(payload);
      if (u.searchParams.get('digest') !== d) return err(res, 400, 'DIGEST_INVALID');
      blobs.set(`${upload[1]}@${d}`, payload.toString());
      return send(res, 201, { 'docker-content-digest': d, location: `/v2/${upload[1]}/blobs/${d}` });
    }
    if (!m) return err(res, 404, 'NOT_FOUND');
    const [, repo, kind, ref] = m as unknown as [string, string, string, string];
    if (kind === 'blobs') {
      if (o.blobRedirect && !u.searchParams.has('redirected')) return send(res, 307, { location: `${o.blobRedirect}/v2/${repo}/blobs/${ref}?redirected=1` });
      const b = blobs.get(`${repo}@${ref}`);
      if (b !== undefined && req.method === 'GET' && cutting > 0) {
        cutting--;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(Buffer.byteLength(b)) });
        res.write(b.slice(0, Math.floor(b.length / 2)));
        return setTimeout(() => res.destroy(), 20);
      }
      if (b !== undefined && req.method === 'GET' && o.dripMs) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(Buffer.byteLength(b)) });
        for (let i = 0; i < b.length; i += 1 << 20) {
          res.write(b.slice(i, i + (1 << 20)));
          await new Promise((r) => setTimeout(r, o.dripMs));
        }
        return res.end();
      }
      return b === undefined ? err(res, 404, 'BLOB_UNKNOWN') : send(res, 200, { 'content-type': 'application/octet-stream' }, b);
    }
    if (req.method === 'PUT') {
      const status = refused.get(ref);
      if (status) return err(res, status, status === 403 ? 'DENIED' : 'UNSUPPORTED');
      const d = sha(payload);
      // As the distribution registry does: a manifest naming content the repository lacks is refused.
      let doc: { config?: { digest: string }; layers?: { digest: string }[]; manifests?: { digest: string }[] } = {};
      try {
        doc = JSON.parse(payload.toString()) as typeof doc;
      } catch {
        return err(res, 400, 'MANIFEST_INVALID');
      }
      const missing = o.checkReferences && ([doc.config, ...(doc.layers ?? [])].some((b) => b && !blobs.has(`${repo}@${b.digest}`)) || (doc.manifests ?? []).some((c) => !manifests.has(`${repo}@${c.digest}`)));
      if (missing) return err(res, 400, 'MANIFEST_BLOB_UNKNOWN');
      manifests.set(`${repo}@${d}`, { body: payload.toString(), mediaType: String(req.headers['content-type']) });
      if (!ref.startsWith('sha256:')) (tags.get(repo) ?? tags.set(repo, new Map()).get(repo)!).set(ref, d);
      return send(res, 201, { 'docker-content-digest': d, location: `/v2/${repo}/manifests/${d}` });
    }
    if (req.method === 'DELETE') {
      if (o.noDelete) return err(res, 405, 'UNSUPPORTED');
      if (!manifests.delete(`${repo}@${ref}`)) return err(res, 404, 'MANIFEST_UNKNOWN');
      for (const [tag, d] of tags.get(repo) ?? []) if (d === ref) tags.get(repo)!.delete(tag);
      return send(res, 202);
    }
    const digest = ref.startsWith('sha256:') ? ref : tags.get(repo)?.get(ref);
    const found = digest ? manifests.get(`${repo}@${digest}`) : undefined;
    if (!found) return err(res, 404, 'MANIFEST_UNKNOWN');
    const headers = { 'content-type': found.mediaType, 'docker-content-digest': digest! };
    return req.method === 'HEAD' ? (res.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(found.body)) }), res.end()) : send(res, 200, headers, found.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  return {
    url,
    host: `127.0.0.1:${port}`,
    log,
    peak: () => peak,
    failNext: (n, status = 503) => {
      failing = n;
      failStatus = status;
    },
    putManifest: (repo, ref, content, mediaType) => {
      const d = sha(content);
      manifests.set(`${repo}@${d}`, { body: content, mediaType });
      (tags.get(repo) ?? tags.set(repo, new Map()).get(repo)!).set(ref, d);
      return d;
    },
    corrupt: (repo, digest, content) => {
      const was = manifests.get(`${repo}@${digest}`);
      manifests.set(`${repo}@${digest}`, { body: content, mediaType: was?.mediaType ?? 'application/vnd.oci.image.manifest.v1+json' });
    },
    cutBlobs: (n) => {
      cutting = n;
    },
    refuseManifest: (ref, status) => {
      refused.set(ref, status);
    },
    hasBlob: (repo, digest) => blobs.has(`${repo}@${digest}`),
    tagged: (repo, tag) => tags.get(repo)?.get(tag),
    manifestAt: (repo, digest) => manifests.get(`${repo}@${digest}`),
    putBlob: (repo, content) => {
      const d = sha(content);
      blobs.set(`${repo}@${d}`, content);
      return d;
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** An image in the fake registry: a config blob with labels and a manifest pointing at it. */
export function fakeImage(reg: FakeRegistry, repo: string, tag: string, o: { labels?: Record<string, string>; arch?: string; created?: string } = {}): string {
  const config = JSON.stringify({ architecture: o.arch ?? 'amd64', os: 'linux', created: o.created ?? '2026-01-01T00:00:00Z', config: { Labels: o.labels ?? {} } });
  const cd = reg.putBlob(repo, config);
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cd, size: config.length }, layers: [] });
  return reg.putManifest(repo, tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
}

