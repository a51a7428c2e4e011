// A fault-injecting HTTP proxy for the registry, run as its own process so the tests can
// block on child processes without starving it. argv: upstream host:port, rules as JSON,
// a file to append each injected fault to. Prints its own host:port on stdout when ready.
import { appendFileSync } from 'node:fs';
import { createServer, request } from 'node:http';

const [upstream, rulesJson, logFile, port = '0'] = process.argv.slice(2);
const [uhost, uport] = upstream.split(':');
const rules = JSON.parse(rulesJson).map((r) => ({ ...r, path: new RegExp(r.path), times: r.times ?? Infinity }));
const counts = new Map();

const server = createServer((req, res) => {
  const rule = rules.find((r) => r.method === req.method && r.path.test(req.url ?? ''));
  if (rule) {
    const key = `${req.method} ${req.url.split('?')[0]}`;
    const n = counts.get(key) ?? 0;
    if (n < rule.times) {
      counts.set(key, n + 1);
      appendFileSync(logFile, JSON.stringify({ method: req.method, path: req.url, status: rule.status }) + '\n');
      if (rule.status === 0) return; // hang: never answer
      req.resume();
      req.on('end', () => {
        // As the distribution API answers: 429 with its error code, 5xx as a bare status.
        if (rule.status === 429) {
          res.writeHead(429, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'rate limit exceeded (injected)' }] }));
        } else {
          res.writeHead(rule.status, { 'content-type': 'text/plain' });
          res.end('injected fault\n');
        }
      });
      return;
    }
  }
  appendFileSync(logFile, JSON.stringify({ method: req.method, path: req.url, status: 'forwarded' }) + '\n');
  const up = request({ host: uhost, port: Number(uport), method: req.method, path: req.url, headers: req.headers }, (ur) => {
    res.writeHead(ur.statusCode ?? 502, ur.headers);
    ur.pipe(res);
  });
  up.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(up);
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`127.0.0.1:${server.address().port}\n`));
// Stop by itself if the test that started it is gone.
setTimeout(() => process.exit(0), 30 * 60_000).unref();
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
