// A local HTTP server for contract tests of registry web APIs (Docker Hub, Quay, Harbor),
// which cannot be reached from here. Routes answer as the documented APIs do.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Route = (req: Recorded) => { status: number; body?: unknown } | undefined;

export async function startServer(route: Route): Promise<{ url: string; requests: Recorded[]; close: () => Promise<void>; server: Server }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const r: Recorded = { method: req.method!, path: req.url!, headers: req.headers, body };
      requests.push(r);
      const out = route(r) ?? { status: 404, body: { message: 'not found' } };
      res.writeHead(out.status, { 'content-type': 'application/json' });
      res.end(out.body === undefined ? '' : JSON.stringify(out.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
